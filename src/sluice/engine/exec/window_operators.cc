// Windowed aggregation and dedup (see window_operators.h).
#include <algorithm>
#include <numeric>

#include "sluice/base/logging.h"
#include "sluice/engine/exec/aggregate_operator.h"
#include "sluice/engine/exec/window_operators.h"
#include "sluice/engine/kernels/dedup_set.h"
#include "sluice/engine/kernels/key_table.h"
#include "sluice/engine/kernels/snapshot_codec.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

namespace {

// A late record's dead-letter message: its event time and the watermark it missed.
std::string LateMessage(int64_t event_time, int64_t watermark, const char* what) {
  return fmt::format("the record's event time {} is behind the watermark {}: its {} has closed",
                     FormatTimestamp(event_time), watermark == INT64_MAX ? "end of input" : FormatTimestamp(watermark),
                     what);
}

constexpr std::string_view kWindowMagic = "SLWA";
constexpr uint8_t kWindowVersion = 1;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// a + b without overflow past the int64 range.
int64_t SatAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

}  // namespace

// ----- windowed aggregate

struct WindowAggregateOperator::State {
  struct Window {
    int64_t end;
    std::unique_ptr<kernels::HashAggregator> agg;
  };
  std::map<int64_t, Window> windows;  // by start (tumble, hop)
  // Sessions: the rows not yet emitted, compacted.
  std::vector<Batch> session_rows;
  // Per batch scratch.
  std::vector<std::pair<int64_t, SelectionVector>> by_window;
};

WindowAggregateOperator::WindowAggregateOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k)
    : Operator(n, i, c, k), state_(std::make_unique<State>()) {}
WindowAggregateOperator::~WindowAggregateOperator() = default;

Status WindowAggregateOperator::Process(size_t, const Batch& batch) {
  const auto& w = node_.Config<AggregateConfig>().window;
  counters_.in += static_cast<int64_t>(batch.active_rows());
  const Column& time = *batch.column(w.time_column);
  if (w.kind == WindowConfig::Kind::kSession) return ProcessSession(batch, time);
  const int64_t* t = time.data<int64_t>();
  const int64_t closed_before = ctx_.watermark;  // a window is closed when end + lateness <= watermark
  const int64_t step = w.kind == WindowConfig::Kind::kHop ? w.slide_us : w.size_us;
  auto& by_window = state_->by_window;
  for (auto& [start, rows] : by_window) rows.clear();
  size_t used = 0;
  auto add = [&](int64_t start, uint32_t row) {
    // Batches usually span one or two windows: a short linear search beats a map.
    for (size_t k = 0; k < used; ++k) {
      if (by_window[k].first == start) {
        by_window[k].second.push_back(row);
        return;
      }
    }
    if (used == by_window.size()) by_window.emplace_back();
    by_window[used].first = start;
    by_window[used].second.assign(1, row);
    ++used;
  };
  Status st;
  batch.ForEachActive([&](uint32_t row) {
    if (time.IsNull(row)) {
      DeadLetter(batch, row, "window", "missing_event_time", "the window column '" + w.time_field + "' is NULL");
      return;
    }
    const int64_t last_start = FloorDiv(t[row], step) * step;  // the latest window containing t
    int64_t first_start = last_start - w.size_us + step;         // the earliest (hop), = last (tumble)
    bool any = false;
    for (int64_t s = first_start; s <= last_start; s += step) {
      if (SatAdd(SatAdd(s, w.size_us), w.allowed_lateness_us) <= closed_before) continue;  // closed
      add(s, row);
      any = true;
    }
    if (!any) {
      ++counters_.late;
      if (w.late_to_dead_letter) {
        DeadLetter(batch, row, "window", "late", LateMessage(t[row], closed_before, "window"));
      } else {
        ++counters_.dropped;
      }
    }
  });
  for (size_t k = 0; k < used; ++k) {
    auto& [start, rows] = by_window[k];
    auto it = state_->windows.find(start);
    if (it == state_->windows.end()) {
      SLUICE_ASSIGN_OR_RETURN(auto agg, MakeAggregator(node_));
      it = state_->windows.emplace(start, State::Window{start + w.size_us, std::move(agg)}).first;
    }
    Batch part = batch;
    part.set_selection(rows);
    SLUICE_RETURN_IF_ERROR(it->second.agg->Consume(part).WithContext(node_.name));
  }
  return Status::OK();
}

Status WindowAggregateOperator::ProcessSession(const Batch& batch, const Column& time) {
  const auto& w = node_.Config<AggregateConfig>().window;
  SelectionVector keep;
  batch.ForEachActive([&](uint32_t row) {
    if (time.IsNull(row)) {
      DeadLetter(batch, row, "window", "missing_event_time", "the window column '" + w.time_field + "' is NULL");
      return;
    }
    // Even a session that this record starts would already be closed.
    if (SatAdd(SatAdd(time.Get<int64_t>(row), w.gap_us), w.allowed_lateness_us) <= ctx_.watermark) {
      ++counters_.late;
      if (w.late_to_dead_letter) {
        DeadLetter(batch, row, "window", "late", LateMessage(time.Get<int64_t>(row), ctx_.watermark, "session"));
      } else {
        ++counters_.dropped;
      }
      return;
    }
    keep.push_back(row);
  });
  if (keep.empty()) return Status::OK();
  Batch part = batch;
  part.set_selection(std::move(keep));
  state_->session_rows.push_back(part.Compact());
  return Status::OK();
}

Status WindowAggregateOperator::Fire(int64_t watermark) {
  const auto& cfg = node_.Config<AggregateConfig>();
  const auto& w = cfg.window;
  const int64_t now = ctx_.run_epoch;
  auto emit_groups = [&](kernels::HashAggregator& agg, int64_t start, int64_t end) -> Status {
    SLUICE_ASSIGN_OR_RETURN(std::vector<Batch> groups, agg.Finish());
    for (const Batch& g : groups) {
      std::vector<ColumnPtr> prefix = {MakeConstantColumn(Value::Timestamp(start), g.num_rows()),
                                       MakeConstantColumn(Value::Timestamp(end), g.num_rows())};
      SLUICE_ASSIGN_OR_RETURN(Batch out, AggregateResult(node_, g, std::move(prefix), now));
      SLUICE_RETURN_IF_ERROR(Emit(0, out));
    }
    return Status::OK();
  };
  if (w.kind != WindowConfig::Kind::kSession) {
    // Windows close in order of their end, which is the order of their start.
    while (!state_->windows.empty()) {
      auto it = state_->windows.begin();
      if (SatAdd(it->second.end, w.allowed_lateness_us) > watermark) break;
      SLUICE_RETURN_IF_ERROR(emit_groups(*it->second.agg, it->first, it->second.end));
      state_->windows.erase(it);
    }
    return Status::OK();
  }

  // Sessions: sort the held rows by (group, time); a run of rows whose gaps are below `gap` is
  // a session [first, last + gap). Closed sessions are aggregated and emitted, the rest held.
  auto& held = state_->session_rows;
  if (held.empty()) return Status::OK();
  const Schema& in = *node_.input_schema;
  std::vector<DataType> key_types;
  for (const auto& g : cfg.group_by) key_types.push_back(expr::ResultType(*g.expr));
  kernels::KeyTable keys(key_types);
  struct Ref {
    uint32_t group;
    int64_t t;
    uint32_t batch, row;
  };
  std::vector<Ref> refs;
  expr::EvalContext ectx;
  ectx.now_micros = now;
  std::vector<uint32_t> rows, ids;
  std::vector<uint64_t> hashes;
  for (uint32_t b = 0; b < held.size(); ++b) {
    const Batch& batch = held[b];
    const size_t n = batch.num_rows();
    std::vector<ColumnPtr> key_cols;
    for (const auto& g : cfg.group_by) {
      if (g.input_column >= 0) {
        key_cols.push_back(batch.column(static_cast<size_t>(g.input_column)));
      } else {
        SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, expr::Evaluate(*g.expr, batch, ectx));
        key_cols.push_back(std::move(c));
      }
    }
    std::vector<const Column*> cols;
    for (const auto& c : key_cols) cols.push_back(c.get());
    rows.resize(n);
    std::iota(rows.begin(), rows.end(), 0u);
    hashes.resize(n);
    ids.resize(n);
    if (cols.empty()) {
      std::fill(ids.begin(), ids.end(), 0u);
    } else {
      kernels::KeyTable::HashRows(cols, rows.data(), n, hashes.data());
      keys.FindOrInsert(cols, rows.data(), hashes.data(), n, ids.data());
    }
    const Column& time = *batch.column(w.time_column);
    for (uint32_t r = 0; r < n; ++r) refs.push_back(Ref{ids[r], time.Get<int64_t>(r), b, r});
  }
  std::stable_sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
    return a.group != b.group ? a.group < b.group : a.t < b.t;
  });
  // Per held row: its session's bounds when the session is closed; rows of open sessions stay.
  std::vector<std::vector<int64_t>> start(held.size()), end(held.size());
  std::vector<SelectionVector> closed(held.size()), open(held.size());
  for (size_t b = 0; b < held.size(); ++b) {
    start[b].assign(held[b].num_rows(), 0);
    end[b].assign(held[b].num_rows(), 0);
  }
  for (size_t i = 0; i < refs.size();) {
    size_t j = i + 1;
    while (j < refs.size() && refs[j].group == refs[i].group && refs[j].t - refs[j - 1].t < w.gap_us) ++j;
    const int64_t s = refs[i].t, e = SatAdd(refs[j - 1].t, w.gap_us);
    const bool is_closed = SatAdd(e, w.allowed_lateness_us) <= watermark;
    for (size_t k = i; k < j; ++k) {
      const Ref& r = refs[k];
      if (is_closed) {
        closed[r.batch].push_back(r.row);
        start[r.batch][r.row] = s;
        end[r.batch][r.row] = e;
      } else {
        open[r.batch].push_back(r.row);
      }
    }
    i = j;
  }
  // One aggregator keyed on (window_start, window_end, group-by...) over the held rows with the
  // session bounds appended as two columns.
  std::vector<Field> fields = in.fields();
  fields.push_back(Field{"window_start", DataType::Timestamp(), true});
  fields.push_back(Field{"window_end", DataType::Timestamp(), true});
  auto ext_schema = std::make_shared<Schema>(std::move(fields));
  std::vector<kernels::GroupKey> gk = {kernels::GroupKey::Column(in.size()), kernels::GroupKey::Column(in.size() + 1)};
  for (auto& k : GroupKeys(cfg)) gk.push_back(std::move(k));
  SLUICE_ASSIGN_OR_RETURN(auto agg, kernels::HashAggregator::Make(ext_schema, std::move(gk), cfg.calls));
  std::vector<Batch> still_open;
  for (size_t b = 0; b < held.size(); ++b) {
    if (!closed[b].empty()) {
      std::sort(closed[b].begin(), closed[b].end());
      std::vector<ColumnPtr> cols = held[b].columns();
      for (auto* v : {&start[b], &end[b]}) {
        auto c = std::make_shared<Column>(DataType::Timestamp());
        for (int64_t x : *v) c->Append<int64_t>(x);
        cols.push_back(std::move(c));
      }
      Batch ext(ext_schema, std::move(cols), held[b].num_rows());
      ext.set_selection(closed[b]);
      SLUICE_RETURN_IF_ERROR(agg->Consume(ext).WithContext(node_.name));
    }
    if (!open[b].empty()) {
      std::sort(open[b].begin(), open[b].end());
      Batch rest = held[b];
      rest.set_selection(open[b]);
      still_open.push_back(rest.Compact());
    }
  }
  held.swap(still_open);
  SLUICE_ASSIGN_OR_RETURN(std::vector<Batch> groups, agg->Finish());
  for (const Batch& g : groups) {
    std::vector<ColumnPtr> prefix = {g.column(0), g.column(1)};
    std::vector<Field> gf(g.schema()->fields().begin() + 2, g.schema()->fields().end());
    std::vector<ColumnPtr> gc(g.columns().begin() + 2, g.columns().end());
    Batch rest(std::make_shared<Schema>(std::move(gf)), std::move(gc), g.num_rows());
    SLUICE_ASSIGN_OR_RETURN(Batch out, AggregateResult(node_, rest, std::move(prefix), now));
    SLUICE_RETURN_IF_ERROR(Emit(0, out));
  }
  return Status::OK();
}

Status WindowAggregateOperator::EndEpoch(int64_t watermark) { return Fire(watermark); }

Status WindowAggregateOperator::Close() { return Fire(INT64_MAX); }

Status WindowAggregateOperator::SaveState(std::string& out) {
  kernels::SnapshotWriter w(out, kWindowMagic, kWindowVersion);
  w.PutU64(state_->windows.size());
  std::string blob;
  for (const auto& [start, win] : state_->windows) {
    w.PutI64(start);
    w.PutI64(win.end);
    blob.clear();
    win.agg->SaveState(blob);
    w.PutBytes(blob);
  }
  // Held session rows, column by column.
  w.PutU64(state_->session_rows.size());
  for (const Batch& b : state_->session_rows) {
    w.PutU64(b.num_rows());
    for (const auto& c : b.columns()) w.PutColumn(*c, b.num_rows());
  }
  w.Finish();
  return Status::OK();
}

Status WindowAggregateOperator::LoadState(std::string_view in) {
  SLUICE_ASSIGN_OR_RETURN(kernels::SnapshotReader r, kernels::OpenSnapshot(in, kWindowMagic, kWindowVersion, node_.name + ": window state"));
  state_->windows.clear();
  state_->session_rows.clear();
  SLUICE_ASSIGN_OR_RETURN(size_t n, r.ReadCount(20, "windows"));
  for (size_t i = 0; i < n; ++i) {
    SLUICE_ASSIGN_OR_RETURN(int64_t start, r.ReadI64());
    SLUICE_ASSIGN_OR_RETURN(int64_t end, r.ReadI64());
    SLUICE_ASSIGN_OR_RETURN(std::string_view blob, r.ReadBytes());
    SLUICE_ASSIGN_OR_RETURN(auto agg, MakeAggregator(node_));
    SLUICE_RETURN_IF_ERROR(agg->LoadState(blob).WithContext(node_.name));
    state_->windows.emplace(start, State::Window{end, std::move(agg)});
  }
  SLUICE_ASSIGN_OR_RETURN(size_t batches, r.ReadCount(8, "session batches"));
  for (size_t i = 0; i < batches; ++i) {
    SLUICE_ASSIGN_OR_RETURN(uint64_t rows, r.ReadU64());
    std::vector<ColumnPtr> cols;
    for (const auto& f : node_.input_schema->fields()) {
      SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, r.ReadColumn(f.type, rows));
      cols.push_back(std::move(c));
    }
    state_->session_rows.emplace_back(node_.input_schema, std::move(cols), rows);
  }
  return r.ExpectEnd();
}

// ----- dedup

struct DedupOperator::State {
  std::unique_ptr<kernels::DedupSet> set;
  std::vector<uint32_t> rows;
  std::vector<int64_t> times;
  std::vector<uint8_t> first;
};

DedupOperator::DedupOperator(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k)
    : Operator(n, i, c, k), state_(std::make_unique<State>()) {
  const auto& cfg = node_.Config<DedupConfig>();
  std::vector<DataType> types;
  for (size_t col : cfg.key) types.push_back(node_.input_schema->field(col).type);
  state_->set = std::make_unique<kernels::DedupSet>(std::move(types));
}
DedupOperator::~DedupOperator() = default;

Status DedupOperator::Process(size_t, const Batch& batch) {
  const auto& cfg = node_.Config<DedupConfig>();
  auto& s = *state_;
  s.rows = batch.ActiveSelection();
  const size_t n = s.rows.size();
  counters_.in += static_cast<int64_t>(n);
  s.times.resize(n);
  if (cfg.time_column >= 0) {
    const Column& t = *batch.column(static_cast<size_t>(cfg.time_column));
    // A record without a time keeps its key for the life of the pipeline.
    for (size_t k = 0; k < n; ++k) s.times[k] = t.IsNull(s.rows[k]) ? INT64_MAX : t.Get<int64_t>(s.rows[k]);
  } else {
    std::fill(s.times.begin(), s.times.end(), ctx_.run_epoch);
  }
  std::vector<const Column*> cols;
  for (size_t c : cfg.key) cols.push_back(batch.column(c).get());
  s.first.resize(n);
  s.set->Check(cols, s.rows.data(), n, s.times.data(), s.first.data());
  SelectionVector keep;
  keep.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    if (s.first[k]) keep.push_back(s.rows[k]);
  }
  counters_.dropped += static_cast<int64_t>(n - keep.size());
  if (keep.size() == batch.num_rows()) return Emit(0, batch);
  Batch out = batch;
  out.set_selection(std::move(keep));
  return Emit(0, out);
}

Status DedupOperator::EndEpoch(int64_t watermark) {
  const auto& cfg = node_.Config<DedupConfig>();
  if (cfg.within_us <= 0) return Status::OK();
  // Keys expire `within` after their first record, in event time (the watermark) or in the
  // epochs' processing time.
  const int64_t clock = cfg.time_column >= 0 ? watermark : ctx_.run_epoch;
  if (clock == INT64_MIN || clock == INT64_MAX) return Status::OK();
  state_->set->Expire(clock - cfg.within_us);
  return Status::OK();
}

Status DedupOperator::SaveState(std::string& out) {
  state_->set->Save(out);
  return Status::OK();
}

Status DedupOperator::LoadState(std::string_view in) { return state_->set->Load(in).WithContext(node_.name); }

}  // namespace sluice::engine
