// Cursor pagination for list endpoints (docs/api.md): `?limit=N&cursor=C` in, and
// {"items": [...], "next_cursor": "C" | null} out. A cursor is opaque to clients: base64url of a
// small versioned JSON holding the sort key of the last item returned, so a list resumes after
// that key however the collection changed meanwhile. Cursors are not signed: a forged cursor can
// only move the start of a listing, so authorization must never depend on one. Nor are they
// secret (base64 is readable): a list filtered per caller builds its next key from the last item
// it returns, never from a row it skipped (api::ReadVisiblePage).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sluice/control/http/http.h"

namespace sluice::http {

inline constexpr int64_t kDefaultPageLimit = 100;
inline constexpr int64_t kMaxPageLimit = 1000;

struct PageRequest {
  int64_t limit = kDefaultPageLimit;
  // The key to resume after (decoded from `cursor`); nullopt for the first page.
  std::optional<std::string> after;
};

// Reads `limit` (decimal 1..kMaxPageLimit, default kDefaultPageLimit) and `cursor` from the query;
// a bad value of either is 400 invalid_field naming it.
ProblemOr<PageRequest> ParsePageRequest(const Request& request);

// The cursor that resumes after `key`, and back.
std::string EncodeCursor(std::string_view key);
std::optional<std::string> DecodeCursor(std::string_view cursor);

// 200 {"items": items, "next_cursor": EncodeCursor(*next_key) or null}.
Response PageResponse(nlohmann::json items, const std::optional<std::string>& next_key);
// The same with the items' members in the order they were added.
Response PageResponse(nlohmann::ordered_json items, const std::optional<std::string>& next_key);

}  // namespace sluice::http
