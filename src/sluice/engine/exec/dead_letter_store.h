// DeadLetterStore: the one owner of a pipeline's dead letters (docs/dead-letters.md): where they
// live, the writer of a batch run or a stream epoch, listing them with filters and keyset
// pagination, reading one by its id, and staging their replay.
//
// Where: found from the pipeline's identity — its state key (Plan::StateKey: the name in the
// namespace `default`, namespace/name otherwise) — and its `dead_letter` settings, in the
// pipeline's workdir (io::Workdir). By default a file per batch run,
// `<workdir>/dead_letters/<state key>/<run>.ndjson`, and per stream epoch, `epoch-<N>.ndjson`
// there; a spec's `dead_letter.path` is the file of every batch run, or the folder of a stream's
// epoch files. On `sluice serve` and `sluice worker` the workdir is the namespace's folder of the
// data root (NamespaceWorkdir), which the server and every remote worker share (they check the
// data root's id, io/workdir.h), so the server's store lists what any worker's run wrote.
// With `dead_letter: {kind: lake}` a run writes its envelopes the same way and the runner then
// appends them to the lake table (CommitDeadLettersToLake); the store does not list those: List,
// Get and StageReplay answer FailedPrecondition naming the table to read.
//
// A dead letter's id is its file's name without `.ndjson` (the run id, or `epoch-<N>`) and its
// 1-based line. Lists are in id order (files by name, then lines) and resume after an id. Files
// appear whole (the writer renames them into place), so a reader never sees half of one.
// Thread-safety: a value type; reading while runs write is safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/base/status.h"
#include "sluice/engine/exec/dead_letters.h"
#include "sluice/engine/plan/plan.h"
#include "sluice/io/workdir.h"

namespace sluice::engine {

// Where one envelope is: its file (run id or epoch-<N>) and 1-based line.
struct DeadLetterId {
  std::string run;
  int64_t line = 0;
  auto operator<=>(const DeadLetterId&) const = default;
  bool operator==(const DeadLetterId&) const = default;
  // "run\nline", the text of a page cursor; Parse reads it back (InvalidArgument otherwise).
  std::string ToString() const;
  static Result<DeadLetterId> Parse(std::string_view text);
};

// Which envelopes: every set field must match.
struct DeadLetterFilter {
  std::optional<std::string> run;          // the run id (or epoch-<N>) of the file
  std::optional<std::string> component;    // the component that rejected the record
  std::optional<std::string> error_class;  // rule_failed, malformed_json, ...
  bool Matches(const DeadLetterId& id, const nlohmann::json& envelope) const;
};

// One envelope as written (docs/dead-letters.md), and where it is.
struct DeadLetter {
  DeadLetterId id;
  nlohmann::json envelope;
};

struct DeadLetterPage {
  std::vector<DeadLetter> items;
  std::optional<DeadLetterId> next;  // resume after this id; nullopt on the last page
};

// What StageReplay did with the matching records.
struct StagedReplay {
  int64_t count = 0;  // the records replayed
  // A stream pipeline: the log topics they were appended to, "log:<topic>" each.
  std::vector<std::string> appended_to;
  // A batch pipeline: the folder holding a file per source (the records that source replays,
  // an empty file for a source with none), and the overrides (`spec.sources.<name>.path=<file>`)
  // of the run that reads only them.
  std::filesystem::path input;
  std::vector<std::string> overrides;
};

class DeadLetterStore {
 public:
  // The dead letters of `plan`'s pipeline in `workdir` (a local run's, or the namespace's folder
  // of the data root on the server and its workers).
  DeadLetterStore(Workdir workdir, const Plan& plan);

  // Writing. The envelope file of a batch run and of a stream epoch.
  std::string BatchRunFile(std::string_view run_id) const;
  std::string EpochFile(int64_t epoch) const;
  // Their writers (nothing is visible until DeadLetterWriter::Commit); `ingest_time_micros` is
  // the envelopes' ingest_time (when the run, or the epoch, started).
  DeadLetterWriter BatchRunWriter(std::string_view run_id, int64_t ingest_time_micros) const;
  DeadLetterWriter EpochWriter(int64_t epoch, int64_t ingest_time_micros) const;

  // Reading. Up to `limit` (> 0) matching envelopes after `after` (from the first when nullopt),
  // with the id to resume after when more may follow. Lines that are not a JSON object are
  // skipped.
  Result<DeadLetterPage> List(const DeadLetterFilter& filter, const std::optional<DeadLetterId>& after,
                              int64_t limit) const;
  // One envelope; NotFound when there is none with that id.
  Result<DeadLetter> Get(const DeadLetterId& id) const;

  // Sends the payloads of the matching envelopes back through `latest` (the pipeline's latest
  // version, whose sources receive them): a stream's are appended to the log topics of the
  // sources they came from; a batch pipeline's are written under
  // <workdir>/replays/<state key>/<replay_id>/, a file per source, for a run with the returned
  // overrides (the caller starts it). NotFound when nothing matches; FailedPrecondition when a
  // record's source is gone from `latest` or is not a JSON files source or a log (or http) source.
  // The envelopes stay: replaying the same filter twice sends the records twice.
  Result<StagedReplay> StageReplay(const Plan& latest, const DeadLetterFilter& filter,
                                   std::string_view replay_id) const;

 private:
  // The envelope files in id order: (run, path). Empty when there are none yet.
  Result<std::vector<std::pair<std::string, std::filesystem::path>>> Files() const;
  // The folder of the stream's epoch files (and, by default, of the batch runs' files).
  std::filesystem::path Folder() const;

  Workdir workdir_;
  std::string pipeline_;
  std::string version_;
  std::string state_key_;
  DeadLetterConfig settings_;
};

}  // namespace sluice::engine
