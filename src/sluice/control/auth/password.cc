#include "sluice/control/auth/password.h"

#include <argon2.h>
#include <openssl/rand.h>

#include "sluice/base/strings.h"

namespace sluice::auth {

namespace {
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
}  // namespace

Status CheckNewPassword(std::string_view password) {
  if (password.size() > 1024) return Status::InvalidArgument("the password is longer than 1024 bytes");
  if (!IsValidUtf8(password)) return Status::InvalidArgument("the password is not valid UTF-8");
  size_t chars = 0;
  for (unsigned char c : password) chars += (c & 0xC0) != 0x80;
  if (chars < 12) {
    return Status::InvalidArgument("the password has {} characters; use at least 12 (a passphrase of a few words is easy to remember)",
                                   chars);
  }
  return Status::OK();
}

Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return Status::Internal("no random bytes for a password salt");
  const size_t len = argon2_encodedlen(cost.passes, cost.memory_kib, cost.lanes, kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(len, '\0');
  const int rc = argon2id_hash_encoded(cost.passes, cost.memory_kib, cost.lanes, password.data(), password.size(), salt,
                                       sizeof salt, kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Status::Internal("argon2id: {}", argon2_error_message(rc));
  encoded.resize(encoded.find('\0') == std::string::npos ? encoded.size() : encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(std::string_view password, const std::string& encoded) {
  if (!encoded.starts_with("$argon2id$")) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

void VerifyPasswordDecoy(std::string_view password) {
  static const std::string decoy = [] {
    auto h = HashPassword("a password nobody has");
    return h.ok() ? *h : std::string();
  }();
  (void)VerifyPassword(password, decoy);
}

}  // namespace sluice::auth
