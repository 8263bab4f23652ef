// Attention's products for a `small` batch (128 rows × 4 heads, 30 × 30
// scores, head size 64): one sgemm call per (row, head) in an OpenMP loop,
// as attention ran before, against one oneDNN matmul with two batch
// dimensions reading the heads in place (docs/RESULTS.md, "Training, fewer
// passes and faster products").
//
//   g++ -O2 -fopenmp -std=c++20 bench/probes/attention_batched.cpp -o /tmp/attention_batched -ldnnl
//   OMP_NUM_THREADS=2 /tmp/attention_batched
#include <dnnl.h>

#include <cstdio>
#include <dnnl.hpp>
#include <vector>

#include "median_time.h"

int main() {
  using dnnl::memory;
  const int64_t B = 128, H = 4, T = 30, Dh = 64, D = H * Dh;
  dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(cpu);
  std::vector<float> Q(B * T * D, 0.01f), K(B * T * D, 0.02f), S(B * H * T * T), Z(B * T * D);
  const double scores_loop = median_seconds([&] {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        dnnl_sgemm('N', 'T', T, T, Dh, 0.125f, Q.data() + b * T * D + h * Dh, D, K.data() + b * T * D + h * Dh, D,
                   0.f, S.data() + (b * H + h) * T * T, T);
  }, 21);
  const double values_loop = median_seconds([&] {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        dnnl_sgemm('N', 'N', T, Dh, T, 1.f, S.data() + (b * H + h) * T * T, T, K.data() + b * T * D + h * Dh, D,
                   0.f, Z.data() + b * T * D + h * Dh, D);
  }, 21);
  const auto f32 = memory::data_type::f32;
  // scores [B, H, T, T] = Q_h [B, H, T, Dh] · K_hᵀ, the heads read in place.
  const memory::desc q({B, H, T, Dh}, f32, memory::dims{T * D, Dh, D, 1});
  const memory::desc kt({B, H, Dh, T}, f32, memory::dims{T * D, Dh, 1, D});
  const memory::desc s({B, H, T, T}, f32, memory::dims{H * T * T, T * T, T, 1});
  dnnl::primitive_attr scale;
  scale.set_output_scales(0, {0.125f});
  const dnnl::matmul scores(dnnl::matmul::primitive_desc(dnnl::matmul::desc(q, kt, s), scale, cpu));
  memory q_mem(q, cpu, Q.data()), kt_mem(kt, cpu, K.data()), s_mem(s, cpu, S.data());
  const double scores_batched = median_seconds([&] {
    scores.execute(stream, {{DNNL_ARG_SRC, q_mem}, {DNNL_ARG_WEIGHTS, kt_mem}, {DNNL_ARG_DST, s_mem}});
    stream.wait();
  }, 21);
  // Z_h = weights [B, H, T, T] · V_h, into head h's columns of Z.
  const memory::desc v({B, H, T, Dh}, f32, memory::dims{T * D, Dh, D, 1});
  const dnnl::matmul values(dnnl::matmul::primitive_desc(dnnl::matmul::desc(s, v, v), cpu));
  memory v_mem(v, cpu, K.data()), z_mem(v, cpu, Z.data());
  const double values_batched = median_seconds([&] {
    values.execute(stream, {{DNNL_ARG_SRC, s_mem}, {DNNL_ARG_WEIGHTS, v_mem}, {DNNL_ARG_DST, z_mem}});
    stream.wait();
  }, 21);
  const double flop = 2.0 * B * H * T * T * Dh;
  std::printf("q·kᵀ: sgemm per (row, head) %.3f ms (%.0f GFLOP/s), batched matmul %.3f ms (%.0f GFLOP/s)\n",
              scores_loop * 1e3, flop / scores_loop / 1e9, scores_batched * 1e3, flop / scores_batched / 1e9);
  std::printf("×V:   sgemm per (row, head) %.3f ms (%.0f GFLOP/s), batched matmul %.3f ms (%.0f GFLOP/s)\n",
              values_loop * 1e3, flop / values_loop / 1e9, values_batched * 1e3, flop / values_batched / 1e9);
}
