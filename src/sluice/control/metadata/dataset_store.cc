#include "sluice/control/metadata/dataset_store.h"

#include "sluice/sql/sql_db.h"

namespace sluice::metadata {

Status DatasetStore::RecordLineage(const std::string& ns, const std::string& pipeline, int64_t pipeline_version,
                                   const std::vector<DatasetUse>& uses) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Begin(*db_));
  SLUICE_RETURN_IF_ERROR(
      db_->Exec("DELETE FROM lineage WHERE namespace = $1 AND pipeline = $2", {ns, pipeline}).status());
  for (const auto& u : uses) {
    SLUICE_ASSIGN_OR_RETURN(int64_t n,
                            db_->Exec("UPDATE datasets SET updated_at = $2 WHERE name = $1", {u.dataset, SqlInt(now)}));
    if (n == 0) {
      SLUICE_RETURN_IF_ERROR(
          db_->Exec("INSERT INTO datasets (name, kind, created_at, updated_at) VALUES ($1, $2, $3, $3)",
                    {u.dataset, u.kind, SqlInt(now)})
              .status());
    }
    SLUICE_RETURN_IF_ERROR(db_->Exec("DELETE FROM lineage WHERE namespace = $1 AND pipeline = $2 AND dataset = $3 AND "
                                     "direction = $4",
                                     {ns, pipeline, u.dataset, u.direction})
                               .status());
    SLUICE_RETURN_IF_ERROR(
        db_->Exec("INSERT INTO lineage (namespace, pipeline, dataset, direction, columns) VALUES ($1, $2, "
                  "$3, $4, $5)",
                  {ns, pipeline, u.dataset, u.direction, u.columns})
            .status());
    if (u.direction != "out" || u.schema_json.empty()) continue;
    // A new schema version when what the pipeline writes differs from the latest one.
    SLUICE_ASSIGN_OR_RETURN(auto latest,
                            db_->Query("SELECT version, schema_json FROM dataset_schemas WHERE dataset = $1 "
                                       "ORDER BY version DESC LIMIT 1",
                                       {u.dataset}));
    int64_t version = 1;
    if (!latest.empty()) {
      if (SqlText(latest[0][1]) == u.schema_json) continue;
      SLUICE_ASSIGN_OR_RETURN(int64_t v, SqlToInt(latest[0][0], "dataset_schemas.version"));
      version = v + 1;
    }
    SLUICE_RETURN_IF_ERROR(
        db_->Exec("INSERT INTO dataset_schemas (dataset, version, schema_json, namespace, pipeline, "
                  "pipeline_version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                  {u.dataset, SqlInt(version), u.schema_json, ns, pipeline, SqlInt(pipeline_version), SqlInt(now)})
            .status());
  }
  return txn->Commit();
}

Status DatasetStore::ForgetLineage(const std::string& ns, const std::string& pipeline) {
  std::lock_guard lock(mu_);
  return db_->Exec("DELETE FROM lineage WHERE namespace = $1 AND pipeline = $2", {ns, pipeline}).status();
}

Result<std::vector<DatasetRecord>> DatasetStore::ListDatasets() {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT name, kind, created_at, updated_at FROM datasets ORDER BY name"));
  std::vector<DatasetRecord> out;
  for (const auto& r : rows) {
    DatasetRecord d{SqlText(r[0]), SqlText(r[1]), 0, 0};
    SLUICE_ASSIGN_OR_RETURN(d.created_at, SqlToInt(r[2], "datasets.created_at"));
    SLUICE_ASSIGN_OR_RETURN(d.updated_at, SqlToInt(r[3], "datasets.updated_at"));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<SchemaVersionRecord>> DatasetStore::SchemaHistory(const std::string& dataset) {
  std::lock_guard lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto known, db_->Query("SELECT name FROM datasets WHERE name = $1", {dataset}));
  if (known.empty())
    return Status::NotFound("dataset '{}' is not known (no applied pipeline reads or writes it)", dataset);
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT version, schema_json, namespace, pipeline, pipeline_version, created_at "
                                     "FROM dataset_schemas WHERE dataset = $1 ORDER BY version DESC",
                                     {dataset}));
  std::vector<SchemaVersionRecord> out;
  for (const auto& r : rows) {
    SchemaVersionRecord v;
    SLUICE_ASSIGN_OR_RETURN(v.version, SqlToInt(r[0], "dataset_schemas.version"));
    v.schema_json = SqlText(r[1]);
    v.ns = SqlText(r[2]);
    v.pipeline = SqlText(r[3]);
    SLUICE_ASSIGN_OR_RETURN(v.pipeline_version, SqlToInt(r[4], "dataset_schemas.pipeline_version"));
    SLUICE_ASSIGN_OR_RETURN(v.created_at, SqlToInt(r[5], "dataset_schemas.created_at"));
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<LineageEdge>> DatasetStore::Lineage(
    const std::optional<std::string>& dataset, const std::optional<std::pair<std::string, std::string>>& pipeline) {
  std::lock_guard lock(mu_);
  std::string where = "WHERE 1 = 1";
  std::vector<SqlValue> params;
  if (dataset) {
    params.push_back(*dataset);
    where += fmt::format(" AND dataset = ${}", params.size());
  }
  if (pipeline) {
    params.push_back(pipeline->first);
    params.push_back(pipeline->second);
    where += fmt::format(" AND namespace = ${} AND pipeline = ${}", params.size() - 1, params.size());
  }
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT namespace, pipeline, dataset, direction, columns FROM lineage " + where +
                                         " ORDER BY dataset, namespace, pipeline, direction",
                                     params));
  std::vector<LineageEdge> out;
  for (const auto& r : rows) out.push_back({SqlText(r[0]), SqlText(r[1]), SqlText(r[2]), SqlText(r[3]), SqlText(r[4])});
  return out;
}

}  // namespace sluice::metadata
