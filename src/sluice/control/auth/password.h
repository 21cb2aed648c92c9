// Passwords of local users (docs/security.md): argon2id hashes in the PHC string form
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>"), so the cost travels with each hash and can be
// raised later without breaking old ones. Only the hash is stored; the password is never logged.
// Thread-safety: free functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/base/status.h"

namespace sluice::auth {

// argon2id cost: passes over memory, memory in KiB, lanes. The default follows the usual
// recommendation for interactive logins (19 MiB, 2 passes, 1 lane; ~30 ms here).
struct PasswordCost {
  uint32_t passes = 2;
  uint32_t memory_kib = 19456;
  uint32_t lanes = 1;
};

// InvalidArgument when the password is too weak to store (fewer than 12 characters, more than
// 1024 bytes, or not UTF-8), saying what is needed.
Status CheckNewPassword(std::string_view password);

// A fresh salt (16 random bytes) and the encoded hash. Internal if argon2 fails.
Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost = {});

// True when `password` matches `encoded` (the comparison inside argon2 is constant-time). A
// malformed hash never matches.
bool VerifyPassword(std::string_view password, const std::string& encoded);

// Spends the time of one verification, for a user that does not exist (so a login's duration
// does not tell whether the user exists).
void VerifyPasswordDecoy(std::string_view password);

}  // namespace sluice::auth
