#include "sluice/control/metadata/secret_box.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace sluice::metadata {
namespace {

TEST(SecretBox, SealsAndOpensOnlyInItsSlotWithItsKey) {
  auto box = SecretBox::FromKey(std::string(32, 'k'));
  ASSERT_TRUE(box.ok());
  auto sealed = box->Seal("hunter2", "prod/db_password");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("hunter2"), std::string::npos);
  EXPECT_NE(*box->Seal("hunter2", "prod/db_password"), *sealed) << "a fresh nonce per seal";
  EXPECT_EQ(*box->Open(*sealed, "prod/db_password"), "hunter2");
  EXPECT_EQ(box->Open(*sealed, "staging/db_password").status().code(), StatusCode::kDataError) << "bound to its slot";
  auto other = SecretBox::FromKey(std::string(32, 'x'));
  EXPECT_EQ(other->Open(*sealed, "prod/db_password").status().code(), StatusCode::kDataError);
  std::string tampered = *sealed;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box->Open(tampered, "prod/db_password").ok());
  EXPECT_FALSE(box->Open("short", "prod/db_password").ok());
  EXPECT_EQ(SecretBox::FromKey("too short").status().code(), StatusCode::kInvalidArgument);
}

TEST(SecretBox, TheKeyFileIsCreatedOnceWithMode0600) {
  const std::string dir = std::filesystem::temp_directory_path() / ("sluice_box_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ::unsetenv("SLUICE_SECRET_KEY");
  auto first = SecretBox::LoadOrCreate(dir + "/secret.key");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = SecretBox::LoadOrCreate(dir + "/secret.key");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again->Open(*first->Seal("v", "s"), "s"), "v") << "the same key the second time";
  ::setenv("SLUICE_SECRET_KEY", std::string(64, 'a').c_str(), 1);
  auto from_env = SecretBox::LoadOrCreate(dir + "/secret.key");
  ASSERT_TRUE(from_env.ok());
  EXPECT_FALSE(from_env->Open(*first->Seal("v", "s"), "s").ok()) << "the environment's key wins";
  ::setenv("SLUICE_SECRET_KEY", "nope", 1);
  EXPECT_EQ(SecretBox::LoadOrCreate(dir + "/secret.key").status().code(), StatusCode::kInvalidArgument);
  ::unsetenv("SLUICE_SECRET_KEY");
  std::filesystem::remove_all(dir);
}

TEST(SecretBox, AKeyFileOthersCanReadOrThatIsNotOursIsRefused) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("sluice_box_mode_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ::unsetenv("SLUICE_SECRET_KEY");
  const std::string file = dir + "/secret.key";
  // Created 0600 even under a umask that would leave it group- and world-readable.
  const mode_t old_umask = ::umask(0);
  auto created = SecretBox::LoadOrCreate(file);
  ::umask(old_umask);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  for (mode_t mode : {0644, 0640, 0604, 0660, 0700, 0610, 04600}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    for (auto loaded : {SecretBox::Load(file), SecretBox::LoadOrCreate(file)}) {
      EXPECT_EQ(loaded.status().code(), StatusCode::kFailedPrecondition) << std::oct << mode;
      EXPECT_NE(loaded.status().message().find("chmod 600 " + file), std::string::npos) << loaded.status().message();
    }
  }
  for (mode_t mode : {0600, 0400}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    auto loaded = SecretBox::Load(file);
    ASSERT_TRUE(loaded.ok()) << std::oct << mode << ": " << loaded.status().ToString();
    EXPECT_EQ(*loaded->Open(*created->Seal("v", "s"), "s"), "v");
  }
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);

  // Another user's file, even with the right mode (only root can give a file away).
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);
    auto loaded = SecretBox::Load(file);
    EXPECT_EQ(loaded.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(loaded.status().message().find("belongs to uid 65534"), std::string::npos)
        << loaded.status().message();
    EXPECT_NE(loaded.status().message().find("chown 0 " + file), std::string::npos) << loaded.status().message();
  }

  // A directory in the file's place is not a key file either.
  std::filesystem::remove(file);
  std::filesystem::create_directory(file);
  EXPECT_EQ(SecretBox::Load(file).status().code(), StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::metadata
