#include "sluice/control/metadata/secret_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "sluice/base/digest.h"
#include "sluice/base/strings.h"
#include "sluice/io/file_system.h"

namespace sluice::metadata {

namespace {

constexpr size_t kKeyBytes = 32, kNonceBytes = 12, kTagBytes = 16;

using Ctx = std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)>;

std::optional<std::string> DecodeKey(std::string_view text) {
  if (text.size() == 2 * kKeyBytes) {
    if (auto key = HexDecode(text)) return key;
  }
  auto raw = Base64UrlDecode(text);
  if (raw && raw->size() == kKeyBytes) return raw;
  return std::nullopt;
}

// The key file must be a regular file that only the user running the service can read: mode
// 0600 or 0400, owned by that user.
Status CheckKeyFile(int fd, const std::string& key_file) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IoError("cannot stat the secret key file {}", key_file);
  if (!S_ISREG(st.st_mode)) return Status::FailedPrecondition("the secret key file {} is not a regular file", key_file);
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return Status::FailedPrecondition(
        "the secret key file {} belongs to uid {}, not to uid {} that runs this service: it must be the service "
        "user's own (chown {} {}, then chmod 600 {})",
        key_file, st.st_uid, me, me, key_file, key_file);
  }
  const mode_t mode = st.st_mode & 07777;
  if (mode != 0600 && mode != 0400) {
    return Status::FailedPrecondition(
        "the secret key file {} has mode {:04o}: it must be readable by its owner only (mode 0600 or 0400); fix it "
        "with chmod 600 {}",
        key_file, mode, key_file);
  }
  return Status::OK();
}

}  // namespace

Result<SecretBox> SecretBox::FromKey(std::string_view key) {
  if (key.size() != kKeyBytes) return Status::InvalidArgument("a secret key is {} bytes, not {}", kKeyBytes, key.size());
  return SecretBox(std::string(key));
}

Result<SecretBox> SecretBox::LoadOrCreate(const std::string& key_file) {
  auto loaded = Load(key_file);
  if (loaded.ok() || loaded.status().code() != StatusCode::kNotFound) return loaded;
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return Status::Internal("no random bytes for a secret key");
  }
  const std::string dir = std::filesystem::path(key_file).parent_path().string();
  SLUICE_RETURN_IF_ERROR(io::MakeDirs(dir));
  const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create the secret key file {}", key_file);
  const std::string text = Base64UrlEncode(key) + "\n";
  // 0600 whatever the umask: Load accepts nothing more open, and nothing closed to its owner.
  const bool ok = ::fchmod(fd, 0600) == 0 && io::WriteAll(fd, text, key_file).ok() && io::SyncFd(fd, key_file).ok();
  ::close(fd);
  if (!ok) return Status::IoError("cannot write the secret key file {}", key_file);
  // Without the key the stored secrets are lost: its name must survive a power loss too.
  SLUICE_RETURN_IF_ERROR(io::SyncDir(dir));
  return FromKey(key);
}

Result<SecretBox> SecretBox::Load(const std::string& key_file) {
  if (const char* env = std::getenv("SLUICE_SECRET_KEY"); env && *env) {
    auto key = DecodeKey(env);
    if (!key) return Status::InvalidArgument("SLUICE_SECRET_KEY must be 32 bytes as 64 hex digits or base64url");
    return FromKey(*key);
  }
  if (int fd = ::open(key_file.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    if (Status st = CheckKeyFile(fd, key_file); !st.ok()) {
      ::close(fd);
      return st;
    }
    char buf[128];
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    ::close(fd);
    std::string text(buf, n > 0 ? static_cast<size_t>(n) : 0);
    text.resize(TrimRight(text, "\n ").size());
    auto key = DecodeKey(text);
    if (!key) return Status::DataError("{}: not a secret key (64 hex digits or base64url of 32 bytes)", key_file);
    return FromKey(*key);
  }
  return Status::NotFound("no secret key: set SLUICE_SECRET_KEY or keep the key file {}", key_file);
}

Result<std::string> SecretBox::Seal(std::string_view plaintext, std::string_view slot) const {
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(nonce, kNonceBytes) != 1) return Status::Internal("no random bytes for a nonce");
  Ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  auto* ct = nonce + kNonceBytes;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key_.data()), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(slot.data()), static_cast<int>(slot.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(plaintext.data()), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plaintext.size()) != 1) {
    return Status::Internal("encrypting a secret failed");
  }
  return Base64UrlEncode(out);
}

Result<std::string> SecretBox::Open(std::string_view sealed, std::string_view slot) const {
  auto raw = Base64UrlDecode(sealed);
  if (!raw || raw->size() < kNonceBytes + kTagBytes) return Status::DataError("secret {}: not a sealed value", slot);
  const auto* nonce = reinterpret_cast<const unsigned char*>(raw->data());
  const size_t n = raw->size() - kNonceBytes - kTagBytes;
  std::string out(n, '\0');
  Ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  std::string tag = raw->substr(kNonceBytes + n);
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, reinterpret_cast<const unsigned char*>(key_.data()), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(slot.data()), static_cast<int>(slot.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, nonce + kNonceBytes, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    return Status::DataError("secret {}: does not open with this key (a wrong SLUICE_SECRET_KEY, or a changed value)", slot);
  }
  return out;
}

std::string SecretBox::DeriveKey(std::string_view purpose) const { return HmacSha256(key_, purpose); }

}  // namespace sluice::metadata
