// Self-attention's W^Q, W^K, W^V in training, forward and backward: three
// linear layers of D outputs each (three products per pass, the input
// rounded once in bf16 and shared) against one layer of 3·D outputs (one
// product per pass), on a training batch of 3,840 rows (`small`'s d_model
// 256 unless given; 512 is `base`). Rounds alternate the two so that a
// host whose speed drifts affects both alike.
//
//   cmake --build build --target transformer_lib
//   g++ -O2 -march=native -fopenmp -std=c++20 -Isrc bench/probes/fused_qkv_training.cpp build/libtransformer_lib.a \
//       -ldnnl -o /tmp/fused_qkv_training
//   OMP_NUM_THREADS=2 /tmp/fused_qkv_training        # small
//   OMP_NUM_THREADS=2 /tmp/fused_qkv_training 512    # base
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels/gemm.h"
#include "median_time.h"

using namespace transformer::kernels;

int main(int argc, char** argv) {
  const int64_t rows = 3840, D = argc > 1 ? atoll(argv[1]) : 256, rounds = 5;
  std::vector<float> x(rows * D), W(3 * D * D), b(3 * D, 0.01f), y(rows * 3 * D), dy(rows * 3 * D), dx(rows * D);
  std::vector<float> dW(3 * D * D), db(3 * D);
  for (int64_t i = 0; i < rows * D; ++i) x[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
  for (int64_t i = 0; i < 3 * D * D; ++i) W[i] = static_cast<float>((i * 104729) % 1000) * 1e-4f - 0.05f;
  for (int64_t i = 0; i < rows * 3 * D; ++i) dy[i] = static_cast<float>((i * 31) % 1000) * 1e-4f - 0.05f;
  for (const Precision p : {Precision::Float32, Precision::BFloat16}) {
    KeptOperands kept[3];
    kept[1].x = kept[2].x = kept[0].x;
    KeptOperands fused_kept;
    std::vector<double> separate_ms, fused_ms;
    for (int round = 0; round < rounds; ++round) {
      separate_ms.push_back(1e3 * median_seconds([&] {
        for (int i = 0; i < 3; ++i) {
          kept[i].x_ready = i > 0;
          linear_forward(y.data() + i * rows * D, x.data(), W.data() + i * D * D, b.data() + i * D, rows, D, D, p,
                         &kept[i]);
        }
        for (int i = 0; i < 3; ++i)
          linear_backward(dx.data(), dW.data() + i * D * D, db.data() + i * D, dy.data() + i * rows * D, x.data(),
                          W.data() + i * D * D, rows, D, D, /*accumulate_dx=*/i > 0, p, &kept[i]);
      }, 9));
      fused_ms.push_back(1e3 * median_seconds([&] {
        linear_forward(y.data(), x.data(), W.data(), b.data(), rows, D, 3 * D, p, &fused_kept);
        linear_backward(dx.data(), dW.data(), db.data(), dy.data(), x.data(), W.data(), rows, D, 3 * D, false, p,
                        &fused_kept);
      }, 9));
    }
    std::printf("%-8s D %lld:", precision_name(p), (long long)D);
    for (int r = 0; r < rounds; ++r) std::printf("  %.2f/%.2f ms", separate_ms[r], fused_ms[r]);
    std::vector<double> ratios;
    for (int r = 0; r < rounds; ++r) ratios.push_back(separate_ms[r] / fused_ms[r]);
    std::sort(ratios.begin(), ratios.end());
    std::printf("   separate ÷ fused: median %.3f [%.3f–%.3f]\n", ratios[rounds / 2], ratios.front(), ratios.back());
  }
}
