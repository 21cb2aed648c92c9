// What `sluice` answers, and where: the one owner of the command line's contract (docs/cli.md,
// "Answers"). Every verb prints through these functions, never straight to stdout or stderr:
//
//   - a result goes to stdout, in the format -o chose (PrintDocument);
//   - an error goes to stderr (Fail), in that format too: text for table; for json one line
//     {"code", "message", "problems", "exit_code"[, "hint"]}; for yaml the same as a mapping.
//     Warnings and progress go to stderr as text, so with -o json the error is the LAST line of
//     stderr;
//   - the exit code: 0 success, 1 runtime failure, 2 invalid input (bad flags, unknown verb,
//     bad spec, a request the server refused).
//
// A non-zero exit always comes with an error on stderr. A verb whose work happened and went
// wrong (a run that failed, a failing spec test, a tampered audit log) prints its result on
// stdout as well (the run's counts) and the error on stderr.
//
// The error format is the chosen command's -o: the command line sets it once parsed (and, when
// parsing fails, from -o as it appears in argv) with SetErrorFormat.
// Thread-safety: none; a verb answers from the main thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitInvalid = 2;

enum class OutputFormat { kTable, kJson, kYaml };

// The format errors are printed in (table until the command line says otherwise).
void SetErrorFormat(OutputFormat format);
OutputFormat ErrorFormat();

// The stable codes of the error object (docs/cli.md lists them), besides those of a Status
// (CodeOf).
namespace codes {
inline constexpr std::string_view kUsage = "usage";                     // 2: a flag or argument the verb rejects
inline constexpr std::string_view kUnknownCommand = "unknown_command";  // 2: no such verb (or none given)
inline constexpr std::string_view kInvalidSpec = "invalid_spec";        // 2: FILE:LINE problems in `problems`
inline constexpr std::string_view kRunFailed = "run_failed";            // 1: a run started and failed
inline constexpr std::string_view kTestsFailed = "tests_failed";        // 1: a spec test failed
inline constexpr std::string_view kAuditTampered = "audit_tampered";    // 1: the audit chain is broken
}  // namespace codes

// One problem of an input document: FILE:LINE: message (file and line when known).
struct Problem {
  std::string file;
  int64_t line = 0;  // 0: unknown
  std::string message;
};

// An error as the answer states it.
struct Failure {
  std::string_view code{};  // stable: one of codes:: or CodeOf (static strings)
  std::string message{};    // what is wrong, and what to do about it
  int exit_code = kExitFailure;
  std::vector<Problem> problems{};  // table mode prints these as FILE:LINE: message lines instead of the message
  std::string hint{};               // a next step, e.g. "Run 'sluice run --help' for its flags"
};

// The code of a Status: invalid_argument, not_found, already_exists, failed_precondition,
// data_error, io_error, unavailable, aborted, internal.
std::string_view CodeOf(StatusCode code);
// 2 for invalid input (InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, DataError:
// Status::IsUserError), 1 for the rest (unreachable, I/O, internal).
int ExitCodeFor(const Status& st);

// Prints the failure on stderr in the error format; returns its exit code.
int Fail(const Failure& failure);
// A Status as a failure (CodeOf, ExitCodeFor).
int Fail(const Status& st);
// A flag or argument the verb rejects: `usage`, exit 2.
int FailUsage(const std::string& message);
// A spec that does not compile: when its message is one `FILE:LINE: ...` per line (as
// pipeline::CompileFile reports), `invalid_spec` with a problem per line; else Fail(st).
int FailSpec(const Status& st);
// The FILE:LINE: message lines of a compile failure as problems (lines without a location keep
// only their message).
std::vector<Problem> ProblemsOf(const std::string& message);

// A note beside a result (what the result does not cover): stderr, one text line, in every
// format, so stdout keeps only the result.
void PrintNote(const std::string& text);

// Prints a result document on stdout: json as is, yaml converted from it, table as
// `table_text`.
void PrintDocument(const std::string& json, OutputFormat format, const std::string& table_text);

}  // namespace sluice::cli
