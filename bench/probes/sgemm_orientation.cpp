// Which orientation of a training product oneDNN's sgemm runs fastest on our
// shapes (docs/RESULTS.md, "Training, fewer passes and faster products"):
// the forward x·Wᵀ with W as stored ('N','T') or with a transposed copy
// ('N','N'), and dW = dyᵀ·x against dWᵀ = xᵀ·dy. Rows: a `small` batch.
//
//   g++ -O2 -std=c++20 bench/probes/sgemm_orientation.cpp -o /tmp/sgemm_orientation -ldnnl
//   OMP_NUM_THREADS=2 /tmp/sgemm_orientation
#include <dnnl.h>

#include <cstdio>
#include <utility>
#include <vector>

#include "median_time.h"

int main() {
  const int64_t rows = 3840;  // 128 sentences × 30 tokens
  for (const auto& [in, out] : {std::pair<int64_t, int64_t>{1024, 256}, {256, 1024}, {256, 256}, {256, 8000}}) {
    std::vector<float> x(rows * in, 0.1f), W(out * in, 0.2f), Wt(in * out, 0.2f), y(rows * out);
    std::vector<float> dy(rows * out, 0.3f), dW(out * in), dWt(in * out);
    const double flop = 2.0 * rows * in * out;
    const double nt = median_seconds(
        [&] { dnnl_sgemm('N', 'T', rows, out, in, 1.f, x.data(), in, W.data(), in, 0.f, y.data(), out); }, 15);
    const double nn = median_seconds(
        [&] { dnnl_sgemm('N', 'N', rows, out, in, 1.f, x.data(), in, Wt.data(), out, 0.f, y.data(), out); }, 15);
    const double dw = median_seconds(
        [&] { dnnl_sgemm('T', 'N', out, in, rows, 1.f, dy.data(), out, x.data(), in, 1.f, dW.data(), in); }, 15);
    const double dwt = median_seconds(
        [&] { dnnl_sgemm('T', 'N', in, out, rows, 1.f, x.data(), in, dy.data(), out, 1.f, dWt.data(), out); }, 15);
    std::printf("in %4ld out %4ld: forward x·Wᵀ %6.1f, x·(Wᵀ copy) %6.1f | dyᵀ·x %6.1f, (xᵀ·dy)ᵀ %6.1f GFLOP/s\n",
                static_cast<long>(in), static_cast<long>(out), flop / nt / 1e9, flop / nn / 1e9, flop / dw / 1e9,
                flop / dwt / 1e9);
  }
}
