#include "sluice/sql/postgres.h"

#include "sluice/base/strings.h"

namespace sluice::sql {

StatusCode PgCode(std::string_view sqlstate, bool connection_lost, bool no_result, StatementErrors statements) {
  if (connection_lost || sqlstate.starts_with("08") || sqlstate.starts_with("57P") || (no_result && sqlstate.empty())) {
    return StatusCode::kUnavailable;
  }
  if (sqlstate == "40001" || sqlstate == "40P01") return StatusCode::kAborted;
  if (sqlstate == "23505") return StatusCode::kAlreadyExists;
  if (statements == StatementErrors::kInternal) return StatusCode::kInternal;
  if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) return StatusCode::kDataError;
  if (sqlstate.starts_with("42")) return StatusCode::kInvalidArgument;
  return StatusCode::kIoError;
}

Status PgError(const PGconn* conn, const PGresult* result, const PgContext& context, std::string_view what) {
  std::string msg(TrimRight(result ? PQresultErrorMessage(result) : "", "\n "));
  if (msg.empty() && conn) msg = TrimRight(PQerrorMessage(conn), "\n ");
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const bool lost = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
  const StatusCode code = PgCode(state ? state : "", lost, result == nullptr, context.statements);
  if (what.empty()) return Status(code, fmt::format("{}: {}", context.label, msg));
  return Status(code, fmt::format("{}: {}: {}", context.label, what, msg));
}

Result<PGconn*> PgConnect(const std::string& url, int connect_timeout_seconds, const PgContext& context) {
  const std::string conninfo = url + (url.find('?') == std::string::npos ? "?" : "&") +
                               "connect_timeout=" + std::to_string(connect_timeout_seconds);
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg(conn ? TrimRight(PQerrorMessage(conn), "\n ") : "out of memory");
    PQfinish(conn);
    return Status(StatusCode::kUnavailable, fmt::format("{}: cannot connect: {}", context.label, msg));
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return conn;
}

Result<PgResult> PgExec(PGconn* conn, const std::string& sql, const std::vector<const char*>& params,
                        const PgContext& context, std::string_view what) {
  PgResult r(params.empty() ? PQexec(conn, sql.c_str())
                            : PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(),
                                           nullptr, nullptr, 0),
             &PQclear);
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN) {
    return PgError(conn, r.get(), context, what);
  }
  return r;
}

}  // namespace sluice::sql
