// Two `sluice serve` replicas over one real PostgreSQL, ingesting into one Kafka cluster (the
// librdkafka mock cluster): an ingest request with an Idempotency-Key sent to both replicas at
// once is appended once, and both answers are the first one's.
#include <signal.h>

#include <chrono>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.h"
#include "sluice/client/api_client.h"
#include "sluice/connectors/kafka/kafka.h"
#include "support/postgres_server.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
const std::string kBin = SLUICE_BIN;
const std::string kAdminPassword = "correct horse battery staple";

class Replicas : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    pg_ = PostgresServer::Start(&error);
    ASSERT_NE(pg_, nullptr) << error;
    auto cluster = kafka::MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    kafka_ = std::move(*cluster);
    ASSERT_TRUE(kafka_->CreateTopic("ingest.orders", 1).ok());
    // Both replicas share the metadata database and the key that signs tokens (one workdir);
    // neither runs pipelines.
    const std::string work = dir_ / "work";
    fs::create_directories(work);
    for (int i = 0; i < 2; ++i) {
      const std::string tag = "replica" + std::to_string(i);
      pids_[i] = SpawnProcess({"/bin/sh", "-c",
                               "SLUICE_METADATA_URL='" + pg_->url() + "' SLUICE_ADMIN_PASSWORD='" + kAdminPassword +
                                   "' exec '" + kBin + "' serve " + (i == 0 ? "--init-admin " : "") +
                                   "--listen 127.0.0.1:0 --batch-workers 0 --stream-workers 0 --ingest-kafka " +
                                   kafka_->bootstrap_servers() + " --workdir '" + work + "' > '" +
                                   (dir_ / (tag + ".url")) + "' 2> '" + (dir_ / (tag + ".log")) + "'"});
      urls_[i] = WaitForFirstLine(dir_ / (tag + ".url"));
      ASSERT_FALSE(urls_[i].empty()) << ReadFile(dir_ / (tag + ".log"));
    }
    // An API token (kept in the metadata database) that both replicas accept.
    const std::string config = dir_ / "client.json";
    auto login = RunClient(kBin, {"login", "--user", "admin"}, urls_[0], config, kAdminPassword + "\n",
                           dir_ / "stdin.txt");
    ASSERT_EQ(login.exit_code, 0) << login.err;
    auto token = RunClient(kBin, {"token", "create", "loader", "-o", "json"}, urls_[0], config, "", dir_ / "stdin.txt");
    ASSERT_EQ(token.exit_code, 0) << token.err;
    token_ = json::parse(token.out)["token"].get<std::string>();
  }
  void TearDown() override {
    for (int pid : pids_) {
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        WaitProcess(pid);
      }
    }
  }

  client::ApiClient Client(int replica) {
    auto c = client::ApiClient::Create({.server = urls_[replica], .token = token_});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(*c);
  }

  // Sends the request until it is answered with something other than 409 (the key is held by a
  // request still appending; Retry-After says when to ask again), at most 60 s.
  static client::ApiResponse Ingest(client::ApiClient& c, const std::string& body, const std::string& key) {
    client::ApiResponse r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {
      auto sent = c.Request("POST", "/api/v1/ingest/orders", body, "application/x-ndjson", {{"Idempotency-Key", key}});
      if (!sent.ok()) {
        r.status = 0;
        r.body = sent.status().ToString();
        return r;
      }
      r = std::move(*sent);
      if (r.status != 409) return r;
      const int wait_s = std::stoi(r.Header("Retry-After").value_or("1"));
      std::this_thread::sleep_for(std::chrono::seconds(wait_s));  // the server's own pacing
    } while (std::chrono::steady_clock::now() < deadline);
    return r;
  }

  // Every record of ingest.orders, in order.
  std::vector<std::string> Topic() {
    auto consumer = kafka::Consumer::Open({.brokers = kafka_->bootstrap_servers()});
    EXPECT_TRUE(consumer.ok());
    if (!consumer.ok()) return {};
    std::map<int32_t, int64_t> start = {{0, 0}},
                               stop = {{0, (*consumer)->Watermarks("ingest.orders", 0, 10000)->second}};
    (*consumer)->SetStopOffsets(stop);
    EXPECT_TRUE((*consumer)->Assign("ingest.orders", start).ok());
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!(*consumer)->AtStop() && std::chrono::steady_clock::now() < deadline) {
      EXPECT_TRUE(
          (*consumer)
              ->Poll(100, 100, [&](int32_t, int64_t, std::string_view, std::string_view v) { got.emplace_back(v); })
              .ok());
    }
    return got;
  }

  TempDir dir_;
  std::unique_ptr<PostgresServer> pg_;
  std::unique_ptr<kafka::MockCluster> kafka_;
  int pids_[2] = {-1, -1};
  std::string urls_[2];
  std::string token_;
};

TEST_F(Replicas, OneIdempotencyKeySentToBothReplicasAtOnceAppendsOnce) {
  std::string body;
  for (int i = 0; i < 500; ++i) body += "{\"order\": " + std::to_string(i) + "}\n";
  for (const std::string key : {"load-1", "load-2"}) {
    client::ApiResponse answers[2];
    std::thread other([&] {
      auto c = Client(1);
      answers[1] = Ingest(c, body, key);
    });
    auto c = Client(0);
    answers[0] = Ingest(c, body, key);
    other.join();
    for (const auto& a : answers) ASSERT_EQ(a.status, 200) << a.body;
    // One request appended; the other got its answer (the same records at the same offsets).
    EXPECT_EQ(answers[0].json, answers[1].json);
    EXPECT_NE(answers[0].Header("Idempotent-Replayed").has_value(),
              answers[1].Header("Idempotent-Replayed").has_value())
        << "exactly one of the two answers is a replay";
  }
  // Two keys, two appends: each record twice, not four times.
  const std::vector<std::string> got = Topic();
  ASSERT_EQ(got.size(), 1000u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(json::parse(got[i])["order"], static_cast<int>(i % 500)) << "record " << i;
  }
}

}  // namespace
}  // namespace sluice::testing
