#include "sluice/engine/exec/warehouse_operators.h"

#include <algorithm>

#include "sluice/base/logging.h"
#include "sluice/connectors/warehouse/warehouse.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

// ----- sql model

Status SqlModel::Close() {
  const auto& cfg = node_.Config<SqlModelConfig>();
  auto wh = warehouse::Warehouse::Open(cfg.url);
  if (!wh.ok()) return wh.status().WithContext(node_.name);
  SLUICE_RETURN_IF_ERROR((*wh)->EnsureSchema(cfg.schema).WithContext(node_.name));
  const std::string target = "\"" + cfg.schema + "\".\"" + cfg.table + "\"";
  // Build next to the target, then swap in one transaction: readers see the old or the new
  // model, never a missing or half-built one.
  std::string stmts;
  if (cfg.view) {
    stmts = "BEGIN; DROP VIEW IF EXISTS " + target + "; CREATE VIEW " + target + " AS " + cfg.sql + "; COMMIT;";
  } else {
    const std::string tmp_name = cfg.table.substr(0, 50) + "__building";
    const std::string tmp = "\"" + cfg.schema + "\".\"" + tmp_name + "\"";
    stmts = "BEGIN; DROP TABLE IF EXISTS " + tmp + "; CREATE TABLE " + tmp + " AS " + cfg.sql + "; DROP TABLE IF EXISTS " +
            target + "; ALTER TABLE " + tmp + " RENAME TO \"" + cfg.table + "\"; COMMIT;";
  }
  Status st = (*wh)->RunSql(stmts);
  if (!st.ok()) {
    (void)(*wh)->RunSql("ROLLBACK;");
    return st.WithContext(node_.name + ": building " + cfg.schema + "." + cfg.table);
  }
  return Status::OK();
}

// ----- warehouse sink

WarehouseSink::WarehouseSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) : Operator(n, i, c, k) {}
WarehouseSink::~WarehouseSink() = default;

Status WarehouseSink::Process(size_t, const Batch& batch) {
  counters_.in += static_cast<int64_t>(batch.active_rows());
  batches_.push_back(batch);
  return Status::OK();
}

Status WarehouseSink::Close() { return Commit(); }

Status WarehouseSink::EndEpoch(int64_t) {
  if (batches_.empty()) return Status::OK();  // nothing arrived in this epoch
  return Commit();
}

Status WarehouseSink::Commit() {
  const auto& cfg = node_.Config<WarehouseSinkConfig>();
  auto wh = warehouse::Warehouse::Open(cfg.url);
  if (!wh.ok()) return wh.status().WithContext(node_.name);
  SLUICE_ASSIGN_OR_RETURN(auto mode, warehouse::ParseWriteMode(cfg.mode));
  SLUICE_RETURN_IF_ERROR((*wh)->EnsureTable(cfg.schema, cfg.table, *node_.input_schema, cfg.key, mode).WithContext(node_.name));
  warehouse::CommitBatch commit;
  commit.pipeline = ctx_.plan->StateKey();
  commit.sink = node_.name;
  commit.commit_time_micros = ctx_.run_epoch;  // the run's logical time: SCD2 versions start then
  commit.epoch = ctx_.epoch;
  commit.fence = ctx_.fence;
  commit.offsets = ctx_.streaming ? ctx_.epoch_offsets : "{\"run\":\"" + ctx_.run_id + "\"}";
  warehouse::TableWrite w;
  w.schema = cfg.schema;
  w.table = cfg.table;
  w.mode = mode;
  w.key = cfg.key;
  w.batches = std::move(batches_);
  batches_.clear();
  commit.writes.push_back(std::move(w));
  auto r = (*wh)->Commit(commit);
  if (!r.ok()) return r.status().WithContext(node_.name + ": commit to " + cfg.schema + "." + cfg.table);
  if (r->already_committed) {
    SLUICE_LOG(Info, "warehouse.skip", {"sink", node_.name}, {"epoch", ctx_.epoch}, {"reason", "epoch already committed"});
  }
  counters_.out = counters_.in;
  return Status::OK();
}

}  // namespace sluice::engine
