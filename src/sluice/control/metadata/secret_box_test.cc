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

}  // namespace
}  // namespace sluice::metadata
