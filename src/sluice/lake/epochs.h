// Exactly-once epochs of a lake table writer (a pipeline's sink, or its dead-letter table):
// which epochs it has committed, recorded as Delta `txn` actions in the same commit as the
// epoch's data, so the record and the data land together or not at all. A commit for an epoch
// the table records writes nothing; any other epoch writes, whatever its order.
//
// Two kinds of epochs:
//   - ordered: a stream's epochs 1, 2, 3, ... (each follows the last one committed). One txn,
//     appId = the writer, version = the epoch, as the Delta protocol intends txn (a version
//     that only grows per appId): epoch e is committed iff that version >= e.
//   - by identity: a batch run's epoch is its logical time (µs since 1970). Backfills and
//     reruns come in any order, so every epoch has its own txn, appId "<writer>@<time>"
//     (time as FormatTimestamp writes it, e.g. orders.lake@2026-06-01T00:00:00Z), version =
//     the epoch: epoch e is committed iff that appId is in the table.
// Tables written before epochs had their own appIds hold one txn (appId = the writer, version =
// its last epoch, older ones skipped). For a batch epoch that txn counts when its version is
// the epoch; for an older epoch the txns of the log's history tell (FindEpoch says kAskHistory).
//
// Fencing: a writer with a fence (its run's lease generation, > 0) records it in each commit as
// one more txn, appId "<writer>#fence", version = the generation (it only grows, as Delta wants).
// A commit whose fence is older than the one the table records is refused, on the exact version
// it would be built on: a worker that lost its lease cannot commit once the worker that took its
// run over has committed.
//
// DeltaTable::CommitEpoch checks again on the version the commit is built on, so of two runs
// of one epoch at most one lands (the other writes nothing, or is aborted by the conflict check
// when both race for the same log version).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::lake {

struct EpochWriter {
  std::string app_id;    // "<pipeline state key>.<sink>"
  bool ordered = false;  // stream epochs; false: batch logical times
  // Names the writer had in tables written before (their records count; never written).
  std::vector<std::string> former_app_ids;
  int64_t fence = 0;  // the run's lease generation; 0: not fenced (a local run)
};

// The txn action (appId, version) that records `epoch` of `writer`.
std::pair<std::string, int64_t> EpochTxn(const EpochWriter& writer, int64_t epoch);

enum class EpochState {
  kCommitted,
  kNotCommitted,
  // A batch epoch older than a txn of the earlier scheme: the log's history decides (EpochInHistory).
  kAskHistory,
};
// The txn action that records the writer's fence (nullopt without one).
std::optional<std::pair<std::string, int64_t>> FenceTxn(const EpochWriter& writer);
// The generation recorded in the table that is newer than the writer's fence, if any.
std::optional<int64_t> NewerFence(const std::map<std::string, int64_t>& app_versions, const EpochWriter& writer);

// What a table's txns (Snapshot::app_versions: appId -> latest version) say of `epoch`.
EpochState FindEpoch(const std::map<std::string, int64_t>& app_versions, const EpochWriter& writer, int64_t epoch);

// Whether one of the txn actions of the log's history (every commit's, any order) recorded
// `epoch` under the earlier scheme (appId = the writer or a former name, version = the epoch).
bool EpochInHistory(const std::vector<std::pair<std::string, int64_t>>& txns, const EpochWriter& writer, int64_t epoch);

}  // namespace sluice::lake
