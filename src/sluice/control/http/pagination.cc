#include "sluice/control/http/pagination.h"

#include <charconv>

#include "sluice/control/http/internal/text.h"

namespace sluice::http {
namespace {

// Longer cursors are not ours; refusing them early bounds the work on a hostile one.
constexpr size_t kMaxCursorChars = 4096;
constexpr int kCursorVersion = 1;

}  // namespace

std::string EncodeCursor(std::string_view key) {
  nlohmann::json j = {{"v", kCursorVersion}, {"k", std::string(key)}};
  return internal::Base64UrlEncode(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::optional<std::string> DecodeCursor(std::string_view cursor) {
  if (cursor.empty() || cursor.size() > kMaxCursorChars) return std::nullopt;
  auto raw = internal::Base64UrlDecode(cursor);
  if (!raw) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto v = j.find("v");
  auto k = j.find("k");
  if (v == j.end() || k == j.end() || j.size() != 2 || !v->is_number_integer() ||
      v->get<int64_t>() != kCursorVersion || !k->is_string()) {
    return std::nullopt;
  }
  return k->get<std::string>();
}

ProblemOr<PageRequest> ParsePageRequest(const Request& request) {
  PageRequest page;
  if (auto limit = request.Query("limit")) {
    int64_t n = 0;
    const char* end = limit->data() + limit->size();
    auto [ptr, ec] = std::from_chars(limit->data(), end, n);
    bool digits_only = !limit->empty() && (*limit)[0] != '-' && (*limit)[0] != '+';
    if (!digits_only || ec != std::errc() || ptr != end || n < 1 || n > kMaxPageLimit) {
      return FieldProblem(codes::kInvalidField, "limit",
                          fmt::format("must be an integer from 1 to {}", kMaxPageLimit));
    }
    page.limit = n;
  }
  if (auto cursor = request.Query("cursor")) {
    auto key = DecodeCursor(*cursor);
    if (!key) {
      return FieldProblem(codes::kInvalidField, "cursor",
                          "not a cursor returned by this API (pass next_cursor unchanged)");
    }
    page.after = std::move(*key);
  }
  return page;
}

Response PageResponse(nlohmann::json items, const std::optional<std::string>& next_key) {
  nlohmann::json body = {{"items", std::move(items)}};
  body["next_cursor"] = next_key ? nlohmann::json(EncodeCursor(*next_key)) : nlohmann::json(nullptr);
  return Response::Json(200, body);
}

Response PageResponse(nlohmann::ordered_json items, const std::optional<std::string>& next_key) {
  nlohmann::ordered_json body = {{"items", std::move(items)}};
  body["next_cursor"] = next_key ? nlohmann::ordered_json(EncodeCursor(*next_key)) : nlohmann::ordered_json(nullptr);
  return Response::OrderedJson(200, body);
}

}  // namespace sluice::http
