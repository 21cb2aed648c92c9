// Strict JSON request bodies: parse a body as one JSON object and read its members with type
// checks, turning every mistake into a 400 problem that names the field — so a client learns
// everything wrong with a request at once, and a typo in a field name is an error rather than a
// silently ignored member.
//
//   SLUICE_HTTP_ASSIGN_OR_RETURN(nlohmann::json body, ParseJsonObject(request.body));
//   JsonFieldReader fields(body);
//   std::string name = fields.RequiredString("name");
//   int64_t retries = fields.OptionalInt("retries").value_or(3);
//   if (auto problem = fields.Finish()) return *problem;
//
// Thread-safety: ParseJsonObject is a pure function; a JsonFieldReader is used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/control/http/http.h"

namespace sluice::http {

// Objects and arrays nest at most this deep in a request body.
inline constexpr int kMaxJsonDepth = 64;

// The body as a JSON object. 400 malformed_json (the detail and the `position` member give the
// byte offset) for bad syntax, invalid UTF-8 or a number out of range; 400 invalid_body for a
// valid document that is not an object, nests deeper than kMaxJsonDepth, or repeats a member
// name in one object (RFC 8259 leaves duplicates undefined; we refuse to guess).
ProblemOr<nlohmann::json> ParseJsonObject(std::string_view body);

// Reads the members of one JSON object; records an error for each missing required member,
// each member of the wrong type, and (in Finish) each member never asked for. A member that is
// null counts as absent. Field names in errors are prefix + name (prefix "spec." for nested).
class JsonFieldReader {
 public:
  // `object` must outlive the reader. A non-object gives one invalid_body error.
  explicit JsonFieldReader(const nlohmann::json& object, std::string prefix = "");
  // The reader keeps a reference: a temporary would dangle.
  explicit JsonFieldReader(nlohmann::json&& object, std::string prefix = "") = delete;

  std::optional<std::string> OptionalString(std::string_view name);
  std::string RequiredString(std::string_view name);  // "" when missing (an error is recorded)
  std::optional<int64_t> OptionalInt(std::string_view name);
  int64_t RequiredInt(std::string_view name);
  std::optional<double> OptionalNumber(std::string_view name);
  std::optional<bool> OptionalBool(std::string_view name);
  bool RequiredBool(std::string_view name);
  // Objects and arrays; nullptr when absent (or of the wrong type: an error is recorded).
  const nlohmann::json* OptionalObject(std::string_view name);
  const nlohmann::json* RequiredObject(std::string_view name);
  const nlohmann::json* OptionalArray(std::string_view name);
  const nlohmann::json* RequiredArray(std::string_view name);
  // Any value, null included (e.g. null meaning "clear" in a PATCH); nullptr when absent.
  const nlohmann::json* OptionalAny(std::string_view name);

  // Records an error the caller found itself (400 invalid_field), e.g. a bad name pattern.
  void AddError(std::string_view name, std::string message);

  // nullopt if every member was known and valid; else one 400 problem whose `errors` lists
  // {field, code, message} for each mistake and whose code is the first mistake's code.
  std::optional<Problem> Finish();

 private:
  struct FieldError {
    std::string field;
    std::string_view code;
    std::string message;
  };
  // The member, or nullptr if absent or null; marks the name as known.
  const nlohmann::json* Lookup(std::string_view name);
  void AddTypeError(std::string_view name, std::string_view expected, const nlohmann::json& got);
  void AddMissing(std::string_view name, std::string_view expected);

  const nlohmann::json& object_;
  std::string prefix_;
  std::set<std::string, std::less<>> known_;
  std::vector<FieldError> errors_;
};

// 415 unsupported_media_type unless Content-Type is application/json or a +json type
// (for handlers that check it themselves; Route::json_body makes the Router check it).
std::optional<Problem> CheckJsonContentType(const Request& request);

}  // namespace sluice::http
