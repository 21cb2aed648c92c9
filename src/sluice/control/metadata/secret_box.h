// SecretBox: authenticated encryption of secrets at rest (AES-256-GCM, OpenSSL). A sealed value
// is base64url(nonce[12] | ciphertext | tag[16]) and is bound to its slot (the environment and
// name, as associated data), so a ciphertext copied to another slot does not open.
//
// The key (32 bytes) comes from $SLUICE_SECRET_KEY (64 hex digits or base64url) or a key file;
// LoadOrCreate makes the file (mode 0600, 32 random bytes) when neither exists; a key file
// is refused unless its mode is 0600 or 0400 and it belongs to the user the process runs as. Whoever holds the
// key can read every secret: keep it out of backups of the metadata database.
// Thread-safety: Seal and Open may be called from any thread.
#pragma once

#include <string>
#include <string_view>

#include "sluice/base/status.h"

namespace sluice::metadata {

class SecretBox {
 public:
  // From 32 key bytes (InvalidArgument otherwise).
  static Result<SecretBox> FromKey(std::string_view key);
  // $SLUICE_SECRET_KEY if set, else the key in `key_file`, created (mode 0600) when missing.
  static Result<SecretBox> LoadOrCreate(const std::string& key_file);
  // The same without creating: NotFound when neither is there. The key file must be a regular
  // file of mode 0600 or 0400 owned by the user this process runs as (the effective uid);
  // FailedPrecondition otherwise, saying how to fix it (chmod 600 / chown).
  static Result<SecretBox> Load(const std::string& key_file);

  Result<std::string> Seal(std::string_view plaintext, std::string_view slot) const;
  // DataError when the value was not sealed with this key for this slot (or was changed).
  Result<std::string> Open(std::string_view sealed, std::string_view slot) const;
  // A 32-byte key for another purpose, derived from this one (HMAC-SHA-256 of the purpose), e.g.
  // the key that signs access tokens: replicas sharing the secret key share it too.
  std::string DeriveKey(std::string_view purpose) const;

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace sluice::metadata
