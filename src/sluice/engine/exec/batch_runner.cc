#include "sluice/engine/exec/batch_runner.h"

#include <filesystem>

#include "sluice/base/logging.h"
#include "sluice/engine/exec/dead_letter_store.h"
#include "sluice/engine/exec/lake_operators.h"
#include "sluice/engine/exec/plan_emitter.h"
#include "sluice/io/file_system.h"
#include "sluice/io/workdir.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

RunResult RunBatch(const Plan& plan, const RunOptions& options) {
  RunResult result;
  const Clock& clock = options.clock ? *options.clock : SystemClock::Get();
  const int64_t start = clock.MonotonicMicros();
  const int64_t started_at = clock.NowMicros();
  result.run_id = options.run_id;
  result.logical_time_micros = options.logical_time_micros.value_or(started_at);
  if (result.run_id.empty()) {
    std::string ts = FormatTimestamp(started_at);
    for (char& c : ts) {
      if (c == ':' || c == '.') c = '-';
    }
    result.run_id = "run-" + ts;
  }
  const DeadLetterStore dead_letter_store(Workdir(options.workdir), plan);
  const std::string dl_path = dead_letter_store.BatchRunFile(result.run_id);
  if (Status confined = plan.data_roots.Check(dl_path); !confined.ok()) {
    result.status = confined;
    return result;
  }
  std::error_code ec;
  if (Status dir = io::MakeDirs(std::filesystem::path(dl_path).parent_path().string()); !dir.ok()) {
    result.status = dir;
    return result;
  }

  DeadLetterWriter dead_letters = dead_letter_store.BatchRunWriter(result.run_id, started_at);
  auto pii = RunPiiMasker(plan, options.pii_key, options.workdir);
  if (!pii.ok()) {
    result.status = pii.status();
    return result;
  }
  dead_letters.set_pii_masker(pii->get());
  Progress progress(clock, options.progress);
  std::vector<NodeCounters> counters(plan.nodes.size());
  std::vector<std::unique_ptr<Operator>> ops;
  ExecContext ctx;
  ctx.plan = &plan;
  ctx.workdir = options.workdir;
  ctx.clock = &clock;
  ctx.dead_letters = &dead_letters;
  ctx.pii = pii->get();
  ctx.run_id = result.run_id;
  ctx.fence = options.fence;
  ctx.run_epoch = result.logical_time_micros;
  ctx.epoch = ctx.run_epoch;
  PlanEmitter emitter(plan, ops, options.stop);
  ctx.emitter = &emitter;
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    ops.push_back(CreateOperator(plan.nodes[i], i, ctx, counters[i], &progress));
  }

  SLUICE_LOG(Info, "run.start", {"pipeline", plan.pipeline}, {"run", result.run_id});
  Status st;
  for (size_t i = 0; i < plan.nodes.size() && st.ok(); ++i) {
    if (plan.nodes[i].role == Role::kSource) st = ops[i]->Run();
  }
  for (size_t i = 0; i < plan.nodes.size() && st.ok(); ++i) st = ops[i]->Close();
  if (st.ok()) st = dead_letters.Commit();
  bool dead_letters_in_lake = false;
  if (st.ok() && plan.dead_letter.kind == DeadLetterKind::kLake && dead_letters.count() > 0) {
    // Staged as NDJSON, then appended to the table in one commit; the staging file goes away.
    auto v = CommitDeadLettersToLake(plan, dl_path, ctx.run_epoch, false, ctx.fence, &clock);
    st = v.ok() ? Status::OK() : v.status().WithContext("dead letters to " + plan.dead_letter.table);
    if (st.ok()) {
      std::filesystem::remove(dl_path, ec);
      dead_letters_in_lake = true;
    }
  }

  // Every record is accounted for: in = out + dead_letter + dropped, per component.
  for (size_t i = 0; i < plan.nodes.size() && st.ok(); ++i) {
    if (plan.nodes[i].config->ChangesCardinality()) continue;
    const auto& k = counters[i];
    SLUICE_CHECK(k.in == k.out + k.dead_letter + k.dropped)
        << plan.nodes[i].name << ": in=" << k.in << " out=" << k.out << " dead_letter=" << k.dead_letter
        << " dropped=" << k.dropped;
  }
  for (size_t i = 0; i < plan.nodes.size(); ++i) result.components.emplace_back(plan.nodes[i].name, counters[i]);
  result.status = st;
  result.dead_letters = dead_letters.count();
  if (st.ok() && dead_letters.count() > 0) {
    if (dead_letters_in_lake) result.dead_letter_table = plan.dead_letter.table;
    else result.dead_letter_path = dl_path;
  }
  result.duration_ms = (clock.MonotonicMicros() - start) / 1000;
  SLUICE_LOG(Info, "run.end", {"pipeline", plan.pipeline}, {"run", result.run_id},
             {"status", st.ok() ? "succeeded" : "failed"}, {"duration_ms", result.duration_ms});
  return result;
}

}  // namespace sluice::engine
