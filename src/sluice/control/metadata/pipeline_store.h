// PipelineStore: pipelines with their immutable versions, and templates — a part of the metadata
// store (MetadataStore::pipelines()).
//
// Lists are ordered by a unique key and paginated by it (keyset pagination): pass the last key of
// a page as `after` (or `before`) to get the next one, so pages stay stable while rows are added.
// Errors: NotFound for a missing pipeline, version or template (naming it); AlreadyExists for a
// duplicate; Unavailable when the database cannot be reached; Aborted when a concurrent writer
// won (retry).
// Thread-safety: any thread (StoreBase).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/control/metadata/store_base.h"

namespace sluice::metadata {

struct PipelineRecord {
  std::string ns;  // namespace
  std::string name;
  std::string description;
  std::string mode;  // batch | stream
  int64_t latest_version = 0;
  bool paused = false;
  int64_t created_at = 0;  // µs since 1970 UTC
  int64_t updated_at = 0;
};

struct PipelineVersion {
  std::string ns;
  std::string name;
  int64_t version = 0;  // 1, 2, ...
  std::string spec;     // the YAML as applied
  std::string spec_hash;
  std::string author;
  std::string message;
  int64_t created_at = 0;
  std::string environment;  // the environment its ${config.*} and ${secret.*} come from ("": none)
  std::string mode;         // batch | stream: which worker slots run it ("" when unknown)
};

struct TemplateRecord {
  std::string ns;
  std::string name;
  std::string description;
  std::string text;  // the template document (YAML), as applied
  int64_t created_at = 0, updated_at = 0;
};

struct ApplyResult {
  PipelineRecord pipeline;
  int64_t version = 0;   // the version that holds the spec now
  bool created = false;  // the pipeline is new
  bool changed = false;  // a new version was made (false: the spec equals the latest version)
};

class PipelineStore : public StoreBase {
 public:
  using StoreBase::StoreBase;

  // Creates the pipeline, or adds a version when the spec differs from the latest one (a spec
  // equal to the latest is not a new version: applying is idempotent).
  Result<ApplyResult> ApplyPipeline(const std::string& ns, const std::string& name, const std::string& spec,
                                    const std::string& spec_hash, const std::string& description,
                                    const std::string& mode, const std::string& author, const std::string& message,
                                    const std::string& environment = "");
  Result<PipelineRecord> GetPipeline(const std::string& ns, const std::string& name);
  // Ordered by (namespace, name); `after` is the last (namespace, name) of the previous page.
  Result<std::vector<PipelineRecord>> ListPipelines(const std::optional<std::string>& ns,
                                                    const std::optional<std::pair<std::string, std::string>>& after,
                                                    int limit);
  Result<PipelineVersion> GetVersion(const std::string& ns, const std::string& name, int64_t version);
  // Newest first; `before` is the last version of the previous page.
  Result<std::vector<PipelineVersion>> ListVersions(const std::string& ns, const std::string& name,
                                                    std::optional<int64_t> before, int limit);
  Status SetPaused(const std::string& ns, const std::string& name, bool paused);
  // Removes the pipeline and its versions; its runs stay as history.
  Status DeletePipeline(const std::string& ns, const std::string& name);

  // --- templates (checked by the API before they are stored)
  Result<bool> PutTemplate(const TemplateRecord& t);  // creates or replaces; true when created
  Result<TemplateRecord> GetTemplate(const std::string& ns, const std::string& name);
  Result<std::vector<TemplateRecord>> ListTemplates();
  Status DeleteTemplate(const std::string& ns, const std::string& name);

 private:
  Result<PipelineRecord> GetPipelineLocked(const std::string& ns, const std::string& name);
};

}  // namespace sluice::metadata
