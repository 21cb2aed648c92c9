#include "sluice/engine/exec/dead_letter_store.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "sluice/engine/plan/node_configs.h"
#include "sluice/io/file_system.h"
#include "sluice/log/log.h"

namespace sluice::engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using EnvelopeFiles = std::vector<std::pair<std::string, fs::path>>;

// Visits the envelopes of `files` from `from` on (every one when nullopt) in id order; `visit`
// returns false to stop. Files of runs before `from` are not opened.
Status VisitEnvelopes(const EnvelopeFiles& files, const std::optional<DeadLetterId>& from,
                      const std::function<bool(const DeadLetterId& id, json& envelope)>& visit) {
  for (const auto& [run, path] : files) {
    if (from && run < from->run) continue;
    std::ifstream in(path);
    if (!in) return Status::IoError("cannot read the dead letters {}", path.string());
    DeadLetterId id{run, 0};
    for (std::string line; std::getline(in, line);) {
      ++id.line;
      if (from && id < *from) continue;
      json envelope = json::parse(line, nullptr, false);
      if (!envelope.is_object()) continue;
      if (!visit(id, envelope)) return Status::OK();
    }
  }
  return Status::OK();
}

}  // namespace

std::string DeadLetterId::ToString() const { return run + "\n" + std::to_string(line); }

Result<DeadLetterId> DeadLetterId::Parse(std::string_view text) {
  const size_t nl = text.find('\n');
  DeadLetterId id;
  if (nl != std::string_view::npos) {
    id.run = std::string(text.substr(0, nl));
    const std::string_view digits = text.substr(nl + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id.line);
    if (ec == std::errc() && end == digits.data() + digits.size() && id.line >= 0) return id;
  }
  return Status::InvalidArgument("not a dead letter's id (run and line)");
}

bool DeadLetterFilter::Matches(const DeadLetterId& id, const json& envelope) const {
  if (run && id.run != *run) return false;
  if (component && envelope.value("component", "") != *component) return false;
  if (error_class && envelope.value("error_class", "") != *error_class) return false;
  return true;
}

DeadLetterStore::DeadLetterStore(Workdir workdir, const Plan& plan)
    : workdir_(std::move(workdir)),
      pipeline_(plan.pipeline),
      version_(plan.version),
      state_key_(plan.StateKey()),
      settings_(plan.dead_letter) {}

fs::path DeadLetterStore::Folder() const {
  return settings_.path.empty() ? workdir_.DeadLetters(state_key_) : fs::path(settings_.path);
}

std::string DeadLetterStore::BatchRunFile(std::string_view run_id) const {
  return settings_.path.empty() ? workdir_.BatchDeadLetterFile(state_key_, run_id).string() : settings_.path;
}

std::string DeadLetterStore::EpochFile(int64_t epoch) const {
  return (Folder() / fmt::format("epoch-{:012d}.ndjson", epoch)).string();
}

DeadLetterWriter DeadLetterStore::BatchRunWriter(std::string_view run_id, int64_t ingest_time_micros) const {
  return DeadLetterWriter(pipeline_, version_, ingest_time_micros, BatchRunFile(run_id));
}

DeadLetterWriter DeadLetterStore::EpochWriter(int64_t epoch, int64_t ingest_time_micros) const {
  return DeadLetterWriter(pipeline_, version_, ingest_time_micros, EpochFile(epoch));
}

Result<EnvelopeFiles> DeadLetterStore::Files() const {
  if (settings_.kind == DeadLetterKind::kLake) {
    return Status::FailedPrecondition(
        "the dead letters of {} go to the lake table {}; read them with `sluice lake read {}`", pipeline_,
        settings_.table, settings_.table);
  }
  EnvelopeFiles files;
  const fs::path where = Folder();
  std::error_code ec;
  if (fs::is_regular_file(where, ec)) {
    files.emplace_back(where.stem().string(), where);
  } else if (fs::is_directory(where, ec)) {
    for (const auto& e : fs::directory_iterator(where, ec)) {
      if (e.path().extension() == ".ndjson") files.emplace_back(e.path().stem().string(), e.path());
    }
    if (ec) return Status::IoError("cannot list the dead letters in {}: {}", where.string(), ec.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<DeadLetterPage> DeadLetterStore::List(const DeadLetterFilter& filter, const std::optional<DeadLetterId>& after,
                                             int64_t limit) const {
  SLUICE_ASSIGN_OR_RETURN(auto files, Files());
  DeadLetterPage page;
  std::optional<DeadLetterId> from;
  if (after) from = DeadLetterId{after->run, after->line + 1};
  SLUICE_RETURN_IF_ERROR(VisitEnvelopes(files, from, [&](const DeadLetterId& id, json& envelope) {
    if (!filter.Matches(id, envelope)) return true;
    page.items.push_back({id, std::move(envelope)});
    if (static_cast<int64_t>(page.items.size()) < limit) return true;
    page.next = id;
    return false;
  }));
  return page;
}

Result<DeadLetter> DeadLetterStore::Get(const DeadLetterId& id) const {
  SLUICE_ASSIGN_OR_RETURN(auto files, Files());
  std::optional<DeadLetter> found;
  SLUICE_RETURN_IF_ERROR(VisitEnvelopes(files, id, [&](const DeadLetterId& at, json& envelope) {
    if (at == id) found = DeadLetter{at, std::move(envelope)};
    return false;
  }));
  if (!found) return Status::NotFound("{} has no dead letter at line {} of run {}", pipeline_, id.line, id.run);
  return std::move(*found);
}

Result<StagedReplay> DeadLetterStore::StageReplay(const Plan& latest, const DeadLetterFilter& filter,
                                                  std::string_view replay_id) const {
  SLUICE_ASSIGN_OR_RETURN(auto files, Files());
  // The payloads, by the source they came from.
  std::map<std::string, std::vector<std::string>> by_source;
  StagedReplay staged;
  SLUICE_RETURN_IF_ERROR(VisitEnvelopes(files, std::nullopt, [&](const DeadLetterId& id, json& envelope) {
    if (!filter.Matches(id, envelope)) return true;
    if (envelope.contains("payload") && envelope["payload"].is_string()) {
      by_source[envelope.value("source", "")].push_back(envelope["payload"].get<std::string>());
      ++staged.count;
    }
    return true;
  }));
  if (staged.count == 0) return Status::NotFound("no dead letters match");

  std::map<std::string, const PlanNode*> sources;
  for (const auto& n : latest.nodes) {
    if (n.role == Role::kSource) sources[n.name] = &n;
  }
  for (const auto& [source, payloads] : by_source) {
    auto it = sources.find(source);
    if (it == sources.end()) {
      return Status::FailedPrecondition("dead letters from source '{}', which the latest version no longer has",
                                        source);
    }
    const auto* files_cfg = it->second->ConfigAs<FilesSourceConfig>();
    const auto* stream_cfg = it->second->ConfigAs<StreamSourceConfig>();
    if (!(files_cfg && files_cfg->format == FileFormat::kJson) &&
        !(stream_cfg && stream_cfg->kind == StreamSourceConfig::Kind::kLog)) {
      return Status::FailedPrecondition(
          "source '{}' is a {} source: replay sends records back through JSON files sources and log (and http) "
          "sources only",
          source, it->second->kind);
    }
  }
  if (latest.mode == PlanMode::kStream) {
    // Back into the topics the stream reads: its next epochs process them again.
    for (const auto& [source, payloads] : by_source) {
      const auto& cfg = sources[source]->Config<StreamSourceConfig>();
      SLUICE_ASSIGN_OR_RETURN(auto lg, log::Log::OpenShared(cfg.log_root, cfg.topic, log::LogOptions{.partitions = 0}));
      std::vector<std::string_view> views(payloads.begin(), payloads.end());
      SLUICE_RETURN_IF_ERROR(lg->Append(0, views).status());
      staged.appended_to.push_back("log:" + cfg.topic);
    }
    return staged;
  }
  // A batch pipeline: a file per source for a run whose sources read the replayed records (and
  // nothing else).
  staged.input = workdir_.Replay(state_key_, replay_id);
  for (const auto& [source, node] : sources) {
    const fs::path file = staged.input / (source + ".ndjson");
    std::string text;
    for (const auto& payload : by_source[source]) text.append(payload).push_back('\n');
    SLUICE_RETURN_IF_ERROR(io::WriteFileAtomic(file.string(), text));
    staged.overrides.push_back("spec.sources." + source + ".path=" + file.string());
  }
  return staged;
}

}  // namespace sluice::engine
