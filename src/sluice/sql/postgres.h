// What every PostgreSQL client of Sluice does the same way over libpq: connecting, running a
// statement with text parameters, and turning a failure into a Status. Used by SqlDb (the metadata
// store) and by the PostgreSQL warehouse, which keeps its own dialect (COPY, staging, SCD2).
//
// Errors — one mapping for both (PgCode):
//   Unavailable     the connection is lost or was refused, the server is shutting down or in
//                   recovery (SQLSTATE 08xxx, 57Pxx), or libpq returned no result at all:
//                   reconnect and try again.
//   Aborted         serialization failure or deadlock (40001, 40P01): run the transaction again.
//   AlreadyExists   unique violation (23505).
//   then, by who wrote the statement (StatementErrors):
//     kInternal     the program's own statements (the metadata store): any other failure is a
//                   bug, Internal (an API client sees "internal error", not the database's text).
//     kByClass      statements on a user's tables or from a user (the warehouse): data
//                   exceptions and other integrity violations (22xxx, 23xxx) are DataError,
//                   syntax errors and access rule violations (42xxx) InvalidArgument, anything
//                   else IoError.
// Messages are "<label>[: <what>]: <the server's message>"; labels carry the URL with its password
// redacted, never the password.
// Thread-safety: functions over the caller's connection; a PGconn is used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::sql {

enum class StatementErrors { kInternal, kByClass };

// Who reports a libpq failure, and how (see the header comment).
struct PgContext {
  std::string label;  // e.g. "metadata database postgresql://sluice@db/meta" (password redacted)
  StatementErrors statements = StatementErrors::kInternal;
};

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The code of a failure: `sqlstate` is empty when the server sent none; `connection_lost` when the
// connection is not CONNECTION_OK (or there is none); `no_result` when libpq returned no PGresult.
StatusCode PgCode(std::string_view sqlstate, bool connection_lost, bool no_result, StatementErrors statements);

// The Status of a failed call on `conn`: the message and SQLSTATE of `result` (or of the
// connection when `result` is null or carries none). `what` (optional) names the step.
Status PgError(const PGconn* conn, const PGresult* result, const PgContext& context, std::string_view what = {});

// Connects to the libpq URI `url`, waiting at most `connect_timeout_seconds`; server notices are
// dropped. Unavailable "<label>: cannot connect: ..." when the server cannot be reached or refuses.
// The caller owns the connection (PQfinish).
Result<PGconn*> PgConnect(const std::string& url, int connect_timeout_seconds, const PgContext& context);

// Runs `sql`: with `params` (text, nullptr for NULL) through PQexecParams; without, through PQexec
// (which also runs several statements separated by ';'). A result that is COMMAND_OK, TUPLES_OK
// or COPY_IN is returned; any other is PgError(`what`).
Result<PgResult> PgExec(PGconn* conn, const std::string& sql, const std::vector<const char*>& params,
                        const PgContext& context, std::string_view what = {});

}  // namespace sluice::sql
