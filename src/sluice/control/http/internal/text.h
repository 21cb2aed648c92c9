// Small text codecs of the HTTP layer: lower-casing (header names), percent decoding (paths and
// queries), base64url (pagination cursors). Internal to control/http. Case-insensitive comparison
// and trimming are sluice::EqualsIgnoreCase and sluice::Trim (base/strings.h).
// Thread-safety: pure functions.
#pragma once

#include "sluice/base/strings.h"

#include <optional>
#include <string>
#include <string_view>

namespace sluice::http::internal {

std::string ToLower(std::string_view s);

// Decodes %XX escapes (and '+' as a space when plus_is_space, for queries). nullopt on a
// truncated or non-hex escape; the result may be any bytes (callers check UTF-8).
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// Base64url (sluice/base/strings.h).
using ::sluice::Base64UrlDecode;
using ::sluice::Base64UrlEncode;

}  // namespace sluice::http::internal
