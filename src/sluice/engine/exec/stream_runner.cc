#include "sluice/engine/exec/stream_runner.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "sluice/base/logging.h"
#include "sluice/engine/exec/checkpoint.h"
#include "sluice/engine/exec/lake_operators.h"
#include "sluice/engine/exec/model_operators.h"
#include "sluice/engine/exec/operators.h"
#include "sluice/engine/exec/stream_operators.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

int64_t ComputeWatermark(const std::vector<PartitionClock>& partitions, int64_t now, int64_t started,
                         int64_t previous) {
  int64_t w = INT64_MAX, idle_w = INT64_MAX;
  bool any = false;
  for (const auto& p : partitions) {
    const int64_t since = p.last_data_micros == INT64_MIN ? started : p.last_data_micros;
    if (p.idle_timeout_us > 0 && now - since >= p.idle_timeout_us) {  // idle
      if (p.max_event_time != INT64_MIN) idle_w = std::min(idle_w, p.max_event_time - p.max_out_of_order_us);
      continue;
    }
    if (p.max_event_time == INT64_MIN) return previous;  // holds it back
    w = std::min(w, p.max_event_time - p.max_out_of_order_us);
    any = true;
  }
  if (any) return std::max(previous, w);
  // Every partition is idle: the ones that had data decide, as if the empty ones did not exist,
  // so the last windows of a quiet stream still close.
  return idle_w == INT64_MAX ? previous : std::max(previous, idle_w);
}

namespace {

struct Runner {
  const Plan& plan;
  const StreamOptions& options;
  const Clock& clock;
  StreamResult result;
  std::vector<NodeCounters> counters;
  std::vector<std::unique_ptr<Operator>> ops;
  std::vector<StreamSource*> sources;  // parallel to source_index
  std::vector<size_t> source_index;
  ExecContext ctx;
  std::unique_ptr<PlanEmitter> emitter;
  CheckpointStore store;
  int64_t started_mono = 0;

  Runner(const Plan& p, const StreamOptions& o, const Clock& c)
      : plan(p), options(o), clock(c),
        store((std::filesystem::path(o.workdir) / "checkpoints" / p.pipeline).string()) {}

  bool StopRequested() const { return options.stop && options.stop->load(std::memory_order_relaxed); }

  std::string DeadLetterPath(int64_t epoch) const {
    std::filesystem::path dir = plan.dead_letter.path.empty()
                                    ? std::filesystem::path(options.workdir) / "dead_letters" / plan.pipeline
                                    : std::filesystem::path(plan.dead_letter.path);
    return (dir / fmt::format("epoch-{:012d}.ndjson", epoch)).string();
  }

  Status Setup() {
    counters.resize(plan.nodes.size());
    ctx.plan = &plan;
    ctx.workdir = options.workdir;
    ctx.clock = &clock;
    ctx.streaming = true;
    emitter = std::make_unique<PlanEmitter>(plan, ops);
    ctx.emitter = emitter.get();
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      const PlanNode& n = plan.nodes[i];
      if (std::holds_alternative<FilesSinkConfig>(n.config) || std::holds_alternative<SqlModelConfig>(n.config) ||
          std::holds_alternative<JoinConfig>(n.config) ||
          (n.role == Role::kSource && !std::holds_alternative<StreamSourceConfig>(n.config)) ||
          (std::holds_alternative<AggregateConfig>(n.config) &&
           std::get<AggregateConfig>(n.config).window.kind == WindowConfig::Kind::kNone)) {
        return Status::InvalidArgument(
            "{}: {}: a {} {} cannot run in a stream (its result needs the end of the input); stream pipelines read "
            "log or kafka sources, aggregate in windows, and write to lake, warehouse, log or kafka sinks",
            n.location, n.name, n.kind, RoleName(n.role));
      }
      ops.push_back(CreateOperator(n, i, ctx, counters[i], nullptr));
      if (n.role == Role::kSource) {
        sources.push_back(static_cast<StreamSource*>(ops.back().get()));
        source_index.push_back(i);
      }
    }
    return Status::OK();
  }

  // Restores the newest checkpoint; returns the epoch to run next.
  Result<int64_t> Restore() {
    SLUICE_ASSIGN_OR_RETURN(auto ck, store.LoadLatest());
    std::map<std::string, std::map<int32_t, PartitionProgress>> positions;
    if (ck) {
      result.restored_epoch = ck->epoch;
      ctx.watermark = ck->watermark;
      positions = ck->sources;
      for (size_t i = 0; i < plan.nodes.size(); ++i) {
        const std::string& name = plan.nodes[i].name;
        if (auto it = ck->counters.find(name); it != ck->counters.end()) counters[i] = it->second;
        if (auto it = ck->state.find(name); it != ck->state.end()) {
          SLUICE_RETURN_IF_ERROR(ops[i]->LoadState(it->second).WithContext("restoring checkpoint " + std::to_string(ck->epoch)));
        }
      }
      SLUICE_LOG(Info, "stream.restore", {"pipeline", plan.pipeline}, {"epoch", ck->epoch});
    }
    for (size_t s = 0; s < sources.size(); ++s) {
      const std::string& name = plan.nodes[source_index[s]].name;
      std::map<int32_t, int64_t> start;
      for (const auto& [p, prog] : positions[name]) start[p] = prog.next;
      SLUICE_RETURN_IF_ERROR(sources[s]->Open(start));
      for (const auto& [p, prog] : positions[name]) sources[s]->partitions()[p].max_event_time = prog.max_event_time;
    }
    return ck ? ck->epoch + 1 : int64_t{1};
  }

  int64_t Watermark(int64_t previous) const {
    std::vector<PartitionClock> clocks;
    for (size_t s = 0; s < sources.size(); ++s) {
      const auto& et = plan.nodes[source_index[s]].event_time;
      if (!et) continue;
      for (const auto& [p, prog] : sources[s]->partitions()) {
        clocks.push_back(PartitionClock{prog.max_event_time, prog.last_data_micros, et->max_out_of_order_us,
                                        et->idle_timeout_us});
      }
    }
    return ComputeWatermark(clocks, clock.MonotonicMicros(), started_mono, previous);
  }

  Result<bool> AllCaughtUp() {
    for (auto* s : sources) {
      SLUICE_ASSIGN_OR_RETURN(bool c, s->CaughtUp());
      if (!c) return false;
    }
    return true;
  }

  // Reads one epoch's input. Returns the number of records; sets *input_ended when --until-idle
  // finds every source at its end.
  Result<int64_t> ReadEpoch(bool replay, bool* input_ended) {
    const int64_t deadline = clock.MonotonicMicros() + options.epoch_interval_ms * 1000;
    int64_t read = 0;
    for (;;) {
      if (replay) {
        SLUICE_ASSIGN_OR_RETURN(bool done, AllCaughtUp());
        if (done) break;
      } else if (StopRequested() || read >= options.epoch_records || clock.MonotonicMicros() >= deadline) {
        break;
      }
      const size_t want = static_cast<size_t>(std::min<int64_t>(8192, replay ? 8192 : options.epoch_records - read));
      size_t got = 0;
      for (auto* s : sources) {
        SLUICE_ASSIGN_OR_RETURN(size_t n, s->Poll(want, 20));
        got += n;
      }
      read += static_cast<int64_t>(got);
      if (got == 0 && !replay) {
        if (options.until_idle) {
          SLUICE_ASSIGN_OR_RETURN(bool done, AllCaughtUp());
          if (done) {
            *input_ended = true;
            break;
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // nothing to read yet
      }
    }
    return read;
  }

  Status CommitDeadLetters(DeadLetterWriter& dl, int64_t epoch) {
    SLUICE_RETURN_IF_ERROR(dl.Commit());
    if (plan.dead_letter.kind != "lake" || dl.count() == 0) return Status::OK();
    auto v = CommitDeadLettersToLake(plan, dl.path(), epoch, &clock);
    if (!v.ok()) return v.status().WithContext("dead letters to " + plan.dead_letter.table);
    std::error_code ec;
    std::filesystem::remove(dl.path(), ec);
    return Status::OK();
  }

  Status Checkpoint(int64_t epoch) {
    engine::Checkpoint ck;
    ck.epoch = epoch;
    ck.watermark = ctx.watermark;
    for (size_t s = 0; s < sources.size(); ++s) ck.sources[plan.nodes[source_index[s]].name] = sources[s]->partitions();
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      ck.counters[plan.nodes[i].name] = counters[i];
      std::string blob;
      SLUICE_RETURN_IF_ERROR(ops[i]->SaveState(blob).WithContext(plan.nodes[i].name));
      if (!blob.empty()) ck.state[plan.nodes[i].name] = std::move(blob);
    }
    return store.WriteCheckpoint(ck);
  }

  Status CheckCounts() const {
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
      if (ChangesCardinality(plan.nodes[i])) continue;
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
      for (size_t s = 0; s < sources.size(); ++s) {
        std::map<int32_t, int64_t> stop;
        if (replay) stop = recorded->end[plan.nodes[source_index[s]].name];
        sources[s]->SetStop(stop);
      }
      if (replay) SLUICE_LOG(Info, "stream.replay", {"pipeline", plan.pipeline}, {"epoch", epoch});
      ctx.epoch = epoch;
      ctx.run_epoch = replay ? recorded->time_micros : clock.NowMicros();
      DeadLetterWriter dl(plan.pipeline, plan.version, ctx.run_epoch, DeadLetterPath(epoch));
      ctx.dead_letters = &dl;
      bool input_ended = false;
      SLUICE_ASSIGN_OR_RETURN(int64_t read, ReadEpoch(replay, &input_ended));
      result.records += read;

      EpochOffsets offsets;
      if (replay) {
        offsets = *recorded;
      } else {
        offsets.epoch = epoch;
        offsets.time_micros = ctx.run_epoch;
        offsets.final = input_ended;
        offsets.watermark = input_ended ? INT64_MAX : Watermark(ctx.watermark);
        for (size_t s = 0; s < sources.size(); ++s) {
          auto& end = offsets.end[plan.nodes[source_index[s]].name];
          for (const auto& [p, prog] : sources[s]->partitions()) end[p] = prog.next;
        }
        if (read == 0 && offsets.watermark == ctx.watermark && dl.count() == 0 && !input_ended) {
          // Nothing happened: no epoch to commit.
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
        SLUICE_RETURN_IF_ERROR(ops[i]->EndEpoch(offsets.watermark).WithContext(plan.nodes[i].name));
      }
      SLUICE_RETURN_IF_ERROR(CommitDeadLetters(dl, epoch));
      ctx.dead_letters = nullptr;
      SLUICE_RETURN_IF_ERROR(CheckCounts());
      ctx.watermark = offsets.watermark;
      SLUICE_RETURN_IF_ERROR(Checkpoint(epoch));
      result.last_epoch = epoch;
      ++result.epochs;
      if (options.progress) {
        std::fprintf(stderr, "epoch %lld: %lld records, watermark %s\n", static_cast<long long>(epoch),
                     static_cast<long long>(read),
                     ctx.watermark == INT64_MIN ? "-" : ctx.watermark == INT64_MAX ? "end of input" : FormatTimestamp(ctx.watermark).c_str());
      }
      SLUICE_LOG(Debug, "stream.epoch", {"pipeline", plan.pipeline}, {"epoch", epoch}, {"records", read});
      ++epoch;
      if (offsets.final) {
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
