// SPDX-License-Identifier: Apache-2.0
// StoppableThread runs one background loop of the stress tool (the progress
// line, the Drain()/Stats() caller, the forker) from construction until
// destruction: the loop polls the flag it is given and returns once the
// destructor sets it; the destructor then joins. Declare it last in the
// owning class, so the loop stops before the members it uses are destroyed.

#ifndef ZONEALLOC_STRESS_STOPPABLE_THREAD_H_
#define ZONEALLOC_STRESS_STOPPABLE_THREAD_H_

#include <atomic>
#include <functional>
#include <thread>
#include <utility>

namespace zonealloc::stress {

class StoppableThread {
 public:
  explicit StoppableThread(std::function<void(const std::atomic<bool>& stop)> loop)
      : thread_([this, loop = std::move(loop)] { loop(stop_); }) {}
  ~StoppableThread() {
    // relaxed: a request to stop; join() orders everything the loop did.
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  StoppableThread(const StoppableThread&) = delete;
  StoppableThread& operator=(const StoppableThread&) = delete;

 private:
  std::atomic<bool> stop_{false};  // before thread_: set up before the loop starts
  std::thread thread_;
};

}  // namespace zonealloc::stress

#endif  // ZONEALLOC_STRESS_STOPPABLE_THREAD_H_
