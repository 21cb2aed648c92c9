// validate, map and route: the batch transforms. Each works on selection vectors — rows that
// leave a transform are removed from the selection, never copied.
#include <algorithm>

#include "sluice/engine/exec/row_operators.h"

namespace sluice::engine {
namespace {

Batch WithSelection(const Batch& b, SelectionVector sel) {
  Batch out = b;
  out.set_selection(std::move(sel));
  return out;
}

// Removes `rows` (ascending, unique) from `sel` (ascending).
void RemoveRows(SelectionVector& sel, const std::vector<uint32_t>& rows) {
  if (rows.empty()) return;
  SelectionVector kept;
  kept.reserve(sel.size());
  std::set_difference(sel.begin(), sel.end(), rows.begin(), rows.end(), std::back_inserter(kept));
  sel.swap(kept);
}

std::string Where(const Batch& b, uint32_t row) {
  std::string w;
  if (b.origin()) w = b.origin()->location;
  int64_t off = b.RowOffset(row);
  if (off >= 0) w += (w.empty() ? "offset " : ":") + std::to_string(off);
  return w.empty() ? "unknown position" : w;
}

// Dead-letters rows with evaluation errors and returns their (sorted, unique) row numbers.
std::vector<uint32_t> CollectErrorRows(const std::vector<expr::RowError>& errors) {
  std::vector<uint32_t> rows;
  rows.reserve(errors.size());
  for (const auto& e : errors) rows.push_back(e.row);
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

}  // namespace

Status ValidateOperator::Process(size_t, const Batch& batch) {
  const auto& cfg = node_.Config<ValidateConfig>();
  counters_.in += static_cast<int64_t>(batch.active_rows());
  SelectionVector sel = batch.ActiveSelection();
  std::vector<uint32_t> rejected;

  for (size_t k = 0; k < cfg.required_index.size(); ++k) {
    const Column& col = *batch.column(cfg.required_index[k]);
    if (!col.has_nulls()) continue;
    rejected.clear();
    for (uint32_t r : sel) {
      if (col.IsNull(r)) {
        rejected.push_back(r);
        DeadLetter(batch, r, "required:" + cfg.required[k], "missing_required",
                   "required field '" + cfg.required[k] + "' is missing or null");
      }
    }
    RemoveRows(sel, rejected);
  }

  for (const auto& rule : cfg.rules) {
    if (sel.empty()) break;
    Batch view = WithSelection(batch, sel);
    expr::EvalContext ectx;
    ectx.now_micros = ctx_.run_epoch;
    ectx.pii = ctx_.pii;
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr result, expr::Evaluate(*rule.predicate, view, ectx));
    std::vector<uint32_t> error_rows = CollectErrorRows(ectx.errors);
    for (const auto& e : ectx.errors) {
      DeadLetter(batch, e.row, rule.name, "expression_error", e.message);
    }
    RemoveRows(sel, error_rows);
    // SQL CHECK semantics: a rule fails only where it is FALSE; NULL (unknown) passes.
    rejected.clear();
    const uint8_t* v = result->data<uint8_t>();
    for (uint32_t r : sel) {
      if (result->IsValid(r) && v[r] == 0) rejected.push_back(r);
    }
    if (rejected.empty()) continue;
    switch (rule.on_fail) {
      case OnFail::kWarn:
        counters_.warnings += static_cast<int64_t>(rejected.size());
        continue;  // the records pass
      case OnFail::kDrop:
        counters_.dropped += static_cast<int64_t>(rejected.size());
        break;
      case OnFail::kDeadLetter:
        for (uint32_t r : rejected) {
          DeadLetter(batch, r, rule.name, "rule_failed",
                     "rule '" + rule.name + "' failed: " + rule.check);
        }
        break;
      case OnFail::kFail:
        return Status::FailedPrecondition(
            "{}: rule '{}' failed at {} (on_fail: fail stops the run): {}", node_.name, rule.name,
            Where(batch, rejected[0]), rule.check);
    }
    RemoveRows(sel, rejected);
  }
  return Emit(0, WithSelection(batch, std::move(sel)));
}

Status MapOperator::Process(size_t, const Batch& batch) {
  const auto& cfg = node_.Config<MapConfig>();
  const int64_t in = static_cast<int64_t>(batch.active_rows());
  counters_.in += in;
  expr::EvalContext ectx;
  ectx.now_micros = ctx_.run_epoch;
  ectx.pii = ctx_.pii;
  SelectionVector sel;
  if (cfg.filter) {
    SLUICE_ASSIGN_OR_RETURN(sel, expr::EvaluateFilter(*cfg.filter, batch, ectx));
    std::vector<uint32_t> error_rows = CollectErrorRows(ectx.errors);
    for (const auto& e : ectx.errors) DeadLetter(batch, e.row, "filter", "expression_error", e.message);
    RemoveRows(sel, error_rows);
    counters_.dropped += in - static_cast<int64_t>(sel.size()) - static_cast<int64_t>(error_rows.size());
    ectx.errors.clear();
  } else {
    sel = batch.ActiveSelection();
  }
  if (cfg.select.empty()) return Emit(0, WithSelection(batch, std::move(sel)));

  Batch view = WithSelection(batch, sel);
  std::vector<ColumnPtr> cols;
  cols.reserve(cfg.select.size());
  for (const auto& [name, e] : cfg.select) {
    size_t before = ectx.errors.size();
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr c, expr::Evaluate(*e, view, ectx));
    for (size_t k = before; k < ectx.errors.size(); ++k) {
      ectx.errors[k].message = "select '" + name + "': " + ectx.errors[k].message;
    }
    cols.push_back(std::move(c));
  }
  if (!ectx.errors.empty()) {
    std::vector<uint32_t> error_rows = CollectErrorRows(ectx.errors);
    uint32_t last = UINT32_MAX;
    for (const auto& e : ectx.errors) {
      if (e.row == last) continue;  // one dead letter per record
      DeadLetter(batch, e.row, "select", "expression_error", e.message);
      last = e.row;
    }
    RemoveRows(sel, error_rows);
  }
  Batch out = batch.WithColumns(node_.outputs[0].schema, std::move(cols));
  out.set_selection(std::move(sel));
  return Emit(0, out);
}

Status RouteOperator::Process(size_t, const Batch& batch) {
  const auto& cfg = node_.Config<RouteConfig>();
  counters_.in += static_cast<int64_t>(batch.active_rows());
  SelectionVector remaining = batch.ActiveSelection();
  expr::EvalContext ectx;
  ectx.now_micros = ctx_.run_epoch;
  ectx.pii = ctx_.pii;
  for (size_t i = 0; i < cfg.routes.size() && !remaining.empty(); ++i) {
    Batch view = WithSelection(batch, remaining);
    ectx.errors.clear();
    SLUICE_ASSIGN_OR_RETURN(SelectionVector matched, expr::EvaluateFilter(*cfg.routes[i].second, view, ectx));
    std::vector<uint32_t> error_rows = CollectErrorRows(ectx.errors);
    for (const auto& e : ectx.errors) {
      DeadLetter(batch, e.row, cfg.routes[i].first, "expression_error", e.message);
    }
    RemoveRows(remaining, error_rows);
    RemoveRows(remaining, matched);
    if (ctx_.plan->ConsumersOf(index_, cfg.routes[i].first).empty()) {
      counters_.dropped += static_cast<int64_t>(matched.size());
    } else {
      SLUICE_RETURN_IF_ERROR(Emit(i, WithSelection(batch, std::move(matched))));
    }
  }
  if (ctx_.plan->ConsumersOf(index_, "_default").empty()) {
    counters_.dropped += static_cast<int64_t>(remaining.size());
    return Status::OK();
  }
  return Emit(cfg.routes.size(), WithSelection(batch, std::move(remaining)));
}

}  // namespace sluice::engine
