// Digests and their text: lower-case hex, SHA-256 and HMAC-SHA-256 (OpenSSL's libcrypto). Token
// hashes, random ids, derived keys and the audit chain are spelt with these.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// Lower-case hex of bytes.
std::string HexEncode(std::string_view bytes);
// The value of one hex digit, either case ('b' and 'B' -> 11); -1 for any other character.
int HexDigitValue(char c);
// The bytes of an even number of hex digits (either case); nullopt for anything else.
std::optional<std::string> HexDecode(std::string_view hex);

// The 32 bytes of SHA-256 of `data`.
std::string Sha256(std::string_view data);
// The 32 bytes of HMAC-SHA-256 of `data` under `key`; empty if libcrypto fails.
std::string HmacSha256(std::string_view key, std::string_view data);

// SHA-256 of `data` as lower-case hex; HMAC-SHA-256 under `key` when it is not empty.
std::string HexDigest(std::string_view data, std::string_view key = {});

}  // namespace sluice
