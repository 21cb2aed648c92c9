// Workdir: the layout of a workdir (`--workdir`, default .sluice), the one place that says what
// lives where in it. Paths are spelt as they always were: the root joined with std::filesystem's
// `/`, except the metadata database, the secret key and a batch run's dead-letter file, which are
// joined as text (`<root>/meta.db`), so a root given with a trailing '/' keeps both slashes there.
// Thread-safety: a value type.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/base/status.h"

namespace sluice {

class Workdir {
 public:
  explicit Workdir(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  // The lake: a folder per layer, a Delta table per <layer>/<table> (unless --lake-root moves it).
  std::filesystem::path Lake() const;
  // The embedded log: a folder per topic.
  std::filesystem::path Log() const;
  // The default warehouse, a SQLite database file.
  std::filesystem::path WarehouseDb() const;
  // "sqlite:<workdir>/warehouse.db": the warehouse when none is configured.
  std::string DefaultWarehouseUrl() const;
  // The control plane's metadata database, a SQLite file.
  std::filesystem::path MetadataDb() const;
  // "sqlite:<workdir>/meta.db": the metadata database when none is configured.
  std::string DefaultMetadataUrl() const;
  // The secret key (mode 0600) that seals secrets and keys access tokens and the audit chain.
  std::filesystem::path SecretKeyFile() const;
  // A stream pipeline's checkpoints: offsets/ and state/ of each epoch.
  std::filesystem::path Checkpoints(std::string_view pipeline) const;
  // The `pipeline` argument of the per-pipeline places below is the pipeline's state key
  // (engine::Plan::StateKey: its name in the namespace `default`, namespace/name otherwise).
  // A pipeline's dead letters when its spec names no path: a file per batch run or stream epoch.
  std::filesystem::path DeadLetters(std::string_view pipeline) const;
  // One batch run's dead letters: <dead letters>/<run>.ndjson.
  std::filesystem::path BatchDeadLetterFile(std::string_view pipeline, std::string_view run_id) const;
  // What one exactly-once stream sink intends to write (its small intent file).
  std::filesystem::path SinkIntent(std::string_view pipeline, std::string_view sink) const;
  // The records of one dead-letter replay of a batch pipeline: a file per source.
  std::filesystem::path Replay(std::string_view pipeline, std::string_view replay_id) const;
  // The server's and a worker's default data root (--data-root): a folder per namespace.
  std::filesystem::path DataRoot() const;

 private:
  std::filesystem::path root_;
};

// The identity of a data root: a random id in <data_root>/.sluice-data-root (no namespace name
// starts with '.'), written once by the server. A remote worker compares its data root's id with
// the server's, so it runs pipelines only where the server and every other worker see what they
// write (outputs, dead letters, checkpoints).
std::filesystem::path DataRootIdFile(const std::filesystem::path& data_root);
// The id, created first (16 random bytes in hex, published durably) when the data root has none;
// of two processes creating it at once, both get the one that landed.
Result<std::string> EnsureDataRootId(const std::filesystem::path& data_root);
// The id, or nullopt when the data root has none (or does not exist).
Result<std::optional<std::string>> ReadDataRootId(const std::filesystem::path& data_root);

// Where a relative source path of a spec starts, in the one sentence messages use (a files source
// matching nothing) and docs/pipeline-spec.md repeats word for word. The spec compiler resolves
// against the spec file's directory (pipeline::CompileFile) or, acting for a namespace, against
// NamespaceWorkdir (components::SpecContext::ActFor).
inline constexpr std::string_view kRelativeSourcePathRule =
    "A relative source path starts at the spec file's directory when sluice run, plan or validate reads the "
    "spec, and at the namespace's folder of the data root (<data root>/<namespace>) when the server or a worker "
    "runs it.";

// The workdir of a namespace's pipelines on the server or a worker: <data_root>/<namespace>.
// Everything those pipelines keep (lake, log, checkpoints, dead letters, the default warehouse)
// is inside it. `ns` must be a valid namespace name (IsNamespaceName).
Workdir NamespaceWorkdir(const std::filesystem::path& data_root, std::string_view ns);

}  // namespace sluice
