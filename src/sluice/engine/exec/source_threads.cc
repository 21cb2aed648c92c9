#include "sluice/engine/exec/source_threads.h"

#include <algorithm>
#include <chrono>

#include "sluice/base/logging.h"
#include "sluice/engine/exec/plan_emitter.h"

namespace sluice::engine {

struct SourceThreads::Group {
  int index = 0;
  ExecContext ctx;
  std::vector<NodeCounters> counters;  // parallel to nodes_ (addresses stay put: sized once)
  std::vector<std::unique_ptr<StreamSource>> sources;
  bool replay = false;
  std::thread thread;
};

SourceThreads::SourceThreads(const Plan& plan, const std::vector<size_t>& nodes, const ExecContext& ctx,
                             Options options)
    : plan_(plan), nodes_(nodes), options_(options) {
  options_.groups = std::max(1, options_.groups);
  for (int g = 0; g < options_.groups; ++g) {
    auto group = std::make_unique<Group>();
    group->index = g;
    group->ctx = ctx;
    group->ctx.emitter = nullptr;  // chunks go through the queue, never straight to operators
    group->ctx.dead_letters = nullptr;
    group->counters.resize(nodes_.size());
    groups_.push_back(std::move(group));
  }
}

SourceThreads::~SourceThreads() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  for (auto& g : groups_) {
    if (g->thread.joinable()) g->thread.join();
  }
}

Status SourceThreads::Open(const std::map<size_t, std::map<int32_t, PartitionProgress>>& restored) {
  for (auto& g : groups_) {
    for (size_t k = 0; k < nodes_.size(); ++k) {
      const size_t node = nodes_[k];
      std::unique_ptr<Operator> op = CreateOperator(plan_.nodes[node], node, g->ctx, g->counters[k], nullptr);
      std::unique_ptr<StreamSource> source(static_cast<StreamSource*>(op.release()));
      source->Configure(g->index, options_.groups, [this](SourceChunk&& c) { return Deliver(std::move(c)); });
      std::map<int32_t, int64_t> start;
      auto it = restored.find(node);
      if (it != restored.end()) {
        for (const auto& [p, prog] : it->second) start[p] = prog.next;
      }
      SLUICE_RETURN_IF_ERROR(source->Open(start));
      if (it != restored.end()) {
        for (auto& [p, prog] : source->partitions()) {
          if (auto r = it->second.find(p); r != it->second.end()) prog.max_event_time = r->second.max_event_time;
        }
      }
      g->sources.push_back(std::move(source));
    }
  }
  for (auto& g : groups_) {
    Group* gp = g.get();
    g->thread = std::thread([this, gp] { Loop(*gp); });
  }
  return Status::OK();
}

void SourceThreads::SetReplay(const std::map<size_t, std::map<int32_t, int64_t>>* stop,
                              const std::map<size_t, std::map<int32_t, std::vector<int64_t>>>* cuts) {
  static const std::map<int32_t, int64_t> kNoStop;
  static const std::map<int32_t, std::vector<int64_t>> kNoCuts;
  for (auto& g : groups_) {
    g->replay = stop != nullptr;
    for (size_t k = 0; k < nodes_.size(); ++k) {
      const std::map<int32_t, int64_t>* s = &kNoStop;
      const std::map<int32_t, std::vector<int64_t>>* c = &kNoCuts;
      if (stop) {
        if (auto it = stop->find(nodes_[k]); it != stop->end()) s = &it->second;
      }
      if (cuts) {
        if (auto it = cuts->find(nodes_[k]); it != cuts->end()) c = &it->second;
      }
      g->sources[k]->SetReplay(*s, *c);
    }
  }
}

std::map<size_t, std::map<int32_t, PartitionProgress>> SourceThreads::Positions() const {
  std::map<size_t, std::map<int32_t, PartitionProgress>> out;
  for (const auto& g : groups_) {
    for (size_t k = 0; k < nodes_.size(); ++k) {
      for (const auto& [p, prog] : g->sources[k]->partitions()) out[nodes_[k]][p] = prog;
    }
  }
  return out;
}

std::map<size_t, std::map<int32_t, int64_t>> SourceThreads::EndOffsets() const {
  std::map<size_t, std::map<int32_t, int64_t>> out;
  for (const auto& g : groups_) {
    for (size_t k = 0; k < nodes_.size(); ++k) {
      for (const auto& [p, end] : g->sources[k]->EndOffsets()) out[nodes_[k]][p] = end;
    }
  }
  return out;
}

NodeCounters SourceThreads::Counters(size_t node) const {
  NodeCounters sum;
  const size_t k = static_cast<size_t>(std::find(nodes_.begin(), nodes_.end(), node) - nodes_.begin());
  if (k == nodes_.size()) return sum;
  for (const auto& g : groups_) sum += g->counters[k];
  return sum;
}

Result<bool> SourceThreads::CaughtUp() {
  for (auto& g : groups_) {
    for (auto& s : g->sources) {
      SLUICE_ASSIGN_OR_RETURN(bool c, s->CaughtUp());
      if (!c) return false;
    }
  }
  return true;
}

void SourceThreads::Start(int64_t budget) {
  {
    std::lock_guard lock(mu_);
    SLUICE_CHECK(active_ == 0) << "Start while source threads are running";
    running_ = true;
    budget_ = budget;
    active_ = static_cast<int>(groups_.size());
    ++generation_;
  }
  cv_.notify_all();
}

void SourceThreads::Park() {
  {
    std::lock_guard lock(mu_);
    running_ = false;
  }
  cv_.notify_all();
}

bool SourceThreads::Idle() const {
  std::lock_guard lock(mu_);
  return active_ == 0 && queue_.empty();
}

Result<std::optional<SourceChunk>> SourceThreads::Next(int timeout_ms) {
  std::unique_lock lock(mu_);
  consumer_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return !queue_.empty() || !failure_.ok() || active_ == 0; });
  if (!failure_.ok()) return failure_;
  if (queue_.empty()) return std::optional<SourceChunk>();
  std::optional<SourceChunk> chunk(std::move(queue_.front()));
  queue_.pop_front();
  queued_records_ -= chunk->records;
  lock.unlock();
  cv_.notify_all();  // room in the queue
  return chunk;
}

Status SourceThreads::Deliver(SourceChunk&& chunk) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] {
    return quit_ || queue_.empty() || queued_records_ + chunk.records <= options_.queue_records;
  });
  if (quit_) return Status(StatusCode::kAborted, "the stream run is stopping");
  queued_records_ += chunk.records;
  queue_.push_back(std::move(chunk));
  lock.unlock();
  consumer_cv_.notify_one();
  return Status::OK();
}

int64_t SourceThreads::Claim(int64_t want) {
  std::lock_guard lock(mu_);
  if (budget_ < 0) return want;
  const int64_t n = std::min(want, budget_);
  budget_ -= n;
  return n;
}

void SourceThreads::Loop(Group& g) {
  uint64_t seen = 0;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return quit_ || generation_ != seen; });
    if (quit_) return;
    seen = generation_;
    const bool replay = g.replay;
    Status st;
    // Reads until parked, or (replay) at the stop of every partition.
    while (!quit_ && running_ && generation_ == seen) {
      lock.unlock();
      bool done = false;
      if (replay) {
        st = [&]() -> Status {
          for (auto& s : g.sources) {
            SLUICE_ASSIGN_OR_RETURN(bool c, s->CaughtUp());
            if (!c) return Status::OK();
          }
          done = true;
          return Status::OK();
        }();
      }
      const int64_t want = st.ok() && !done ? Claim(static_cast<int64_t>(options_.poll_records)) : 0;
      int64_t got = 0;
      for (auto& s : g.sources) {
        if (!st.ok() || got >= want) break;
        auto n = s->Poll(static_cast<size_t>(want - got), 20);
        if (!n.ok()) {
          st = n.status();
          break;
        }
        got += static_cast<int64_t>(*n);
      }
      lock.lock();
      if (budget_ >= 0 && want > got) {
        budget_ += want - got;  // give back what was not read, maybe to another group
        cv_.notify_all();
      }
      if (!st.ok() || done) break;
      if (got == 0) {
        // Nothing there (or no budget left): wait a little, or until parked or budget returns.
        cv_.wait_for(lock, std::chrono::milliseconds(want == 0 ? 50 : 5),
                     [&] { return quit_ || !running_ || generation_ != seen || (want == 0 && budget_ != 0); });
      }
    }
    if (!st.ok() && failure_.ok()) {
      failure_ = st;
      SLUICE_LOG(Warn, "stream.source_failed", {"group", g.index}, {"error", st.ToString()});
    }
    --active_;
    consumer_cv_.notify_all();
  }
}

}  // namespace sluice::engine
