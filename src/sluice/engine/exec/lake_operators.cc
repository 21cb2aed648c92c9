// `lake` sink and source: Delta tables of Parquet files (see lake/delta_table.h).
#include "sluice/engine/exec/lake_operators.h"

#include <algorithm>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/engine/exec/background_writer.h"
#include "sluice/formats/json/json.h"
#include "sluice/io/file_system.h"
#include "sluice/lake/delta_table.h"

namespace sluice::engine {
namespace {

parquet::Compression ToParquet(ParquetCompression c) {
  switch (c) {
    case ParquetCompression::kSnappy: return parquet::Compression::kSnappy;
    case ParquetCompression::kUncompressed: return parquet::Compression::kUncompressed;
    case ParquetCompression::kZstd: break;
  }
  return parquet::Compression::kZstd;
}

}  // namespace

SchemaPtr Nullable(const Schema& s) {
  std::vector<Field> fields = s.fields();
  for (auto& f : fields) f.required = false;
  return std::make_shared<Schema>(std::move(fields));
}

bool SameColumns(const Schema& a, const Schema& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.field(i).name != b.field(i).name || !(a.field(i).type == b.field(i).type)) return false;
  }
  return true;
}

parquet::WriterOptions ParquetOptionsFor(ParquetCompression c) {
  parquet::WriterOptions o;
  o.compression = ToParquet(c);
  return o;
}

struct LakeSink::State {
  bool already_committed = false;  // this run's epoch is in the table already (a rerun)
  std::shared_ptr<lake::DeltaTable> table;
  std::unique_ptr<lake::TableWriter> writer;
  // Data files are encoded on their own thread, which uses `writer`: declared after it, so it is
  // stopped first when a failed run destroys the sink before its commit.
  std::unique_ptr<BackgroundWriter> background;
  SchemaPtr table_schema;
  std::vector<int> partition_input_index;  // per partition column: input column it reuses, or -1
};

LakeSink::LakeSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) : Operator(n, i, c, k) {}
LakeSink::~LakeSink() = default;

lake::EpochWriter LakeSink::Writer() const {
  lake::EpochWriter w{ctx_.plan->StateKey() + "." + node_.name, ctx_.streaming, {}};
  // The appId of tables written before state keys held the namespace: `sluice run` on such a
  // table still sees its epochs. A namespace's confined run (the server, a worker) writes its own
  // folder's tables: only its state key counts there.
  const std::string former = ctx_.plan->pipeline + "." + node_.name;
  if (!ctx_.plan->data_roots.confined() && former != w.app_id) w.former_app_ids.push_back(former);
  w.fence = ctx_.fence;
  return w;
}

Status LakeSink::Open() {
  const auto& cfg = node_.Config<LakeSinkConfig>();
  state_ = std::make_unique<State>();
  // `required` on an edge is a declared constraint that `validate` enforces, not a guarantee
  // (a bronze table takes records before validation), so lake columns are nullable.
  std::vector<Field> fields = Nullable(*node_.input_schema)->fields();
  std::vector<std::string> partition_columns;
  for (const auto& [name, e] : cfg.partition_by) {
    partition_columns.push_back(name);
    auto existing = node_.input_schema->IndexOf(name);
    state_->partition_input_index.push_back(existing ? static_cast<int>(*existing) : -1);
    if (!existing) fields.push_back(Field{name, expr::ResultType(*e), false});
  }
  state_->table_schema = std::make_shared<Schema>(std::move(fields));
  SLUICE_RETURN_IF_ERROR(ctx_.plan->data_roots.Check(cfg.table_dir));
  SLUICE_ASSIGN_OR_RETURN(state_->table, lake::DeltaTable::OpenOrCreate(cfg.table_dir, state_->table_schema,
                                                                          partition_columns, ctx_.clock));
  // Exactly once per epoch (lake/epochs.h): a run whose epoch the table holds already writes
  // nothing; its records are in the table from the first run.
  SLUICE_ASSIGN_OR_RETURN(state_->already_committed, state_->table->HasEpoch(Writer(), ctx_.epoch));
  lake::TableWriterOptions wo;
  wo.target_file_bytes = cfg.target_file_bytes;
  wo.parquet = ParquetOptionsFor(cfg.compression);
  state_->writer = std::make_unique<lake::TableWriter>(state_->table, wo);
  lake::TableWriter* w = state_->writer.get();
  state_->background = std::make_unique<BackgroundWriter>([w](const Batch& b) { return w->Write(b); });
  return Status::OK();
}

Status LakeSink::Process(size_t, const Batch& batch) {
  if (!state_) SLUICE_RETURN_IF_ERROR(Open().WithContext(node_.name));
  const auto& cfg = node_.Config<LakeSinkConfig>();
  counters_.in += static_cast<int64_t>(batch.active_rows());
  if (state_->already_committed) {
    counters_.out += static_cast<int64_t>(batch.active_rows());
    return Status::OK();
  }
  std::vector<ColumnPtr> cols = batch.columns();
  SelectionVector sel = batch.ActiveSelection();
  expr::EvalContext ectx;
  ectx.now_micros = ctx_.run_epoch;
  ectx.pii = ctx_.pii;
  for (size_t k = 0; k < cfg.partition_by.size(); ++k) {
    if (state_->partition_input_index[k] >= 0) continue;
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, expr::Evaluate(*cfg.partition_by[k].second, batch, ectx));
    cols.push_back(std::move(c));
  }
  if (!ectx.errors.empty()) {
    std::vector<uint32_t> bad;
    for (const auto& e : ectx.errors) {
      if (!bad.empty() && bad.back() == e.row) continue;
      DeadLetter(batch, e.row, "partition_by", "expression_error", e.message);
      bad.push_back(e.row);
    }
    std::sort(bad.begin(), bad.end());
    bad.erase(std::unique(bad.begin(), bad.end()), bad.end());
    SelectionVector kept;
    std::set_difference(sel.begin(), sel.end(), bad.begin(), bad.end(), std::back_inserter(kept));
    sel.swap(kept);
  }
  Batch out = batch.WithColumns(state_->table_schema, std::move(cols));
  out.set_selection(sel);
  SLUICE_RETURN_IF_ERROR(state_->background->Submit(std::move(out)).WithContext(node_.name));
  counters_.out += static_cast<int64_t>(sel.size());
  return Status::OK();
}

Status LakeSink::Close() {
  if (!state_) SLUICE_RETURN_IF_ERROR(Open().WithContext(node_.name));  // an empty run still creates the table
  return Commit();
}

Status LakeSink::EndEpoch(int64_t) {
  if (!state_) return Status::OK();  // nothing arrived in this epoch
  SLUICE_RETURN_IF_ERROR(Commit());
  state_.reset();
  return Status::OK();
}

Status LakeSink::Commit() {
  const auto& cfg = node_.Config<LakeSinkConfig>();
  SLUICE_RETURN_IF_ERROR(state_->background->Finish().WithContext(node_.name));
  SLUICE_ASSIGN_OR_RETURN(auto adds, state_->writer->Finish());
  if (state_->already_committed) {
    SLUICE_LOG(Info, "lake.skip", {"sink", node_.name}, {"table", cfg.table}, {"epoch", ctx_.epoch},
               {"reason", "epoch already committed"});
    return Status::OK();
  }
  lake::CommitRequest req;
  req.adds = std::move(adds);
  req.operation = ctx_.streaming ? "STREAMING UPDATE" : "WRITE";
  req.operation_parameters = {{"mode", "Append"},
                              {"pipeline", ctx_.plan->pipeline},
                              {"pipeline_version", ctx_.plan->version},
                              {"sink", node_.name},
                              {"table", cfg.table}};
  if (ctx_.streaming) req.operation_parameters.emplace("epochId", std::to_string(ctx_.epoch));
  auto done = state_->table->CommitEpoch(req, Writer(), ctx_.epoch);
  if (!done.ok()) return done.status().WithContext(node_.name + ": commit to " + cfg.table);
  if (done->already_committed) {
    // Another run of this epoch committed it after this one started: its files stay unreferenced
    // (vacuum removes them).
    SLUICE_LOG(Info, "lake.skip", {"sink", node_.name}, {"table", cfg.table}, {"epoch", ctx_.epoch},
               {"reason", "epoch committed concurrently"});
    return Status::OK();
  }
  committed_version_ = done->version;
  return Status::OK();
}

Status ReadParquetFile(const std::string& file, const SchemaPtr& schema, const std::string& source,
                       const std::function<Status(Batch)>& emit) {
  SLUICE_ASSIGN_OR_RETURN(auto reader, parquet::Reader::Open(file));
  const Schema& have = *reader->info().schema;
  parquet::ReadOptions ro;
  for (const auto& f : schema->fields()) {
    auto i = have.IndexOf(f.name);
    if (!i) {
      return Status::InvalidArgument("{}: column '{}' of the schema is not in the file{}; the file has: {}", file,
                                     f.name, DidYouMeanSuffix(f.name, have.names()), Join(have.names(), ", "));
    }
    if (!(have.field(*i).type == f.type)) {
      return Status::InvalidArgument("{}: column '{}' is {} in the file but {} in the schema", file, f.name,
                                     have.field(*i).type.ToString(), f.type.ToString());
    }
    ro.columns.push_back(f.name);
  }
  auto origin = std::make_shared<BatchOrigin>(BatchOrigin{source, file});
  int64_t row = 0;
  return reader->Read(ro, [&](Batch b) -> Status {
    Batch typed = b.WithColumns(schema, b.columns());
    typed.set_origin(origin);
    auto offsets = std::make_shared<std::vector<int64_t>>(typed.num_rows());
    for (auto& o : *offsets) o = row++;  // the row number within the file
    typed.set_row_offsets(std::move(offsets));
    return emit(std::move(typed));
  });
}

Result<int64_t> CommitDeadLettersToLake(const Plan& plan, const std::string& ndjson_path, int64_t epoch, bool streaming,
                                        int64_t fence, const Clock* clock) {
  const auto& dl = plan.dead_letter;
  SchemaPtr schema = Nullable(*DeadLetterSchema());
  SLUICE_RETURN_IF_ERROR(plan.data_roots.Check(dl.table_dir));
  SLUICE_ASSIGN_OR_RETURN(auto table, lake::DeltaTable::OpenOrCreate(dl.table_dir, schema, {}, clock));
  const lake::EpochWriter dead_letters{plan.StateKey() + ".dead_letter", streaming, {}, fence};
  SLUICE_ASSIGN_OR_RETURN(bool held, table->HasEpoch(dead_letters, epoch));
  if (held) {  // this run's dead letters are there already
    SLUICE_ASSIGN_OR_RETURN(auto snapshot, table->GetSnapshot());
    return snapshot.version;
  }
  lake::TableWriter writer(table);
  SLUICE_ASSIGN_OR_RETURN(auto buffer, io::ReadFile(ndjson_path, formats::kInputPadding));
  formats::DecodeOptions opts;
  formats::JsonDecoder decoder(schema, opts);
  std::vector<formats::DecodeError> errors;
  SLUICE_RETURN_IF_ERROR(decoder.Decode(buffer.view(), 1, [&](Batch b) { return writer.Write(b); }, errors));
  if (!errors.empty()) {
    return Status::Internal("{}: dead-letter envelope line {} does not decode: {}", ndjson_path, errors[0].line,
                            errors[0].message);
  }
  SLUICE_ASSIGN_OR_RETURN(auto adds, writer.Finish());
  lake::CommitRequest req;
  req.adds = std::move(adds);
  req.operation = "WRITE";
  req.operation_parameters = {{"mode", "Append"}, {"pipeline", plan.pipeline}, {"content", "dead letters"}};
  SLUICE_ASSIGN_OR_RETURN(auto done, table->CommitEpoch(req, dead_letters, epoch));
  return done.version;  // already_committed: this run's dead letters are there already
}

Status LakeSource::Run() {
  const auto& cfg = node_.Config<LakeSourceConfig>();
  SLUICE_RETURN_IF_ERROR(ctx_.plan->ReadRoots().Check(cfg.table_dir));
  SLUICE_ASSIGN_OR_RETURN(auto table, lake::DeltaTable::Open(cfg.table_dir, ctx_.clock));
  lake::ScanOptions so;
  so.version = cfg.version;
  so.since_version = cfg.since_version;
  so.columns = node_.outputs[0].schema->names();
  auto origin = std::make_shared<BatchOrigin>(BatchOrigin{node_.name, cfg.table});
  const SchemaPtr& schema = node_.outputs[0].schema;
  Status st = lake::Scan(*table, so, [&](Batch b) -> Status {
    if (!SameColumns(*b.schema(), *schema)) {
      return Status::InvalidArgument("{}: table {} has columns ({}), but the source declares ({})", node_.name,
                                     cfg.table, b.schema()->ToString(), schema->ToString());
    }
    Batch typed = b.WithColumns(schema, b.columns());
    typed.set_origin(origin);
    counters_.in += static_cast<int64_t>(typed.active_rows());
    return Emit(0, typed);
  });
  return st.WithContext(node_.name);
}

}  // namespace sluice::engine
