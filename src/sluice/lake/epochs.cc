#include "sluice/lake/epochs.h"

#include <algorithm>

#include "sluice/types/temporal.h"

namespace sluice::lake {
namespace {

std::string EpochAppId(const std::string& app_id, int64_t epoch) { return app_id + "@" + FormatTimestamp(epoch); }

// The writer's appId and its former names.
std::vector<const std::string*> Names(const EpochWriter& writer) {
  std::vector<const std::string*> names{&writer.app_id};
  for (const auto& f : writer.former_app_ids) names.push_back(&f);
  return names;
}

}  // namespace

std::pair<std::string, int64_t> EpochTxn(const EpochWriter& writer, int64_t epoch) {
  if (writer.ordered) return {writer.app_id, epoch};
  return {EpochAppId(writer.app_id, epoch), epoch};
}

std::optional<std::pair<std::string, int64_t>> FenceTxn(const EpochWriter& writer) {
  if (writer.fence <= 0) return std::nullopt;
  return std::make_pair(writer.app_id + "#fence", writer.fence);
}

std::optional<int64_t> NewerFence(const std::map<std::string, int64_t>& app_versions, const EpochWriter& writer) {
  if (writer.fence <= 0) return std::nullopt;
  auto it = app_versions.find(writer.app_id + "#fence");
  if (it == app_versions.end() || it->second <= writer.fence) return std::nullopt;
  return it->second;
}

EpochState FindEpoch(const std::map<std::string, int64_t>& app_versions, const EpochWriter& writer, int64_t epoch) {
  bool ask_history = false;
  for (const std::string* name : Names(writer)) {
    auto last = app_versions.find(*name);
    if (writer.ordered) {
      if (last != app_versions.end() && last->second >= epoch) return EpochState::kCommitted;
      continue;
    }
    if (app_versions.count(EpochAppId(*name, epoch))) return EpochState::kCommitted;
    if (last == app_versions.end()) continue;
    if (last->second == epoch) return EpochState::kCommitted;
    ask_history = ask_history || last->second > epoch;
  }
  return ask_history ? EpochState::kAskHistory : EpochState::kNotCommitted;
}

bool EpochInHistory(const std::vector<std::pair<std::string, int64_t>>& txns, const EpochWriter& writer,
                    int64_t epoch) {
  const auto names = Names(writer);
  return std::any_of(txns.begin(), txns.end(), [&](const auto& t) {
    return t.second == epoch &&
           std::any_of(names.begin(), names.end(), [&](const std::string* n) { return *n == t.first; });
  });
}

}  // namespace sluice::lake
