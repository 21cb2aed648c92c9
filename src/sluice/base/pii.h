// PII masking: what a value of a field marked `pii: true` becomes wherever it could leave the
// data path by a side door (dead letters, error messages, log lines), and the partial mask of the
// `mask()` expression function. This file is the one owner of both forms (docs/security.md#pii).
//
//   PiiMasker::Mask(v)  "pii:" + the first 16 hex digits of HMAC-SHA-256(key, v). Equal values
//                       give equal masks under one key, so masked records can still be matched,
//                       grouped and counted; without the key a mask cannot be checked against a
//                       guessed value.
//   MaskKeepLast4(s)    every character of `s` but the last four replaced by '*' ("****1234");
//                       a string of four characters or fewer is all '*'.
//
// The key: on a server, derived from its secret key (SecretBox::DeriveKey(kPiiKeyPurpose)); for
// local runs, the workdir's key file (engine/exec `WorkdirPiiKey`).
// Thread-safety: PiiMasker is immutable after construction; the functions are pure (NewPiiKey
// reads the system's random source).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "sluice/base/status.h"

namespace sluice {

// What the PII key is derived for from a server's secret key.
inline constexpr std::string_view kPiiKeyPurpose = "pii masking";
// The prefix of every masked value.
inline constexpr std::string_view kPiiMaskPrefix = "pii:";

class PiiMasker {
 public:
  // `key`: any bytes (32 random bytes in practice); an empty key is refused by CHECK.
  explicit PiiMasker(std::string key);

  // "pii:0123456789abcdef".
  std::string Mask(std::string_view value) const;
  // `text` with every occurrence of each value of `values` replaced by its mask (longer values
  // first, so a value that contains another is masked whole). Values shorter than four bytes are
  // left alone: they would match ordinary words and numbers ("1", "FR"). A defence in depth for
  // messages: the evaluator already quotes pii values masked.
  std::string Scrub(std::string_view text, std::span<const std::string> values) const;

 private:
  std::string key_;
};

// 32 random bytes for a new key.
Result<std::string> NewPiiKey();

// The partial mask of the expression function mask(): "alice@example.com" -> "*************.com",
// "1234" -> "****". Counts UTF-8 characters, not bytes.
std::string MaskKeepLast4(std::string_view s);

}  // namespace sluice
