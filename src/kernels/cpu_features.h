// The instruction sets that bf16 and int8 inference need, as this CPU
// reports them (cpuid, with the operating system's support for the AVX-512
// state), so that a machine without them gets a clear error instead of a
// slow emulation or, for int8, products whose 16-bit intermediate sums can
// saturate (oneDNN's int8 kernels without VNNI).
//
// Test hook: TRANSFORMER_HIDE_CPU_FEATURES, a comma-separated list of the
// names below, makes cpu_features() report them missing, so the error path
// is tested on a CPU that has them (docs/BAD_INPUT.md). It is read on every
// call. An unknown name is an Error.
#pragma once

#include <string>

namespace transformer::kernels {

struct CpuFeatures {
  bool avx512_bf16 = false;  // VDPBF16PS: bf16 pairs multiplied and summed into fp32
  bool avx512_vnni = false;  // VPDPBUSD on 512-bit registers: u8 · s8 summed into int32
  bool avx_vnni = false;     // the same on 256-bit registers (CPUs without AVX-512)
};

CpuFeatures cpu_features();

// "avx512_bf16 avx512_vnni" and so on: what cpu_features() reports present.
std::string cpu_features_string();

}  // namespace transformer::kernels
