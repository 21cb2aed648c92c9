#include "sluice/io/faults.h"

#include <atomic>
#include <cerrno>
#include <mutex>

#include "sluice/base/check.h"

namespace sluice::io {

struct ScopedFaults::State {
  FaultPlan plan;
  int64_t writes = 0, fsyncs = 0, renames = 0, bytes = 0, injected = 0;  // GUARDED_BY(mu)
};

namespace {

using State = ScopedFaults::State;

// The installed plan. Helpers load it without the lock and take the lock only when one is
// installed; installing and removing it hold the lock, so a helper never sees a freed plan.
std::atomic<State*> active{nullptr};
std::mutex mu;

// The installed plan if it covers `path`, with `mu` held by `lock`; else null.
State* Matching(const std::string& path, std::unique_lock<std::mutex>& lock) {
  if (active.load(std::memory_order_acquire) == nullptr) return nullptr;
  lock = std::unique_lock<std::mutex>(mu);
  State* s = active.load(std::memory_order_relaxed);
  if (s == nullptr || !path.starts_with(s->plan.path_prefix)) return nullptr;
  return s;
}

// Counts a call and decides whether it is the one to fail.
int CountCall(State& s, int64_t& count, int64_t fail_at) {
  if (++count != fail_at) return 0;
  ++s.injected;
  return EIO;
}

int64_t Read(const int64_t State::*field, const State& s) {
  std::lock_guard lock(mu);
  return s.*field;
}

}  // namespace

ScopedFaults::ScopedFaults(FaultPlan plan) : state_(new State{std::move(plan)}) {
  std::lock_guard lock(mu);
  SLUICE_CHECK(active.load() == nullptr) << "a fault plan is already installed";
  active.store(state_.get(), std::memory_order_release);
}

ScopedFaults::~ScopedFaults() {
  std::lock_guard lock(mu);
  active.store(nullptr, std::memory_order_release);
}

int64_t ScopedFaults::writes() const { return Read(&State::writes, *state_); }
int64_t ScopedFaults::fsyncs() const { return Read(&State::fsyncs, *state_); }
int64_t ScopedFaults::renames() const { return Read(&State::renames, *state_); }
int64_t ScopedFaults::bytes_written() const { return Read(&State::bytes, *state_); }
int64_t ScopedFaults::injected() const { return Read(&State::injected, *state_); }

namespace faults {

WriteFault BeforeWrite(const std::string& path, size_t bytes) {
  std::unique_lock<std::mutex> lock;
  State* s = Matching(path, lock);
  if (s == nullptr) return {bytes, 0};
  if (int e = CountCall(*s, s->writes, s->plan.fail_write)) return {0, e};
  const int64_t left = s->plan.disk_bytes < 0 ? INT64_MAX : s->plan.disk_bytes - s->bytes;
  if (static_cast<int64_t>(bytes) <= left) {
    s->bytes += static_cast<int64_t>(bytes);
    return {bytes, 0};
  }
  s->bytes += left;
  ++s->injected;
  return {static_cast<size_t>(left), ENOSPC};
}

int BeforeSync(const std::string& path) {
  std::unique_lock<std::mutex> lock;
  State* s = Matching(path, lock);
  return s == nullptr ? 0 : CountCall(*s, s->fsyncs, s->plan.fail_fsync);
}

int BeforeRename(const std::string& path) {
  std::unique_lock<std::mutex> lock;
  State* s = Matching(path, lock);
  return s == nullptr ? 0 : CountCall(*s, s->renames, s->plan.fail_rename);
}

}  // namespace faults
}  // namespace sluice::io
