#include "core/stop_signals.h"

#include <pthread.h>

#include <ctime>
#include <thread>

namespace transformer {

StopSignals::StopSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

int StopSignals::wait(std::chrono::milliseconds timeout) const {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec wait_for{static_cast<time_t>(seconds.count()),
                          static_cast<long>(std::chrono::nanoseconds(timeout - seconds).count())};
  const int signal = sigtimedwait(&signals_, nullptr, &wait_for);
  return signal == SIGINT || signal == SIGTERM ? signal : 0;
}

std::shared_ptr<const std::atomic<bool>> StopSignals::flag() {
  if (!received_) {
    received_ = std::make_shared<std::atomic<bool>>(false);
    // Detached: it waits until the process ends, which ends it.
    std::thread([signals = signals_, received = received_] {
      for (;;) {
        int signal = 0;
        if (sigwait(&signals, &signal) == 0) *received = true;
      }
    }).detach();
  }
  return received_;
}

}  // namespace transformer
