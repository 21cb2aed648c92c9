#include "sluice/engine/exec/stream_runner.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "sluice/base/logging.h"
#include "sluice/engine/exec/checkpoint.h"
#include "sluice/engine/exec/dead_letter_store.h"
#include "sluice/engine/exec/lake_operators.h"
#include "sluice/engine/exec/plan_emitter.h"
#include "sluice/engine/exec/source_threads.h"
#include "sluice/engine/exec/stream_io.h"
#include "sluice/io/workdir.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

int64_t ComputeWatermark(const std::vector<PartitionClock>& partitions, int64_t now, int64_t started,
                         int64_t previous) {
  int64_t w = INT64_MAX, idle_w = INT64_MAX;
  bool any = false;
  // For idle advance: the largest event time, the latest arrival and the largest idle_timeout.
  int64_t max_event = INT64_MIN, last_arrival = INT64_MIN, step = 0;
  bool advance = !partitions.empty();
  for (const auto& p : partitions) {
    const int64_t since = p.last_data_micros == INT64_MIN ? started : p.last_data_micros;
    if (p.idle_timeout_us > 0 && now - since >= p.idle_timeout_us) {  // idle
      if (p.max_event_time != INT64_MIN) idle_w = std::min(idle_w, p.max_event_time - p.max_out_of_order_us);
      max_event = std::max(max_event, p.max_event_time);
      last_arrival = std::max(last_arrival, since);
      step = std::max(step, p.idle_timeout_us);
      advance = advance && p.idle_advance;
      continue;
    }
    if (p.max_event_time == INT64_MIN) return previous;  // holds it back
    w = std::min(w, p.max_event_time - p.max_out_of_order_us);
    any = true;
  }
  if (any) return std::max(previous, w);
  // Every partition is idle: the ones that had data decide, as if the empty ones did not exist.
  int64_t out = idle_w == INT64_MAX ? previous : std::max(previous, idle_w);
  if (advance && max_event != INT64_MIN && step > 0 && now > last_arrival) {
    // Nothing is in flight: event time moves with processing time, one idle_timeout at a time.
    const int64_t k = (now - last_arrival) / step;
    int64_t to = 0;
    if (k > 0) {
      // k * step <= now - last_arrival, so only the sum can overflow; INT64_MAX is "end of input".
      if (__builtin_add_overflow(max_event, k * step, &to) || to == INT64_MAX) to = INT64_MAX - 1;
      out = std::max(out, to);
    }
  }
  return out;
}

namespace {

struct Runner {
  const Plan& plan;
  const StreamOptions& options;
  const Clock& clock;
  StreamResult result;
  std::vector<NodeCounters> counters;
  std::vector<NodeCounters> restored_counters;  // sources: the totals before this run
  std::vector<std::unique_ptr<Operator>> ops;   // nullptr for sources (they run in SourceThreads)
  std::vector<size_t> source_nodes;
  std::map<std::string, size_t> node_by_name;
  std::unique_ptr<SourceThreads> threads;
  ExecContext ctx;
  std::unique_ptr<PiiMasker> pii;  // ctx.pii
  std::unique_ptr<PlanEmitter> emitter;
  CheckpointStore store;
  DeadLetterStore dead_letter_store;
  int64_t started_mono = 0;
  std::vector<EpochOffsets::Run> order;  // the epoch's processing order so far

  Runner(const Plan& p, const StreamOptions& o, const Clock& c)
      : plan(p),
        options(o),
        clock(c),
        store(Workdir(o.workdir).Checkpoints(p.StateKey()).string(), o.fence),
        dead_letter_store(Workdir(o.workdir), p) {}

  bool StopRequested() const { return options.stop && options.stop->load(std::memory_order_relaxed); }

  Status Setup() {
    SLUICE_RETURN_IF_ERROR(plan.data_roots.Check(dead_letter_store.EpochFile(0)));
    SLUICE_RETURN_IF_ERROR(plan.data_roots.Check(Workdir(options.workdir).Checkpoints(plan.StateKey()).string()));
    counters.resize(plan.nodes.size());
    restored_counters.resize(plan.nodes.size());
    ctx.plan = &plan;
    ctx.workdir = options.workdir;
    ctx.clock = &clock;
    ctx.streaming = true;
    ctx.fence = options.fence;
    SLUICE_ASSIGN_OR_RETURN(pii, RunPiiMasker(plan, options.pii_key, options.workdir));
    ctx.pii = pii.get();
    emitter = std::make_unique<PlanEmitter>(plan, ops);
    ctx.emitter = emitter.get();
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      const PlanNode& n = plan.nodes[i];
      node_by_name[n.name] = i;
      if (!n.config->RunsInStreams()) {
        return Status::InvalidArgument(
            "{}: {}: a {} {} cannot run in a stream (its result needs the end of the input); stream pipelines read "
            "log or kafka sources, aggregate in windows, and write to lake, warehouse, log or kafka sinks",
            n.location, n.name, n.kind, RoleName(n.role));
      }
      if (n.role == Role::kSource) {
        ops.push_back(nullptr);
        source_nodes.push_back(i);
      } else {
        ops.push_back(CreateOperator(n, i, ctx, counters[i], nullptr));
      }
    }
    SourceThreads::Options to;
    to.groups = options.source_threads > 0
                    ? options.source_threads
                    : static_cast<int>(std::clamp<unsigned>(std::thread::hardware_concurrency(), 2, 9) - 1);
    threads = std::make_unique<SourceThreads>(plan, source_nodes, ctx, to);
    return Status::OK();
  }

  // Restores the newest checkpoint; returns the epoch to run next.
  Result<int64_t> Restore() {
    // A worker that took the run over fences the checkpoint before reading it: the one that lost
    // the lease can no longer write one.
    SLUICE_RETURN_IF_ERROR(store.Fence());
    SLUICE_ASSIGN_OR_RETURN(auto ck, store.LoadLatest());
    std::map<size_t, std::map<int32_t, PartitionProgress>> positions;
    if (ck) {
      result.restored_epoch = ck->epoch;
      ctx.watermark = ck->watermark;
      for (auto& [name, parts] : ck->sources) {
        if (auto it = node_by_name.find(name); it != node_by_name.end()) positions[it->second] = std::move(parts);
      }
      for (size_t i = 0; i < plan.nodes.size(); ++i) {
        const std::string& name = plan.nodes[i].name;
        if (auto it = ck->counters.find(name); it != ck->counters.end()) counters[i] = restored_counters[i] = it->second;
        if (auto it = ck->state.find(name); it != ck->state.end() && ops[i]) {
          SLUICE_RETURN_IF_ERROR(ops[i]->LoadState(it->second).WithContext("restoring checkpoint " + std::to_string(ck->epoch)));
        }
      }
      SLUICE_LOG(Info, "stream.restore", {"pipeline", plan.pipeline}, {"epoch", ck->epoch});
    }
    SLUICE_RETURN_IF_ERROR(threads->Open(positions));
    return ck ? ck->epoch + 1 : int64_t{1};
  }

  // The watermark that closes a live epoch; the source threads are parked.
  int64_t Watermark(const std::map<size_t, std::map<int32_t, PartitionProgress>>& positions, int64_t previous) {
    // An --until-idle run keeps the watermark the data gave: processing time never moves it (its
    // stop must leave the open windows for the next run).
    const bool may_advance = !options.until_idle;
    std::vector<PartitionClock> clocks;
    bool advance = false;
    for (const auto& [node, parts] : positions) {
      const auto& et = plan.nodes[node].event_time;
      if (!et) continue;
      for (const auto& [p, prog] : parts) {
        clocks.push_back(PartitionClock{prog.max_event_time, prog.last_data_micros, et->max_out_of_order_us,
                                        et->idle_timeout_us, may_advance && et->idle_advance});
        advance = advance || clocks.back().idle_advance;
      }
    }
    const int64_t now = clock.MonotonicMicros();
    const int64_t w = ComputeWatermark(clocks, now, started_mono, previous);
    if (!advance) return w;
    for (auto& c : clocks) c.idle_advance = false;
    const int64_t held = ComputeWatermark(clocks, now, started_mono, previous);
    if (w == held) return w;
    // Processing time would move it: only if nothing is in flight, i.e. every source has read
    // all its topic holds now (an unreachable Kafka broker counts as not).
    auto caught_up = threads->CaughtUp();
    if (caught_up.ok() && *caught_up) return w;
    SLUICE_LOG(Debug, "stream.idle_advance_held", {"pipeline", plan.pipeline},
               {"reason", caught_up.ok() ? "input in flight" : caught_up.status().ToString()});
    return held;
  }

  // Runs a chunk of source records through the operators and notes it in the epoch's order.
  Status Process(SourceChunk& chunk) {
    const PlanNode& n = plan.nodes[chunk.node];
    for (const Batch& b : chunk.batches) SLUICE_RETURN_IF_ERROR(emitter->Emit(chunk.node, 0, b));
    if (!chunk.undecodable.empty()) {
      const std::string location = fmt::format("{}/{}", n.Config<StreamSourceConfig>().topic, chunk.partition);
      for (const auto& u : chunk.undecodable) {
        ctx.dead_letters->AddRaw(n.name, n.name, location, u.offset, u.error_class, u.message, u.raw,
                                 n.outputs[0].schema->HasPii());
      }
    }
    if (!order.empty() && order.back().source == n.name && order.back().partition == chunk.partition) {
      order.back().end = chunk.to;
    } else {
      order.push_back({n.name, chunk.partition, chunk.to});
    }
    return Status::OK();
  }

  // Parks the source threads and processes every chunk they still deliver.
  Status ParkAndDrain(int64_t* read) {
    threads->Park();
    for (;;) {
      SLUICE_ASSIGN_OR_RETURN(auto chunk, threads->Next(5));
      if (chunk) {
        SLUICE_RETURN_IF_ERROR(Process(*chunk));
        *read += chunk->records;
      } else if (threads->Idle()) {
        return Status::OK();
      }
    }
  }

  // Reads a new epoch's input: up to epoch_records records or epoch_interval. Sets *input_ended
  // when --until-idle finds every source at its end.
  Result<int64_t> ReadLive(bool* input_ended) {
    const int64_t deadline = clock.MonotonicMicros() + options.epoch_interval_ms * 1000;
    int64_t read = 0;
    threads->SetReplay(nullptr, nullptr);
    threads->Start(options.epoch_records);
    while (!StopRequested() && read < options.epoch_records && clock.MonotonicMicros() < deadline) {
      SLUICE_ASSIGN_OR_RETURN(auto chunk, threads->Next(20));
      if (chunk) {
        SLUICE_RETURN_IF_ERROR(Process(*chunk));
        read += chunk->records;
      } else if (options.until_idle) {
        // Nothing for a while: is everything read?
        SLUICE_RETURN_IF_ERROR(ParkAndDrain(&read));
        SLUICE_ASSIGN_OR_RETURN(bool done, threads->CaughtUp());
        if (done) {
          *input_ended = true;
          return read;
        }
        threads->Start(options.epoch_records - read);
      } else if (options.on_wait) {
        options.on_wait();
      }
    }
    SLUICE_RETURN_IF_ERROR(ParkAndDrain(&read));
    return read;
  }

  // Reads a recorded epoch again: the same records, processed in the recorded order.
  Result<int64_t> ReadReplay(const EpochOffsets& recorded) {
    std::map<size_t, std::map<int32_t, int64_t>> stop;
    std::map<size_t, std::map<int32_t, std::vector<int64_t>>> cuts;
    for (const auto& [src, parts] : recorded.end) {
      auto it = node_by_name.find(src);
      if (it == node_by_name.end()) {
        return Status::FailedPrecondition("epoch {} was recorded with source '{}', which the pipeline no longer has; "
                                          "run the version that recorded it to finish the epoch",
                                          recorded.epoch, src);
      }
      stop[it->second] = parts;
    }
    for (const auto& r : recorded.order) cuts[node_by_name[r.source]][r.partition].push_back(r.end);
    auto positions = threads->Positions();
    threads->SetReplay(&stop, &cuts);
    threads->Start(-1);
    int64_t read = 0;
    std::map<std::pair<size_t, int32_t>, std::deque<SourceChunk>> early;  // chunks ahead of the order
    for (const auto& run : recorded.order) {
      const std::pair<size_t, int32_t> key{node_by_name[run.source], run.partition};
      int64_t at = positions[key.first][key.second].next;
      while (at < run.end) {
        std::optional<SourceChunk> chunk;
        if (auto& q = early[key]; !q.empty()) {
          chunk = std::move(q.front());
          q.pop_front();
        } else {
          SLUICE_ASSIGN_OR_RETURN(chunk, threads->Next(100));
          if (!chunk) {
            if (!threads->Idle()) continue;
            return Status::DataError("replaying epoch {}: {}/{} ended at offset {}, but the epoch recorded records up "
                                     "to {}", recorded.epoch, run.source, run.partition, at, run.end);
          }
          if (std::make_pair(chunk->node, chunk->partition) != key) {
            early[{chunk->node, chunk->partition}].push_back(std::move(*chunk));
            continue;
          }
        }
        if (chunk->from < at || chunk->to > run.end) {
          return Status::Internal("replaying epoch {}: {}/{} delivered offsets [{}, {}) for the recorded run [{}, {})",
                                  recorded.epoch, run.source, run.partition, chunk->from, chunk->to, at, run.end);
        }
        SLUICE_RETURN_IF_ERROR(Process(*chunk));
        read += chunk->records;
        at = chunk->to;
      }
      positions[key.first][key.second].next = at;
    }
    // Epochs recorded without an order: whatever the threads deliver, in arrival order.
    for (;;) {
      SLUICE_ASSIGN_OR_RETURN(auto chunk, threads->Next(100));
      if (chunk) {
        if (!recorded.order.empty()) early[{chunk->node, chunk->partition}].push_back(std::move(*chunk));
        else {
          SLUICE_RETURN_IF_ERROR(Process(*chunk));
          read += chunk->records;
        }
      } else if (threads->Idle()) {
        break;
      }
    }
    for (const auto& [key, q] : early) {
      if (!q.empty()) {
        return Status::Internal("replaying epoch {}: {}/{} delivered records beyond the recorded order", recorded.epoch,
                                plan.nodes[key.first].name, key.second);
      }
    }
    return read;
  }

  void UpdateSourceCounters() {
    for (size_t node : source_nodes) {
      counters[node] = restored_counters[node];
      counters[node] += threads->Counters(node);
    }
  }
 Status CommitDeadLetters(DeadLetterWriter& dl, int64_t epoch) {
    SLUICE_RETURN_IF_ERROR(dl.Commit());
    if (plan.dead_letter.kind != DeadLetterKind::kLake || dl.count() == 0) return Status::OK();
    auto v = CommitDeadLettersToLake(plan, dl.path(), epoch, true, ctx.fence, &clock);
    if (!v.ok()) return v.status().WithContext("dead letters to " + plan.dead_letter.table);
    std::error_code ec;
    std::filesystem::remove(dl.path(), ec);
    return Status::OK();
  }

  Status Checkpoint(int64_t epoch, const std::map<size_t, std::map<int32_t, PartitionProgress>>& positions) {
    engine::Checkpoint ck;
    ck.epoch = epoch;
    ck.watermark = ctx.watermark;
    for (const auto& [node, parts] : positions) ck.sources[plan.nodes[node].name] = parts;
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      ck.counters[plan.nodes[i].name] = counters[i];
      if (!ops[i]) continue;
      std::string blob;
      SLUICE_RETURN_IF_ERROR(ops[i]->SaveState(blob).WithContext(plan.nodes[i].name));
      if (!blob.empty()) ck.state[plan.nodes[i].name] = std::move(blob);
    }
    return store.WriteCheckpoint(ck);
  }

  // Where the stream stands after committing `epoch` (its checkpoint just written).
  StreamProgress CurrentProgress(int64_t epoch,
                                 const std::map<size_t, std::map<int32_t, PartitionProgress>>& positions) {
    StreamProgress p;
    p.epoch = epoch;
    p.checkpoint_micros = clock.NowMicros();
    p.epochs = result.epochs;
    p.records = result.records;
    p.watermark = ctx.watermark;
    for (size_t i = 0; i < counters.size(); ++i) p.components.emplace_back(plan.nodes[i].name, counters[i]);
    for (const auto& [node, ends] : threads->EndOffsets()) {
      auto at = positions.find(node);
      for (const auto& [part, end] : ends) {
        int64_t next = 0;
        if (at != positions.end()) {
          if (auto it = at->second.find(part); it != at->second.end()) next = it->second.next;
        }
        p.partitions.push_back({plan.nodes[node].name, part, next, end});
      }
    }
    return p;
  }

  Status CheckCounts() const {
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      if (plan.nodes[i].config->ChangesCardinality()) continue;
      const auto& k = counters[i];
      SLUICE_CHECK(k.in == k.out + k.dead_letter + k.dropped)
          << plan.nodes[i].name << ": in=" << k.in << " out=" << k.out << " dead_letter=" << k.dead_letter
          << " dropped=" << k.dropped;
    }
    return Status::OK();
  }

  Status Run() {
    started_mono = clock.MonotonicMicros();
    SLUICE_RETURN_IF_ERROR(Setup());
    SLUICE_ASSIGN_OR_RETURN(int64_t epoch, Restore());
    result.last_epoch = epoch - 1;
    for (;;) {
      SLUICE_ASSIGN_OR_RETURN(auto recorded, store.LoadOffsets(epoch));
      const bool replay = recorded.has_value();
      if (replay) SLUICE_LOG(Info, "stream.replay", {"pipeline", plan.pipeline}, {"epoch", epoch});
      ctx.epoch = epoch;
      ctx.run_epoch = replay ? recorded->time_micros : clock.NowMicros();
      DeadLetterWriter dl = dead_letter_store.EpochWriter(epoch, ctx.run_epoch);
      dl.set_pii_masker(ctx.pii);
      ctx.dead_letters = &dl;
      order.clear();
      bool input_ended = false;
      SLUICE_ASSIGN_OR_RETURN(int64_t read, replay ? ReadReplay(*recorded) : ReadLive(&input_ended));
      result.records += read;
      auto positions = threads->Positions();

      EpochOffsets offsets;
      if (replay) {
        offsets = *recorded;
      } else {
        offsets.epoch = epoch;
        offsets.time_micros = ctx.run_epoch;
        offsets.final = input_ended;
        offsets.watermark = input_ended && options.drain ? INT64_MAX : Watermark(positions, ctx.watermark);
        for (const auto& [node, parts] : positions) {
          auto& end = offsets.end[plan.nodes[node].name];
          for (const auto& [p, prog] : parts) end[p] = prog.next;
        }
        offsets.order = std::move(order);
        if (read == 0 && offsets.watermark == ctx.watermark && dl.count() == 0) {
          // Nothing happened: no epoch to commit.
          if (input_ended) {
            result.finished = true;
            break;
          }
          if (StopRequested() || (options.max_epochs >= 0 && result.epochs >= options.max_epochs)) break;
          continue;
        }
        SLUICE_RETURN_IF_ERROR(store.WriteOffsets(offsets));
      }
      nlohmann::json oj = nlohmann::json::object();
      for (const auto& [src, parts] : offsets.end) {
        for (const auto& [p, off] : parts) oj[src][std::to_string(p)] = off;
      }
      ctx.epoch_offsets = nlohmann::json{{"epoch", epoch}, {"offsets", oj}}.dump();

      for (size_t i = 0; i < ops.size(); ++i) {
        if (ops[i]) SLUICE_RETURN_IF_ERROR(ops[i]->EndEpoch(offsets.watermark).WithContext(plan.nodes[i].name));
      }
      SLUICE_RETURN_IF_ERROR(CommitDeadLetters(dl, epoch));
      ctx.dead_letters = nullptr;
      UpdateSourceCounters();
      SLUICE_RETURN_IF_ERROR(CheckCounts());
      ctx.watermark = offsets.watermark;
      SLUICE_RETURN_IF_ERROR(Checkpoint(epoch, positions));
      result.last_epoch = epoch;
      ++result.epochs;
      if (options.on_epoch) options.on_epoch(CurrentProgress(epoch, positions));
      if (options.progress) {
        std::fprintf(stderr, "epoch %lld: %lld records, watermark %s\n", static_cast<long long>(epoch),
                     static_cast<long long>(read),
                     ctx.watermark == INT64_MIN ? "-" : ctx.watermark == INT64_MAX ? "end of input" : FormatTimestamp(ctx.watermark).c_str());
      }
      SLUICE_LOG(Debug, "stream.epoch", {"pipeline", plan.pipeline}, {"epoch", epoch}, {"records", read});
      ++epoch;
      // A replayed final epoch does not end this run: the sources may hold more input by now.
      if (offsets.final && !replay) {
        result.finished = true;
        break;
      }
      if (StopRequested() || (options.max_epochs >= 0 && result.epochs >= options.max_epochs)) break;
    }
    return Status::OK();
  }
};

}  // namespace

StreamResult RunStream(const Plan& plan, const StreamOptions& options) {
  const Clock& clock = options.clock ? *options.clock : SystemClock::Get();
  const int64_t start = clock.MonotonicMicros();
  Runner r(plan, options, clock);
  SLUICE_LOG(Info, "stream.start", {"pipeline", plan.pipeline});
  Status st = r.Run();
  r.result.status = st;
  r.result.watermark = r.ctx.watermark;
  for (size_t i = 0; i < r.counters.size(); ++i) r.result.components.emplace_back(plan.nodes[i].name, r.counters[i]);
  r.result.duration_ms = (clock.MonotonicMicros() - start) / 1000;
  SLUICE_LOG(Info, "stream.end", {"pipeline", plan.pipeline}, {"status", st.ok() ? "stopped" : "failed"},
             {"epochs", r.result.epochs});
  return std::move(r.result);
}

}  // namespace sluice::engine
