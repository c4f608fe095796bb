// core/thread_pool.h — a fixed pool of n-1 workers plus the calling thread.
// parallel_for splits [begin, end) into one contiguous range per thread (multiples of `grain`),
// so a GEMV's rows stay together and each thread streams its own part of the weights.
// Workers spin briefly before sleeping: decode issues hundreds of short jobs per token.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bitlm {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads >= 1; 1 means no worker threads
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // fn(thread_index, n_threads) on every thread, the caller being thread 0; returns when all are
  // done. An exception from any thread is rethrown here, after every thread has finished (the
  // first one thrown, if several): a UserError inside a job reaches the CLI like any other.
  void run(const std::function<void(int, int)>& fn);

  // fn(range_begin, range_end) over contiguous ranges covering [begin, end); range bounds are
  // multiples of grain (except end). Runs inline when the range is a single grain.
  void parallel_for(int64_t begin, int64_t end, int64_t grain,
                    const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);
  void run_catching(const std::function<void(int, int)>& fn, int index) noexcept;

  int n_threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::mutex error_mutex_;
  std::exception_ptr error_;  // written before the thread's pending_ decrement, read after the join
};

// Threads to use when the user gives none: the CPUs this process may run on (its affinity set).
int default_thread_count();

}  // namespace bitlm
