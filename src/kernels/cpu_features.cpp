#include "kernels/cpu_features.h"

#include <cstdlib>

#include "core/error.h"

namespace transformer::kernels {

namespace {

// Removes from `f` each feature named in the test hook's list.
void hide(CpuFeatures& f, const std::string& list) {
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name == "avx512_bf16") f.avx512_bf16 = false;
    else if (name == "avx512_vnni") f.avx512_vnni = false;
    else if (name == "avx_vnni") f.avx_vnni = false;
    else if (!name.empty())
      throw Error("TRANSFORMER_HIDE_CPU_FEATURES: unknown feature '" + name +
                  "' (known: avx512_bf16, avx512_vnni, avx_vnni)");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

}  // namespace

CpuFeatures cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  // GCC's runtime checks cpuid and, for AVX-512, that the OS saves the state.
  __builtin_cpu_init();
  f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
  f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
  f.avx_vnni = __builtin_cpu_supports("avxvnni");
#endif
  if (const char* hidden = std::getenv("TRANSFORMER_HIDE_CPU_FEATURES")) hide(f, hidden);
  return f;
}

std::string cpu_features_string() {
  const CpuFeatures f = cpu_features();
  std::string s;
  auto add = [&](bool present, const char* name) {
    if (!present) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(f.avx512_bf16, "avx512_bf16");
  add(f.avx512_vnni, "avx512_vnni");
  add(f.avx_vnni, "avx_vnni");
  return s.empty() ? "none" : s;
}

}  // namespace transformer::kernels
