// What every oneDNN kernel of ours shares (onednn backend only): the CPU
// engine, a stream per thread, and per-thread working memory.
#pragma once

#include <dnnl.hpp>

#include <cstddef>

namespace transformer::kernels::onednn {

// The process's CPU engine. Never destroyed: threads' streams refer to it,
// and a static's destruction could come before theirs.
const dnnl::engine& cpu();

// A stream per thread: the server runs one model replica per thread, and a
// stream is not meant to be shared between threads.
dnnl::stream& thread_stream();

// Each thread's working memory, one buffer per use, grown as needed (64-byte
// aligned; the contents are not kept when it grows). Kernels pass their
// primitives' scratch this way instead of the library's, which in Debian's
// build is shared by all primitives and unsafe for two threads at once.
enum class Buffer {
  kScratchpad,         // a primitive's scratchpad
  kSource,             // packed products: the activations converted to bf16 or u8
  kScales,             // int8: the activations' per-row scales
  kZeroPoints,         // int8: their zero points
  kPaddedDestination,  // packed products: the output of padded rows
  kBf16Activations,    // bf16 training products: x (forward) or dy (backward) rounded to bf16
  kBf16Weights,        // W rounded to bf16
  kBf16Inputs,         // backward: x rounded to bf16, for dW
  kCount,
};
void* thread_buffer(Buffer use, size_t bytes);

}  // namespace transformer::kernels::onednn
