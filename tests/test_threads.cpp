// The thread count every command and binding sets (core/threads.h): without
// --threads, OMP_NUM_THREADS decides, as in every OpenMP program, and only
// then the cores.
#include <omp.h>

#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "core/threads.h"

namespace transformer {
namespace {

// Sets (or, with nullopt, removes) an environment variable for one scope.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~ScopedEnvironment() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Restores the thread count the other tests run with.
class ThreadCount : public ::testing::Test {
 protected:
  void TearDown() override { set_num_threads(threads_); }
  const int threads_ = num_threads();
};

TEST_F(ThreadCount, DefaultFollowsOmpNumThreads) {
  const ScopedEnvironment mpi("OMPI_COMM_WORLD_LOCAL_SIZE", std::nullopt);
  {
    const ScopedEnvironment env("OMP_NUM_THREADS", "1");
    set_num_threads(0);
    EXPECT_EQ(num_threads(), 1);
  }
  {
    const ScopedEnvironment env("OMP_NUM_THREADS", "3");
    set_num_threads(0);
    EXPECT_EQ(num_threads(), 3);
    set_num_threads(2);  // --threads wins over the environment
    EXPECT_EQ(num_threads(), 2);
  }
  {
    const ScopedEnvironment env("OMP_NUM_THREADS", "5,2");  // nested levels: the first is ours
    set_num_threads(0);
    EXPECT_EQ(num_threads(), 5);
  }
}

TEST_F(ThreadCount, DefaultIsTheCoresWithoutAUsableOmpNumThreads) {
  const ScopedEnvironment mpi("OMPI_COMM_WORLD_LOCAL_SIZE", std::nullopt);
  for (const std::optional<std::string>& value :
       {std::optional<std::string>(), std::optional<std::string>("0"), std::optional<std::string>("-2"),
        std::optional<std::string>("two"), std::optional<std::string>("3x"), std::optional<std::string>("")}) {
    const ScopedEnvironment env("OMP_NUM_THREADS", value);
    set_num_threads(1);
    set_num_threads(0);
    EXPECT_EQ(num_threads(), omp_get_num_procs()) << "OMP_NUM_THREADS=" << value.value_or("(unset)");
  }
}

TEST_F(ThreadCount, DefaultSharesTheCoresAmongTheMpiProcessesOfAMachine) {
  const ScopedEnvironment env("OMP_NUM_THREADS", std::nullopt);
  const ScopedEnvironment mpi("OMPI_COMM_WORLD_LOCAL_SIZE", std::to_string(omp_get_num_procs() * 2));
  set_num_threads(0);
  EXPECT_EQ(num_threads(), 1);  // never fewer than one
  {
    const ScopedEnvironment explicit_count("OMP_NUM_THREADS", "2");  // the user's count per process stands
    set_num_threads(0);
    EXPECT_EQ(num_threads(), 2);
  }
}

}  // namespace
}  // namespace transformer
