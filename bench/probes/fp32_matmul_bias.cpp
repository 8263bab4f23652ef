// Whether oneDNN's fp32 matmul primitive, which adds the bias itself and
// reads W in place, beats what fp32 training runs on oneDNN (sgemm from a
// transposed copy of W, after broadcasting b into y; and sgemm for dx and
// dW) on a `small` batch's shapes (docs/RESULTS.md, "fp32 products through
// the matmul primitive"). The copy's own transpose is not timed.
//
//   g++ -O2 -std=c++20 -march=native bench/probes/fp32_matmul_bias.cpp -o /tmp/fp32_matmul_bias -ldnnl
//   OMP_NUM_THREADS=2 /tmp/fp32_matmul_bias
#include <dnnl.h>

#include <algorithm>
#include <cstdio>
#include <dnnl.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

#include "median_time.h"

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

dnnl::engine engine(dnnl::engine::kind::cpu, 0);
dnnl::stream stream(engine);

// Seconds for C [m, n] (+)= op(A) [m, k] · op(B) [k, n] (+ bias [n]) by a
// matmul primitive made for this shape, the transposes read in place.
double matmul_seconds(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b, const float* A, const float* B,
                      const float* bias, bool accumulate, float* C) {
  const memory::desc a({m, k}, Dt::f32, trans_a ? Tag::ba : Tag::ab), b({k, n}, Dt::f32, trans_b ? Tag::ba : Tag::ab),
      c({m, n}, Dt::f32, Tag::ab), bias_desc = bias ? memory::desc({1, n}, Dt::f32, Tag::ab) : memory::desc();
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attr.set_post_ops(sum);
  }
  const auto desc = bias ? dnnl::matmul::desc(a, b, bias_desc, c) : dnnl::matmul::desc(a, b, c);
  const dnnl::matmul product(dnnl::matmul::primitive_desc(desc, attr, engine));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(a, engine, const_cast<float*>(A))},
                                       {DNNL_ARG_WEIGHTS, memory(b, engine, const_cast<float*>(B))},
                                       {DNNL_ARG_DST, memory(c, engine, C)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(bias_desc, engine, const_cast<float*>(bias)));
  return median_seconds([&] {
    product.execute(stream, args);
    stream.wait();
  }, 15);
}

}  // namespace

int main() {
  const int64_t rows = 3840;  // 128 sentences × 30 tokens
  for (const auto& [in, out] : std::vector<std::pair<int64_t, int64_t>>{{256, 256}, {256, 768}, {256, 1024}, {1024, 256}}) {
    std::vector<float> x(rows * in, 0.1f), W(out * in, 0.2f), Wt(in * out, 0.2f), b(out, 0.5f), y(rows * out);
    std::vector<float> dy(rows * out, 0.3f), dx(rows * in), dW(out * in);
    const double gflop = 2.0 * rows * in * out / 1e9;
    const double sgemm_forward = median_seconds([&] {
      for (int64_t r = 0; r < rows; ++r) std::copy(b.begin(), b.end(), y.begin() + r * out);
      dnnl_sgemm('N', 'N', rows, out, in, 1.f, x.data(), in, Wt.data(), out, 1.f, y.data(), out);
    }, 15);
    const double matmul_forward = matmul_seconds(rows, out, in, false, true, x.data(), W.data(), b.data(), false,
                                                 y.data());
    const double sgemm_dx = median_seconds(
        [&] { dnnl_sgemm('N', 'N', rows, in, out, 1.f, dy.data(), out, W.data(), in, 0.f, dx.data(), in); }, 15);
    const double matmul_dx = matmul_seconds(rows, in, out, false, false, dy.data(), W.data(), nullptr, false,
                                            dx.data());
    const double sgemm_dW = median_seconds(
        [&] { dnnl_sgemm('T', 'N', out, in, rows, 1.f, dy.data(), out, x.data(), in, 1.f, dW.data(), in); }, 15);
    const double matmul_dW = matmul_seconds(out, in, rows, true, false, dy.data(), x.data(), nullptr, true, dW.data());
    std::printf("in %4ld out %4ld | forward: sgemm + broadcast %6.1f, matmul + bias %6.1f | dx: sgemm %6.1f, "
                "matmul %6.1f | dW: sgemm %6.1f, matmul %6.1f GFLOP/s\n",
                static_cast<long>(in), static_cast<long>(out), gflop / sgemm_forward, gflop / matmul_forward,
                gflop / sgemm_dx, gflop / matmul_dx, gflop / sgemm_dW, gflop / matmul_dW);
  }
}
