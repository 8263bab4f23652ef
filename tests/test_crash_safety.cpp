// Crash-safe training, through real `transformer train` processes: one
// killed with SIGKILL at any moment — starting up, computing, half way
// through writing a checkpoint, right after renaming one — leaves no
// checkpoint (before its first) or one that loads, and --resume from it ends
// with exactly the parameters of a run that was never killed; one that dies
// after its last checkpoint only finishes when resumed. A checkpoint that
// cannot be written (the file system says no more) is one error naming the
// file, and the previous checkpoint stays exactly as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/safetensors.h"
#include "text/vocabulary.h"
#include "train/checkpoint.h"
#include "support/word_corpora.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

// The runs checkpoint after every step (--valid-every 1), so most of their
// time goes into writing checkpoints.
constexpr int kSteps = 40;

// When to kill a run: after a delay, or when the nth change of a kind shows
// in its output directory (inotify: we see the file system as the run
// changes it, so the moments are the same whatever the machine's speed).
struct KillPlan {
  enum class When {
    AfterDelay,                  // n milliseconds after the start
    NthChange,                   // any file created, written, closed or renamed into place
    CheckpointTemporaryCreated,  // half way through a checkpoint write
    CheckpointRenamed,           // a new checkpoint just replaced the previous one
  } when;
  int n = 1;
};

class CrashSafety : public testing::Test {
 protected:
  // A reversal task ("d c b a" → "a b c d"), its vocabulary, and the run
  // that is never killed: the parameters every other run must end with.
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/transformer-crash-XXXXXX";
    dir_ = mkdtemp(tmpl);
    test_support::write_reversal_task(dir_, test_support::random_sentences(300, 7, 3, 5));
    test_support::train_test_vocabulary({dir_ + "/train.src", dir_ + "/train.tgt"}, dir_ + "/spm.model", 24);
    reference_ = dir_ + "/reference";
    ASSERT_EQ(run_to_end(reference_), 0) << read_file(reference_ + ".log");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // `transformer train` into out, one thread (the same sums in every run),
  // a checkpoint after every step.
  static std::vector<std::string> training_command(const std::string& out, bool resume) {
    std::vector<std::string> args = {TRANSFORMER_BIN, "--threads", "1", "train", "--preset", "tiny",
                                     "--vocab", dir_ + "/spm.model", "--train-source", dir_ + "/train.src",
                                     "--train-target", dir_ + "/train.tgt", "--out", out, "--max-tokens", "256",
                                     "--schedule", "inverse-sqrt", "--lr", "3e-3", "--warmup", "10",
                                     "--max-steps", std::to_string(kSteps), "--valid-every", "1", "--log-every", "1"};
    if (resume) args.push_back("--resume");
    return args;
  }

  // Starts it (resuming when asked), its output in out.log. file_size_limit
  // (bytes) makes every write past it fail like a full disk; unlike a
  // read-only directory, that holds for root too.
  static pid_t start_training(const std::string& out, bool resume, rlim_t file_size_limit = RLIM_INFINITY) {
    std::vector<std::string> args = training_command(out, resume);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = out + ".log";
    // Between fork and exec only async-signal-safe calls: everything else is
    // prepared above.
    const pid_t pid = fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) ::dup2(fd, STDOUT_FILENO), ::dup2(fd, STDERR_FILENO);
      if (file_size_limit != RLIM_INFINITY) {
        const rlimit limit{file_size_limit, file_size_limit};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        ::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills it instead of failing write()
      }
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  // The exit code, or 128 + the signal that ended it.
  static int wait_for(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  static int run_to_end(const std::string& out) {
    return wait_for(start_training(out, fs::exists(out + "/checkpoint.safetensors")));
  }

  // Starts a run (resuming from the checkpoint if there is one) and kills it
  // as planned; false if it finished first (or in the instant between the
  // moment and the kill).
  static bool run_and_kill(const std::string& out, KillPlan plan) {
    fs::create_directories(out);  // watched before the run can create anything
    const int watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    EXPECT_GE(watch, 0);
    inotify_add_watch(watch, out.c_str(), IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO);
    const pid_t pid = start_training(out, fs::exists(out + "/checkpoint.safetensors"));
    const auto start = std::chrono::steady_clock::now();
    int seen = 0, status = 0;
    bool killed = false;
    while (!killed) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;  // finished before the moment came
      if (plan.when == KillPlan::When::AfterDelay) {
        if (std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(plan.n)) killed = true;
        else std::this_thread::sleep_for(std::chrono::milliseconds(1));
      } else {
        pollfd p{watch, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        alignas(inotify_event) char buffer[4096];
        const ssize_t n = read(watch, buffer, sizeof buffer);
        for (ssize_t i = 0; i < n && !killed;) {
          const auto* e = reinterpret_cast<const inotify_event*>(buffer + i);
          const std::string name = e->len ? e->name : "";
          const bool match =
              plan.when == KillPlan::When::NthChange ||
              (plan.when == KillPlan::When::CheckpointTemporaryCreated && (e->mask & IN_CREATE) &&
               name.starts_with("checkpoint.safetensors.tmp.")) ||
              (plan.when == KillPlan::When::CheckpointRenamed && (e->mask & IN_MOVED_TO) &&
               name == "checkpoint.safetensors");
          if (match && ++seen == plan.n) killed = true;
          i += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        }
      }
    }
    if (killed) {
      kill(pid, SIGKILL);
      const int code = wait_for(pid);
      EXPECT_THAT(code, testing::AnyOf(0, 128 + SIGKILL)) << read_file(out + ".log");
      killed = code == 128 + SIGKILL;
    }
    close(watch);
    return killed;
  }

  // Loads like --resume does; the step it holds.
  static int64_t load(const std::string& path) {
    Transformer model(checkpoint_config(path));
    Adam adam(model.params, AdamOptions{});
    TrainingProgress progress;
    load_checkpoint(path, model, adam, &progress);
    return progress.step;
  }

  static bool has_temporary(const std::string& out) {
    for (const auto& e : fs::directory_iterator(out))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
    return false;
  }

  // Every tensor bit for bit, and the progress but for the wall-clock time.
  static void expect_identical(const std::string& a, const std::string& b) {
    const auto x = safetensors::File::read(a), y = safetensors::File::read(b);
    ASSERT_EQ(x.tensors().size(), y.tensors().size());
    std::vector<std::string> differ;
    for (const auto& t : x.tensors()) {
      const Tensor u = x.load_f32(t.name), v = y.load_f32(t.name, t.shape);
      if (std::memcmp(u.data(), v.data(), u.numel() * sizeof(float)) != 0) differ.push_back(t.name);
    }
    EXPECT_THAT(differ, testing::IsEmpty()) << b;
    if (!x.metadata().contains("progress")) return;
    auto progress = [](const safetensors::File& f) {
      auto j = nlohmann::json::parse(f.metadata().at("progress"));
      j.erase("elapsed_seconds");
      return j;
    };
    EXPECT_EQ(progress(x), progress(y));
  }

  static std::string dir_, reference_;
};

std::string CrashSafety::dir_, CrashSafety::reference_;

TEST_F(CrashSafety, KilledAtAnyMomentResumesToTheSameParameters) {
  using When = KillPlan::When;
  // One run killed again and again, each time resumed from what the last
  // kill left: while starting up (before any checkpoint), at the 1st, 2nd, …
  // 12th change it makes to its directory (a sweep over the cycle of a step:
  // metrics line, checkpoint temporary created, written, closed, renamed),
  // half way through checkpoint writes, and right after a rename.
  std::vector<KillPlan> plans = {{When::AfterDelay, 0}, {When::AfterDelay, 20}};
  for (int n = 1; n <= 12; ++n) plans.push_back({When::NthChange, n});
  for (int i = 0; i < 3; ++i) plans.push_back({When::CheckpointTemporaryCreated, 1});
  plans.push_back({When::CheckpointRenamed, 1});
  const std::string out = dir_ + "/killed";
  int64_t last_step = -1;  // -1: no checkpoint yet
  int kills = 0, kills_mid_write = 0;
  for (const KillPlan& plan : plans) {
    if (!run_and_kill(out, plan)) continue;
    ++kills;
    const std::string checkpoint = out + "/checkpoint.safetensors";
    if (has_temporary(out)) ++kills_mid_write;
    if (!fs::exists(checkpoint)) {
      EXPECT_EQ(last_step, -1) << "a checkpoint disappeared";
      continue;
    }
    int64_t step = -1;
    EXPECT_NO_THROW(step = load(checkpoint)) << "kill " << kills;
    EXPECT_GE(step, std::max<int64_t>(last_step, 1)) << "kill " << kills;
    last_step = step;
  }
  EXPECT_EQ(kills, static_cast<int>(plans.size())) << "a run finished before its moment came";
  EXPECT_GE(kills_mid_write, 1) << "no kill hit a write";

  ASSERT_EQ(run_to_end(out), 0) << read_file(out + ".log");
  expect_identical(reference_ + "/checkpoint.safetensors", out + "/checkpoint.safetensors");
  expect_identical(reference_ + "/model.safetensors", out + "/model.safetensors");
  EXPECT_EQ(read_file(reference_ + "/config.json"), read_file(out + "/config.json"));
  EXPECT_FALSE(has_temporary(out)) << "the temporaries of killed runs are removed on resume";
}

TEST_F(CrashSafety, DyingBeforeTheFinalModelOnlyFinishesOnResume) {
  // The last checkpoint is written, the final model is not: resuming must
  // write the model, not take a step past --max-steps. A kill in that
  // instant is a race the test could lose (the model is written in
  // milliseconds), so the run dies there for certain: a directory takes the
  // model's name, and renaming the model into place fails.
  const std::string out = dir_ + "/died-at-the-end";
  fs::create_directories(out + "/model.safetensors");
  EXPECT_EQ(wait_for(start_training(out, /*resume=*/false)), 1);
  EXPECT_THAT(read_file(out + ".log"), HasSubstr(out + "/model.safetensors: cannot replace"));
  ASSERT_EQ(load(out + "/checkpoint.safetensors"), kSteps);
  fs::remove(out + "/model.safetensors");
  ASSERT_EQ(run_to_end(out), 0) << read_file(out + ".log");
  EXPECT_EQ(load(out + "/checkpoint.safetensors"), kSteps);
  expect_identical(reference_ + "/checkpoint.safetensors", out + "/checkpoint.safetensors");
  expect_identical(reference_ + "/model.safetensors", out + "/model.safetensors");
}

TEST_F(CrashSafety, FailedCheckpointWriteNamesTheFileAndKeepsThePrevious) {
  const std::string out = dir_ + "/full";
  ASSERT_TRUE(run_and_kill(out, {KillPlan::When::CheckpointRenamed, 5}));
  const std::string checkpoint = out + "/checkpoint.safetensors";
  const std::string before = read_file(checkpoint);
  const int64_t step = load(checkpoint);

  // The file system takes no file as large as half a checkpoint: the next
  // checkpoint write fails part way.
  fs::remove(out + ".log");
  const int code = wait_for(start_training(out, /*resume=*/true, before.size() / 2));
  EXPECT_EQ(code, 1);
  EXPECT_THAT(read_file(out + ".log"), HasSubstr("error: " + checkpoint + ": cannot write: File too large"));
  EXPECT_EQ(read_file(checkpoint), before) << "the previous checkpoint is untouched";
  EXPECT_EQ(load(checkpoint), step);
  EXPECT_FALSE(has_temporary(out)) << "a failed write removes its temporary";

  // With room again, the run goes on to the parameters of the run that never
  // failed.
  ASSERT_EQ(run_to_end(out), 0) << read_file(out + ".log");
  expect_identical(reference_ + "/checkpoint.safetensors", checkpoint);
}

TEST_F(CrashSafety, FullDiskFailsTheNextCheckpointAndKeepsThePrevious) {
  // A real full file system: a tmpfs in a mount namespace of the run's own
  // (unshare needs CAP_SYS_ADMIN, which CI's root has). It holds the
  // vocabulary and one checkpoint and a half: replacing a checkpoint
  // atomically needs room for both, so the second one cannot be written.
  if (std::system("unshare -m true 2>/dev/null") != 0) GTEST_SKIP() << "cannot create a mount namespace here";
  const std::string out = dir_ + "/full-disk", saved = dir_ + "/full-disk.saved";
  fs::create_directories(out);
  fs::create_directories(saved);
  const size_t checkpoint_bytes = fs::file_size(reference_ + "/checkpoint.safetensors");
  const size_t size_kib = (fs::file_size(dir_ + "/spm.model") + checkpoint_bytes * 3 / 2) / 1024 + 16;
  std::string train;
  for (const auto& arg : training_command(out, /*resume=*/false)) train += arg + " ";
  // Inside the namespace: train, then keep what the run left where the test
  // can see it once the tmpfs is gone.
  const std::string script = "mount -t tmpfs -o size=" + std::to_string(size_kib) + "k tmpfs " + out + " && { " +
                             train + " >" + saved + "/log 2>&1; echo $? >" + saved + "/exit_code; cp " + out +
                             "/checkpoint.safetensors " + saved + "/; ls -A " + out + " >" + saved + "/listing; }";
  ASSERT_EQ(std::system(("unshare -m sh -c '" + script + "'").c_str()), 0) << read_file(saved + "/log");

  EXPECT_EQ(read_file(saved + "/exit_code"), "1\n");
  const std::string checkpoint = out + "/checkpoint.safetensors";
  EXPECT_THAT(read_file(saved + "/log"), HasSubstr("error: " + checkpoint + ": cannot write: No space left on device"));
  EXPECT_EQ(load(saved + "/checkpoint.safetensors"), 1) << "the first checkpoint is intact";
  EXPECT_EQ(read_file(saved + "/listing"), "checkpoint.safetensors\nexamples.txt\nmetrics.jsonl\nspm.model\n")
      << "and no temporary is left";
}

}  // namespace
}  // namespace transformer
