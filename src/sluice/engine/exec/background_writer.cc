#include "sluice/engine/exec/background_writer.h"

namespace sluice::engine {

BackgroundWriter::BackgroundWriter(std::function<Status(const Batch&)> write, size_t capacity)
    : write_(std::move(write)), capacity_(capacity), thread_([this] { Loop(); }) {}

BackgroundWriter::~BackgroundWriter() { (void)Finish(); }

void BackgroundWriter::Loop() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      not_empty_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing and drained
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    not_full_.notify_one();
    Status st = write_(batch);
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.ok()) error_ = st;
      queue_.clear();  // nothing after a failed write may land
      closing_ = true;
      not_full_.notify_all();
      return;
    }
  }
}

Status BackgroundWriter::Submit(Batch batch) {
  std::unique_lock<std::mutex> lock(mu_);
  not_full_.wait(lock, [&] { return queue_.size() < capacity_ || closing_; });
  if (!error_.ok()) return error_;
  if (closing_) return Status::Internal("write after Finish()");
  queue_.push_back(std::move(batch));
  lock.unlock();
  not_empty_.notify_one();
  return Status::OK();
}

Status BackgroundWriter::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  not_empty_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

}  // namespace sluice::engine
