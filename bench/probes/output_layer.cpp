// The final linear layer and the loss of a training batch of 3,840 rows
// (`small`'s d_model 256 and 8,000 words unless given), forward and
// backward: as three calls (linear_forward, the loss over the whole
// [rows, V] logits, linear_backward) against kernels::linear_forward_backward,
// which runs the product and the loss a block of rows at a time
// (docs/RESULTS.md).
//
//   cmake --build build --target transformer_lib
//   g++ -O2 -march=native -fopenmp -std=c++20 -Isrc bench/probes/output_layer.cpp build/libtransformer_lib.a \
//       -ldnnl -o /tmp/output_layer
//   OMP_NUM_THREADS=2 /tmp/output_layer            # small: 256 inputs, 8,000 outputs
//   OMP_NUM_THREADS=2 /tmp/output_layer 512 37000  # base
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/loss.h"
#include "median_time.h"

using namespace transformer::kernels;

int main(int argc, char** argv) {
  const int64_t rows = 3840, in = argc > 2 ? atoll(argv[1]) : 256, out = argc > 2 ? atoll(argv[2]) : 8000;
  std::vector<float> x(rows * in), W(out * in), b(out, 0.01f), dx(rows * in), dW(out * in), db(out);
  std::vector<float> logits(rows * out), dlogits(rows * out);
  std::vector<int32_t> targets(rows);
  for (int64_t i = 0; i < rows * in; ++i) x[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
  for (int64_t i = 0; i < out * in; ++i) W[i] = static_cast<float>((i * 104729) % 1000) * 1e-4f - 0.05f;
  for (int64_t r = 0; r < rows; ++r) targets[r] = static_cast<int32_t>((r * 31) % out);
  for (const Precision p : {Precision::Float32, Precision::BFloat16}) {
    KeptOperands kept;
    const double separate = median_seconds([&] {
      linear_forward(logits.data(), x.data(), W.data(), b.data(), rows, in, out, p, &kept);
      cross_entropy_forward_backward(dlogits.data(), logits.data(), targets.data(), rows, out, 0.1f, -1, 1.0f / rows);
      linear_backward(dx.data(), dW.data(), db.data(), dlogits.data(), x.data(), W.data(), rows, in, out, false, p,
                      &kept);
    }, 15);
    const double blocks = median_seconds([&] {
      linear_forward_backward(dx.data(), dW.data(), db.data(), x.data(), W.data(), b.data(), rows, in, out, p, kept,
                              [&](float* y, int64_t first, int64_t n) {
                                return cross_entropy_forward_backward(y, y, targets.data() + first, n, out, 0.1f, -1,
                                                                      1.0f / rows);
                              });
    }, 15);
    const double flops = 3.0 * 2.0 * rows * in * out;
    std::printf("%-8s separate %7.2f ms (%5.0f GFLOP/s)   in blocks of %lld rows %7.2f ms (%5.0f GFLOP/s)\n",
                precision_name(p), separate * 1e3, flops / separate * 1e-9, (long long)std::min(rows, rows_per_output_block(in, out)),
                blocks * 1e3, flops / blocks * 1e-9);
  }
}
