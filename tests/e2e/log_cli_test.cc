// The embedded log through the CLI: produce from stdin into partitions by key, list, consume
// everything back (nothing lost, nothing doubled, each key in order), and read from an offset;
// a stream run over a record too deep to decode.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "process.h"

namespace sluice::testing {
namespace {

using nlohmann::json;

const std::string kBin = SLUICE_BIN;

ProcessResult Shell(const std::string& cmd) { return RunProcess({"/bin/sh", "-c", cmd}); }

TEST(LogCli, ProduceConsumeKeepsEveryRecordAndKeyOrder) {
  TempDir dir;
  std::string input;
  for (int i = 0; i < 2500; ++i) {
    input += "{\"user\": " + std::to_string(i % 37) + ", \"seq\": " + std::to_string(i) + "}\n";
  }
  WriteFile(dir / "in.ndjson", input);
  auto p = Shell(kBin + " log produce clicks --partitions 3 --key user --workdir " + dir / "w" + " -o json < " +
                 dir / "in.ndjson");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(json::parse(p.out)["produced"], 2500);

  auto ls = RunProcess({kBin, "log", "ls", "--workdir", dir / "w", "-o", "json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  json topics = json::parse(ls.out);
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0]["topic"], "clicks");
  EXPECT_EQ(topics[0]["partitions"], 3);
  EXPECT_EQ(topics[0]["records"], 2500);

  auto c = RunProcess({kBin, "log", "consume", "clicks", "--workdir", dir / "w", "-o", "json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::vector<int> seqs;
  std::map<int, int> partition_of_user;
  std::map<int, int> last_seq_of_user;
  size_t pos = 0;
  while (pos < c.out.size()) {
    size_t nl = c.out.find('\n', pos);
    json r = json::parse(c.out.substr(pos, nl - pos));
    json v = json::parse(r["value"].get<std::string>());
    int user = v["user"], seq = v["seq"], part = r["partition"];
    seqs.push_back(seq);
    // One key, one partition, in the order produced.
    if (partition_of_user.count(user)) EXPECT_EQ(partition_of_user[user], part) << user;
    partition_of_user[user] = part;
    if (last_seq_of_user.count(user)) EXPECT_LT(last_seq_of_user[user], seq) << user;
    last_seq_of_user[user] = seq;
    pos = nl + 1;
  }
  ASSERT_EQ(seqs.size(), 2500u);
  std::sort(seqs.begin(), seqs.end());
  for (int i = 0; i < 2500; ++i) ASSERT_EQ(seqs[i], i);  // nothing lost or doubled

  auto some = RunProcess({kBin, "log", "consume", "clicks", "--workdir", dir / "w", "--partition", "1", "--from", "5",
                          "--limit", "3", "-o", "json"});
  ASSERT_EQ(some.exit_code, 0) << some.err;
  std::vector<int64_t> offsets;
  pos = 0;
  while (pos < some.out.size()) {
    size_t nl = some.out.find('\n', pos);
    offsets.push_back(json::parse(some.out.substr(pos, nl - pos))["offset"].get<int64_t>());
    pos = nl + 1;
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{5, 6, 7}));

  // Producing more appends after what is there; a topic keeps its partition count.
  auto again = Shell(kBin + " log produce clicks --workdir " + dir / "w" + " -o json < " + dir / "in.ndjson");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto ls2 = RunProcess({kBin, "log", "ls", "--workdir", dir / "w", "-o", "json"});
  EXPECT_EQ(json::parse(ls2.out)[0]["records"], 5000);
  auto bad = Shell(kBin + " log produce clicks --partitions 5 --workdir " + dir / "w" + " < /dev/null");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_FALSE(bad.err.empty());
}

// A stream source reads the log with the same decoder as files: a record nested 100,000 levels
// deep is a too_deep dead letter, and the records around it are processed.
TEST(LogCli, DeepRecordFromTheLogIsADeadLetter) {
  TempDir dir;
  const std::string deep = std::string(100000, '[') + "1" + std::string(100000, ']');
  WriteFile(dir / "in.ndjson", "{\"id\": 1}\n{\"id\": 2, \"tags\": " + deep + "}\n" + deep + "\n{\"id\": 4}\n");
  auto p = Shell(kBin + " log produce ev --workdir " + dir / "w" + " -o json < " + dir / "in.ndjson");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  ASSERT_EQ(json::parse(p.out)["produced"], 4);
  WriteFile(dir / "s.yaml", R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: deep_stream}
spec:
  mode: stream
  sources:
    ev: {kind: log, topic: ev, schema: {fields: [{name: id, type: int64}]}}
  sinks:
    out: {kind: lake, inputs: [ev], table: bronze.ev}
)yaml");
  auto r = RunProcess({kBin, "run", "-f", dir / "s.yaml", "--workdir", dir / "w", "--until-idle", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["components"]["ev"]["in"], 4);
  EXPECT_EQ(j["components"]["ev"]["out"], 2);
  EXPECT_EQ(j["components"]["ev"]["dead_letter"], 2);
  const std::string dl = ReadFile(dir / "w/dead_letters/deep_stream/epoch-000000000001.ndjson");
  std::vector<int64_t> offsets;
  for (size_t pos = 0, nl; (nl = dl.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    const json d = json::parse(dl.substr(pos, nl - pos));
    EXPECT_EQ(d["error_class"], "too_deep") << d["error_message"];
    offsets.push_back(d["offset"]);
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 2}));  // log offsets of the two deep records
}

}  // namespace
}  // namespace sluice::testing
