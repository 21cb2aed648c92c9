#include "sluice/control/metadata/pipeline_store.h"

#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

namespace {

constexpr const char* kPipelineColumns =
    "namespace, name, description, mode, latest_version, paused, created_at, updated_at";
constexpr const char* kVersionColumns =
    "namespace, name, version, spec, spec_hash, author, message, created_at, environment, mode";

Result<PipelineRecord> ToPipeline(const SqlRow& r) {
  PipelineRecord p;
  p.ns = SqlText(r[0]);
  p.name = SqlText(r[1]);
  p.description = SqlText(r[2]);
  p.mode = SqlText(r[3]);
  SLUICE_ASSIGN_OR_RETURN(p.latest_version, SqlToInt(r[4], "pipelines.latest_version"));
  SLUICE_ASSIGN_OR_RETURN(int64_t paused, SqlToInt(r[5], "pipelines.paused"));
  p.paused = paused != 0;
  SLUICE_ASSIGN_OR_RETURN(p.created_at, SqlToInt(r[6], "pipelines.created_at"));
  SLUICE_ASSIGN_OR_RETURN(p.updated_at, SqlToInt(r[7], "pipelines.updated_at"));
  return p;
}

Result<PipelineVersion> ToVersion(const SqlRow& r) {
  PipelineVersion v;
  v.ns = SqlText(r[0]);
  v.name = SqlText(r[1]);
  SLUICE_ASSIGN_OR_RETURN(v.version, SqlToInt(r[2], "pipeline_versions.version"));
  v.spec = SqlText(r[3]);
  v.spec_hash = SqlText(r[4]);
  v.author = SqlText(r[5]);
  v.message = SqlText(r[6]);
  SLUICE_ASSIGN_OR_RETURN(v.created_at, SqlToInt(r[7], "pipeline_versions.created_at"));
  v.environment = SqlText(r[8]);
  v.mode = SqlText(r[9]);
  return v;
}

}  // namespace

Result<PipelineRecord> PipelineStore::GetPipelineLocked(const std::string& ns, const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(fmt::format("SELECT {} FROM pipelines WHERE namespace = $1 AND name = $2", kPipelineColumns),
                 {ns, name}));
  if (rows.empty()) return Status::NotFound("pipeline '{}' does not exist in namespace '{}'", name, ns);
  return ToPipeline(rows[0]);
}

Result<PipelineRecord> PipelineStore::GetPipeline(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  return GetPipelineLocked(ns, name);
}

Result<ApplyResult> PipelineStore::ApplyPipeline(const std::string& ns, const std::string& name,
                                                 const std::string& spec, const std::string& spec_hash,
                                                 const std::string& description, const std::string& mode,
                                                 const std::string& author, const std::string& message,
                                                 const std::string& environment) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  ApplyResult out;
  auto existing = GetPipelineLocked(ns, name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
  int64_t version = 1;
  if (existing.ok()) {
    SLUICE_ASSIGN_OR_RETURN(auto latest, db_->Query("SELECT spec_hash, environment FROM pipeline_versions WHERE "
                                                    "namespace = $1 AND name = $2 AND version = $3",
                                                    {ns, name, SqlInt(existing->latest_version)}));
    if (!latest.empty() && SqlText(latest[0][0]) == spec_hash && SqlText(latest[0][1]) == environment) {
      out.pipeline = *existing;
      out.version = existing->latest_version;
      return out;  // the same spec: nothing to do (the transaction rolls back)
    }
    version = existing->latest_version + 1;
    SLUICE_RETURN_IF_ERROR(db_->Exec("UPDATE pipelines SET latest_version = $3, description = $4, mode = $5, "
                                     "updated_at = $6 WHERE namespace = $1 AND name = $2",
                                     {ns, name, SqlInt(version), description, mode, SqlInt(now)})
                               .status());
  } else {
    out.created = true;
    SLUICE_RETURN_IF_ERROR(
        db_->Exec(fmt::format("INSERT INTO pipelines ({}) VALUES ($1, $2, $3, $4, $5, 0, $6, $6)", kPipelineColumns),
                  {ns, name, description, mode, SqlInt(version), SqlInt(now)})
            .status());
  }
  SLUICE_RETURN_IF_ERROR(
      db_->Exec(fmt::format("INSERT INTO pipeline_versions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                            "$10)",
                            kVersionColumns),
                {ns, name, SqlInt(version), spec, spec_hash, author, message, SqlInt(now), environment, mode})
          .status());
  SLUICE_ASSIGN_OR_RETURN(out.pipeline, GetPipelineLocked(ns, name));
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  out.version = version;
  out.changed = true;
  return out;
}

Result<std::vector<PipelineRecord>> PipelineStore::ListPipelines(
    const std::optional<std::string>& ns, const std::optional<std::pair<std::string, std::string>>& after, int limit) {
  std::lock_guard lock(mu_);
  std::string where = "WHERE 1 = 1";
  std::vector<SqlValue> params;
  if (ns) {
    params.push_back(*ns);
    where += fmt::format(" AND namespace = ${}", params.size());
  }
  if (after) {
    params.push_back(after->first);
    params.push_back(after->second);
    where += fmt::format(" AND (namespace > ${0} OR (namespace = ${0} AND name > ${1}))", params.size() - 1,
                         params.size());
  }
  params.push_back(SqlInt(limit));
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query(fmt::format("SELECT {} FROM pipelines {} ORDER BY namespace, name LIMIT ${}",
                                                 kPipelineColumns, where, params.size()),
                                     params));
  return ConvertRows<PipelineRecord>(rows, ToPipeline);
}

Result<PipelineVersion> PipelineStore::GetVersion(const std::string& ns, const std::string& name, int64_t version) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows, db_->Query(fmt::format("SELECT {} FROM pipeline_versions WHERE namespace = $1 AND "
                                                            "name = $2 AND version = $3",
                                                            kVersionColumns),
                                                {ns, name, SqlInt(version)}));
  if (rows.empty()) {
    SLUICE_RETURN_IF_ERROR(GetPipelineLocked(ns, name).status());
    return Status::NotFound("pipeline '{}' in namespace '{}' has no version {}", name, ns, version);
  }
  return ToVersion(rows[0]);
}

Result<std::vector<PipelineVersion>> PipelineStore::ListVersions(const std::string& ns, const std::string& name,
                                                                 std::optional<int64_t> before, int limit) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(GetPipelineLocked(ns, name).status());
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query(fmt::format("SELECT {} FROM pipeline_versions WHERE namespace = $1 AND name = $2 AND "
                                        "version < $3 ORDER BY version DESC LIMIT $4",
                                        kVersionColumns),
                            {ns, name, SqlInt(before.value_or(INT64_MAX)), SqlInt(limit)}));
  return ConvertRows<PipelineVersion>(rows, ToVersion);
}

Status PipelineStore::SetPaused(const std::string& ns, const std::string& name, bool paused) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("UPDATE pipelines SET paused = $3, updated_at = $4 WHERE namespace = $1 "
                                               "AND name = $2",
                                               {ns, name, SqlInt(paused ? 1 : 0), SqlInt(clock_.NowMicros())}));
  if (n == 0) return Status::NotFound("pipeline '{}' does not exist in namespace '{}'", name, ns);
  return Status::OK();
}

Status PipelineStore::DeletePipeline(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM pipelines WHERE namespace = $1 AND name = $2", {ns, name}));
  if (n == 0) return Status::NotFound("pipeline '{}' does not exist in namespace '{}'", name, ns);
  SLUICE_RETURN_IF_ERROR(
      db_->Exec("DELETE FROM pipeline_versions WHERE namespace = $1 AND name = $2", {ns, name}).status());
  return txn->Commit();
}

// ----- templates

namespace {
Result<TemplateRecord> ToTemplate(const SqlRow& r) {
  TemplateRecord t{SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), SqlText(r[3]), 0, 0};
  SLUICE_ASSIGN_OR_RETURN(t.created_at, SqlToInt(r[4], "templates.created_at"));
  SLUICE_ASSIGN_OR_RETURN(t.updated_at, SqlToInt(r[5], "templates.updated_at"));
  return t;
}
constexpr const char* kTemplateColumns = "namespace, name, description, text, created_at, updated_at";
}  // namespace

Result<bool> PipelineStore::PutTemplate(const TemplateRecord& t) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_ASSIGN_OR_RETURN(int64_t n,
                          db_->Exec("UPDATE templates SET description = $3, text = $4, updated_at = $5 WHERE "
                                    "namespace = $1 AND name = $2",
                                    {t.ns, t.name, t.description, t.text, SqlInt(now)}));
  if (n == 0) {
    SLUICE_RETURN_IF_ERROR(
        db_->Exec(fmt::format("INSERT INTO templates ({}) VALUES ($1, $2, $3, $4, $5, $5)", kTemplateColumns),
                  {t.ns, t.name, t.description, t.text, SqlInt(now)})
            .status());
  }
  SLUICE_RETURN_IF_ERROR(txn->Commit());
  return n == 0;
}

Result<TemplateRecord> PipelineStore::GetTemplate(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(fmt::format("SELECT {} FROM templates WHERE namespace = $1 AND name = $2", kTemplateColumns),
                 {ns, name}));
  if (rows.empty()) return Status::NotFound("template '{}' does not exist in namespace '{}'", name, ns);
  return ToTemplate(rows[0]);
}

Result<std::vector<TemplateRecord>> PipelineStore::ListTemplates() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query(fmt::format("SELECT {} FROM templates ORDER BY namespace, name", kTemplateColumns)));
  return ConvertRows<TemplateRecord>(rows, ToTemplate);
}

Status PipelineStore::DeleteTemplate(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(int64_t n, db_->Exec("DELETE FROM templates WHERE namespace = $1 AND name = $2", {ns, name}));
  if (n == 0) return Status::NotFound("template '{}' does not exist in namespace '{}'", name, ns);
  return Status::OK();
}

}  // namespace sluice::metadata
