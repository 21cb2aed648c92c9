#include "sluice/io/workdir.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Workdir, NamesEachPlaceInTheLayout) {
  const Workdir w(".sluice");
  EXPECT_EQ(w.root().string(), ".sluice");
  EXPECT_EQ(w.Lake().string(), ".sluice/lake");
  EXPECT_EQ(w.Log().string(), ".sluice/log");
  EXPECT_EQ(w.WarehouseDb().string(), ".sluice/warehouse.db");
  EXPECT_EQ(w.DefaultWarehouseUrl(), "sqlite:.sluice/warehouse.db");
  EXPECT_EQ(w.MetadataDb().string(), ".sluice/meta.db");
  EXPECT_EQ(w.DefaultMetadataUrl(), "sqlite:.sluice/meta.db");
  EXPECT_EQ(w.SecretKeyFile().string(), ".sluice/secret.key");
  EXPECT_EQ(w.Checkpoints("clicks").string(), ".sluice/checkpoints/clicks");
  EXPECT_EQ(w.DeadLetters("clicks").string(), ".sluice/dead_letters/clicks");
  EXPECT_EQ(w.BatchDeadLetterFile("orders", "run-2026-01-02T03-04-05-000000Z").string(),
            ".sluice/dead_letters/orders/run-2026-01-02T03-04-05-000000Z.ndjson");
  EXPECT_EQ(w.SinkIntent("clicks", "to_warehouse").string(), ".sluice/sinks/clicks/to_warehouse.json");
  EXPECT_EQ(w.Replay("orders", "r1").string(), ".sluice/replays/orders/r1");
  EXPECT_EQ(w.DataRoot().string(), ".sluice/data");
  EXPECT_EQ(w.Checkpoints("team/orders").string(), ".sluice/checkpoints/team/orders");
}

TEST(Workdir, ANamespacesWorkdirIsItsFolderUnderTheDataRoot) {
  const Workdir w = NamespaceWorkdir("/srv/sluice/data", "team");
  EXPECT_EQ(w.root().string(), "/srv/sluice/data/team");
  EXPECT_EQ(w.Lake().string(), "/srv/sluice/data/team/lake");
  EXPECT_EQ(w.DefaultWarehouseUrl(), "sqlite:/srv/sluice/data/team/warehouse.db");
}

TEST(Workdir, SpellsPathsAsStringJoiningDidForAnAbsoluteRoot) {
  const std::string root = "/srv/sluice-data";
  const Workdir w(root);
  EXPECT_EQ(w.Log().string(), root + "/log");
  EXPECT_EQ(w.DefaultMetadataUrl(), "sqlite:" + root + "/meta.db");
  EXPECT_EQ(w.SecretKeyFile().string(), root + "/secret.key");
  EXPECT_EQ(w.BatchDeadLetterFile("orders", "r7").string(), root + "/dead_letters/" + "orders" + "/" + "r7" + ".ndjson");
}

TEST(Workdir, KeepsEachPathsOldSpellingForARootWithATrailingSlash) {
  const Workdir w("/srv/sluice-data/");
  EXPECT_EQ(w.Lake().string(), "/srv/sluice-data/lake");
  EXPECT_EQ(w.Checkpoints("clicks").string(), "/srv/sluice-data/checkpoints/clicks");
  EXPECT_EQ(w.DeadLetters("clicks").string(), "/srv/sluice-data/dead_letters/clicks");
  EXPECT_EQ(w.DefaultWarehouseUrl(), "sqlite:/srv/sluice-data/warehouse.db");
  EXPECT_EQ(w.DefaultMetadataUrl(), "sqlite:/srv/sluice-data//meta.db");
  EXPECT_EQ(w.SecretKeyFile().string(), "/srv/sluice-data//secret.key");
  EXPECT_EQ(w.BatchDeadLetterFile("orders", "r7").string(), "/srv/sluice-data//dead_letters/orders/r7.ndjson");
}

TEST(DataRootId, IsMadeOnceAndReadBackTheSame) {
  const std::filesystem::path root = std::filesystem::temp_directory_path() /
                                     ("sluice_data_root_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  EXPECT_FALSE(ReadDataRootId(root)->has_value()) << "a data root that does not exist has no id";
  auto made = EnsureDataRootId(root);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->size(), 32u);
  EXPECT_EQ(*EnsureDataRootId(root), *made) << "a second server start keeps the id";
  EXPECT_EQ(**ReadDataRootId(root), *made);
  // Another data root gets another id.
  const std::filesystem::path other = root / "elsewhere";
  EXPECT_NE(*EnsureDataRootId(other), *made);
  // Nothing but the id file is left behind (no temporary files).
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(root)) entries += e.path().filename() != "elsewhere";
  EXPECT_EQ(entries, 1u);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace sluice
