// Integration tests against librdkafka's mock cluster, started in this process: the real Kafka
// protocol over TCP on loopback, with the mock's fault injection for broker outages and request
// errors. Every wait is a poll with a deadline; no sleep decides an outcome.
#include "sluice/connectors/kafka/kafka.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <streambuf>
#include <thread>

namespace sluice::kafka {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(30);
constexpr int kKeys = 97;

struct Rec {
  int32_t partition;
  int64_t offset;
  std::string key;
  std::string value;
};

std::unique_ptr<MockCluster> StartCluster(int brokers, const std::string& topic, int partitions) {
  auto cluster = MockCluster::Start(brokers);
  EXPECT_TRUE(cluster.ok()) << cluster.status().ToString();
  if (!cluster.ok()) return nullptr;
  Status st = (*cluster)->CreateTopic(topic, partitions);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return std::move(*cluster);
}

std::unique_ptr<Producer> OpenProducer(const MockCluster& cluster, ProducerOptions options = {}) {
  options.brokers = cluster.bootstrap_servers();
  auto producer = Producer::Open(options);
  EXPECT_TRUE(producer.ok()) << producer.status().ToString();
  return producer.ok() ? std::move(*producer) : nullptr;
}

std::unique_ptr<Consumer> OpenConsumer(const MockCluster& cluster, ConsumerOptions options = {}) {
  options.brokers = cluster.bootstrap_servers();
  auto consumer = Consumer::Open(options);
  EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
  return consumer.ok() ? std::move(*consumer) : nullptr;
}

// Records i in [from, to): key k<i % kKeys>, value v<i>, partition chosen by key.
void ProduceRange(Producer& producer, const std::string& topic, int from, int to) {
  for (int i = from; i < to; ++i) {
    Status st = producer.Produce(topic, -1, "k" + std::to_string(i % kKeys), "v" + std::to_string(i));
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Status st = producer.Flush(30000);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

std::vector<int64_t> HighWatermarks(Consumer& consumer, const std::string& topic, int partitions) {
  std::vector<int64_t> highs;
  for (int p = 0; p < partitions; ++p) {
    auto w = consumer.Watermarks(topic, p, 10000);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    highs.push_back(w.ok() ? w->second : -1);
  }
  return highs;
}

// Polls until `done` or the deadline; every Poll must succeed.
void PollUntil(Consumer& consumer, std::vector<Rec>& out, const std::function<bool()>& done) {
  const auto deadline = Clock::now() + kDeadline;
  while (!done() && Clock::now() < deadline) {
    auto n = consumer.Poll(1000, 100, [&](int32_t p, int64_t off, std::string_view k, std::string_view v) {
      out.push_back({p, off, std::string(k), std::string(v)});
    });
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }
  ASSERT_TRUE(done()) << "timed out with " << out.size() << " records";
}

// Nothing more arrives within a short wait (used after everything expected was read).
void ExpectNoMore(Consumer& consumer) {
  size_t extra = 0;
  for (int i = 0; i < 3; ++i) {
    auto n = consumer.Poll(1000, 100, [&](int32_t, int64_t, std::string_view, std::string_view) { ++extra; });
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }
  EXPECT_EQ(extra, 0u);
}

// Per partition, the offsets delivered are exactly from[p], from[p]+1, ..., to[p]-1 in this order
// (so nothing is lost, duplicated or reordered), and a key always maps to one partition with its
// values in production order.
void ExpectExactRange(const std::vector<Rec>& recs, const std::vector<int64_t>& from, const std::vector<int64_t>& to) {
  std::vector<int64_t> next = from;
  std::map<std::string, std::pair<int32_t, long>> last_of_key;
  for (const Rec& r : recs) {
    ASSERT_GE(r.partition, 0);
    ASSERT_LT(static_cast<size_t>(r.partition), next.size());
    ASSERT_EQ(r.offset, next[r.partition]) << "partition " << r.partition;
    ++next[r.partition];
    long i = std::stol(r.value.substr(1));
    EXPECT_EQ(r.key, "k" + std::to_string(i % kKeys));
    auto [it, inserted] = last_of_key.try_emplace(r.key, r.partition, i);
    if (!inserted) {
      EXPECT_EQ(it->second.first, r.partition) << r.key;
      EXPECT_LT(it->second.second, i) << r.key;
      it->second.second = i;
    }
  }
  EXPECT_EQ(next, to);
}

std::map<int32_t, int64_t> AllFrom(const std::vector<int64_t>& offsets) {
  std::map<int32_t, int64_t> m;
  for (size_t p = 0; p < offsets.size(); ++p) m[static_cast<int32_t>(p)] = offsets[p];
  return m;
}

std::set<std::string> Values(const std::vector<Rec>& recs) {
  std::set<std::string> values;
  for (const Rec& r : recs) values.insert(r.value);
  return values;
}

std::set<std::string> ExpectedValues(int from, int to) {
  std::set<std::string> values;
  for (int i = from; i < to; ++i) values.insert("v" + std::to_string(i));
  return values;
}

TEST(KafkaNames, ErrorCodesAndApiKeys) {
  EXPECT_EQ(*ErrorCodeByName("REQUEST_TIMED_OUT"), 7);
  EXPECT_EQ(*ErrorCodeByName("not_leader_for_partition"), 6);
  EXPECT_EQ(*ErrorCodeByName("NOT_LEADER_OR_FOLLOWER"), 6);
  EXPECT_EQ(*ErrorCodeByName("RD_KAFKA_RESP_ERR__TRANSPORT"), -195);
  EXPECT_EQ(*ErrorCodeByName("7"), 7);
  EXPECT_EQ(ErrorCodeByName("NO_SUCH_ERROR").status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ErrorCodeByName("NO_SUCH_ERROR").status().message().find("REQUEST_TIMED_OUT"), std::string::npos);
  EXPECT_EQ(*ApiKeyByName("Produce"), 0);
  EXPECT_EQ(*ApiKeyByName("fetch"), 1);
  EXPECT_EQ(*ApiKeyByName("ListOffsets"), 2);
  EXPECT_EQ(*ApiKeyByName("Metadata"), 3);
  EXPECT_EQ(*ApiKeyByName("FindCoordinator"), 10);
  EXPECT_EQ(*ApiKeyByName("InitProducerId"), 22);
  EXPECT_EQ(ApiKeyByName("Frobnicate").status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ApiKeyByName("Frobnicate").status().message().find("Produce"), std::string::npos);
}

TEST(KafkaMockCluster, ValidatesItsArguments) {
  EXPECT_EQ(MockCluster::Start(0).status().code(), StatusCode::kInvalidArgument);
  auto cluster = StartCluster(2, "t", 2);
  ASSERT_NE(cluster, nullptr);
  EXPECT_NE(cluster->bootstrap_servers().find(','), std::string::npos) << cluster->bootstrap_servers();
  EXPECT_EQ(cluster->CreateTopic("t", 3).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(cluster->CreateTopic("bad name", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cluster->CreateTopic("u", 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cluster->SetBrokerDown(3).code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cluster->SetBrokerDown(0).message().find("brokers 1..2"), std::string::npos);
  EXPECT_TRUE(cluster->SetBrokerRtt(2, 10).ok());
  EXPECT_EQ(cluster->SetBrokerRtt(2, -1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cluster->PushRequestErrors(0, {12345}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(cluster->PushRequestErrors(0, {0}).ok());
}

TEST(KafkaClients, SettingsThatKeepPositionsOrIdempotenceCannotChange) {
  auto cluster = StartCluster(1, "t", 1);
  ASSERT_NE(cluster, nullptr);
  ConsumerOptions c;
  c.brokers = cluster->bootstrap_servers();
  c.config = {{"enable.auto.commit", "true"}};
  EXPECT_EQ(Consumer::Open(c).status().code(), StatusCode::kInvalidArgument);
  c.config = {{"auto.offset.reset", "earliest"}};
  EXPECT_NE(Consumer::Open(c).status().message().find("checkpoints"), std::string::npos);
  c.config = {{"enable.auto.commit", "false"}, {"fetch.wait.max.ms", "50"}};
  EXPECT_TRUE(Consumer::Open(c).ok());
  c.config = {{"no.such.setting", "1"}};
  EXPECT_EQ(Consumer::Open(c).status().code(), StatusCode::kInvalidArgument);
  ProducerOptions p;
  p.brokers = cluster->bootstrap_servers();
  p.config = {{"acks", "1"}};
  EXPECT_EQ(Producer::Open(p).status().code(), StatusCode::kInvalidArgument);
  p.config = {{"request.required.acks", "-1"}};
  EXPECT_TRUE(Producer::Open(p).ok());
  p.config = {};
  p.compression = "rot13";
  EXPECT_EQ(Producer::Open(p).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Consumer::Open({}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Kafka, ProduceThenConsumeEverythingExactlyOnceInPartitionOrder) {
  constexpr int kRecords = 20000;
  auto cluster = StartCluster(1, "orders", 4);
  ASSERT_NE(cluster, nullptr);
  auto producer = OpenProducer(*cluster);
  auto consumer = OpenConsumer(*cluster);
  ASSERT_TRUE(producer && consumer);
  ASSERT_EQ(*consumer->PartitionCount("orders", 10000), 4);
  EXPECT_EQ(*producer->PartitionCount("orders", 10000), 4);
  EXPECT_EQ(*consumer->Watermarks("orders", 0, 10000), std::make_pair(int64_t{0}, int64_t{0}));
  ProduceRange(*producer, "orders", 0, kRecords);

  std::vector<int64_t> highs = HighWatermarks(*consumer, "orders", 4);
  int64_t total = 0;
  for (int p = 0; p < 4; ++p) {
    EXPECT_GT(highs[p], 0) << "keys should spread over all partitions";
    EXPECT_EQ(producer->Watermarks("orders", p, 10000)->second, highs[p]);
    EXPECT_EQ(consumer->Watermarks("orders", p, 10000)->first, 0);
    total += highs[p];
  }
  EXPECT_EQ(total, kRecords);
  // All partitions' end offsets in one request agree with the one-by-one answers.
  auto ends = consumer->HighWatermarks("orders", {0, 1, 2, 3}, 10000);
  ASSERT_TRUE(ends.ok()) << ends.status().ToString();
  for (int p = 0; p < 4; ++p) EXPECT_EQ((*ends)[p], highs[p]) << "partition " << p;

  ASSERT_TRUE(consumer->Assign("orders", AllFrom({0, 0, 0, 0})).ok());
  EXPECT_FALSE(consumer->AtStop());
  std::vector<Rec> recs;
  PollUntil(*consumer, recs, [&] { return recs.size() >= static_cast<size_t>(kRecords); });
  ExpectNoMore(*consumer);
  ExpectExactRange(recs, {0, 0, 0, 0}, highs);
  EXPECT_EQ(Values(recs), ExpectedValues(0, kRecords));

  // Poll honours max_records.
  ASSERT_TRUE(consumer->Assign("orders", AllFrom({0, 0, 0, 0})).ok());
  size_t got = 0;
  const auto deadline = Clock::now() + kDeadline;
  while (got == 0 && Clock::now() < deadline) {
    auto n = consumer->Poll(7, 100, [&](int32_t, int64_t, std::string_view, std::string_view) { ++got; });
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, got);
  }
  EXPECT_GE(got, 1u);
  EXPECT_LE(got, 7u);
}

TEST(Kafka, ResumesFromMidOffsets) {
  constexpr int kRecords = 8000;
  auto cluster = StartCluster(1, "events", 4);
  ASSERT_NE(cluster, nullptr);
  auto producer = OpenProducer(*cluster);
  auto consumer = OpenConsumer(*cluster);
  ASSERT_TRUE(producer && consumer);
  ProduceRange(*producer, "events", 0, kRecords);
  std::vector<int64_t> highs = HighWatermarks(*consumer, "events", 4);

  ASSERT_TRUE(consumer->Assign("events", AllFrom({0, 0, 0, 0})).ok());
  std::vector<Rec> all;
  PollUntil(*consumer, all, [&] { return all.size() >= static_cast<size_t>(kRecords); });

  // A new consumer resumes where a checkpoint says; one partition is left out entirely.
  auto resumed = OpenConsumer(*cluster);
  ASSERT_NE(resumed, nullptr);
  std::vector<int64_t> mid = {highs[0] / 2, highs[1] / 3, highs[2] - 1};
  ASSERT_TRUE(resumed->Assign("events", AllFrom(mid)).ok());
  std::vector<Rec> rest;
  size_t expected = (highs[0] - mid[0]) + (highs[1] - mid[1]) + (highs[2] - mid[2]);
  PollUntil(*resumed, rest, [&] { return rest.size() >= expected; });
  ExpectNoMore(*resumed);
  ExpectExactRange(rest, mid, {highs[0], highs[1], highs[2]});
  std::map<std::pair<int32_t, int64_t>, std::string> by_position;
  for (const Rec& r : all) by_position[std::make_pair(r.partition, r.offset)] = r.value;
  for (const Rec& r : rest) EXPECT_EQ(by_position[std::make_pair(r.partition, r.offset)], r.value);
}

TEST(Kafka, StopOffsetsStopExactlyAndCanBeMoved) {
  constexpr int kRecords = 6000;
  auto cluster = StartCluster(1, "s", 3);
  ASSERT_NE(cluster, nullptr);
  auto producer = OpenProducer(*cluster);
  auto consumer = OpenConsumer(*cluster);
  ASSERT_TRUE(producer && consumer);
  ProduceRange(*producer, "s", 0, kRecords);
  std::vector<int64_t> highs = HighWatermarks(*consumer, "s", 3);

  std::vector<int64_t> first = {highs[0] / 3, 0, highs[2] / 2};
  consumer->SetStopOffsets(AllFrom(first));  // before Assign: applies to the assignment
  ASSERT_TRUE(consumer->Assign("s", AllFrom({0, 0, 0})).ok());
  std::vector<Rec> recs;
  PollUntil(*consumer, recs, [&] { return consumer->AtStop(); });
  ExpectNoMore(*consumer);  // AtStop: Poll returns 0 at once
  EXPECT_TRUE(consumer->AtStop());
  ExpectExactRange(recs, {0, 0, 0}, first);

  std::vector<int64_t> second = {highs[0] * 2 / 3, highs[1] / 4, highs[2] / 2};
  consumer->SetStopOffsets(AllFrom(second));
  EXPECT_FALSE(consumer->AtStop());
  std::vector<Rec> more;
  PollUntil(*consumer, more, [&] { return consumer->AtStop(); });
  ExpectNoMore(*consumer);
  ExpectExactRange(more, first, second);

  // Only partition 1 limited: the others run to their end.
  consumer->SetStopOffsets({{1, highs[1] / 2}});
  std::vector<Rec> partial;
  size_t expected = (highs[0] - second[0]) + (highs[1] / 2 - second[1]) + (highs[2] - second[2]);
  PollUntil(*consumer, partial, [&] { return partial.size() >= expected; });
  ExpectNoMore(*consumer);
  EXPECT_FALSE(consumer->AtStop());
  ExpectExactRange(partial, second, {highs[0], highs[1] / 2, highs[2]});

  consumer->SetStopOffsets({});  // no limit
  std::vector<Rec> rest;
  PollUntil(*consumer, rest, [&] { return rest.size() >= static_cast<size_t>(highs[1] - highs[1] / 2); });
  ExpectNoMore(*consumer);
  ExpectExactRange(rest, {highs[0], highs[1] / 2, highs[2]}, highs);
  EXPECT_EQ(recs.size() + more.size() + partial.size() + rest.size(), static_cast<size_t>(kRecords));

  // New records after the end arrive too.
  ProduceRange(*producer, "s", kRecords, kRecords + 300);
  std::vector<Rec> tail;
  PollUntil(*consumer, tail, [&] { return tail.size() >= 300u; });
  EXPECT_EQ(Values(tail), ExpectedValues(kRecords, kRecords + 300));
}

TEST(Kafka, MissingTopicsAndPartitionsAreNotFound) {
  auto cluster = StartCluster(1, "present", 4);
  ASSERT_NE(cluster, nullptr);
  auto producer = OpenProducer(*cluster);
  auto consumer = OpenConsumer(*cluster);
  ASSERT_TRUE(producer && consumer);
  auto n = consumer->PartitionCount("absent", 10000);
  EXPECT_EQ(n.status().code(), StatusCode::kNotFound) << n.status().ToString();
  EXPECT_NE(n.status().message().find("'absent' does not exist"), std::string::npos) << n.status().ToString();
  EXPECT_EQ(producer->PartitionCount("absent", 10000).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(consumer->Watermarks("absent", 0, 10000).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(producer->Watermarks("absent", 0, 10000).status().code(), StatusCode::kNotFound);
  auto w = consumer->Watermarks("present", 4, 10000);
  EXPECT_EQ(w.status().code(), StatusCode::kNotFound);
  EXPECT_NE(w.status().message().find("has 4 (0..3)"), std::string::npos) << w.status().ToString();
  EXPECT_FALSE(consumer->HighWatermarks("present", {0, 4}, 2000).ok());
  // Asking did not create it.
  EXPECT_EQ(consumer->PartitionCount("absent", 10000).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(consumer->PartitionCount("bad/name", 10000).status().code(), StatusCode::kInvalidArgument);

  // Assigning them fails at once (librdkafka alone would wait for them forever).
  Status st = consumer->Assign("absent", {{0, 0}});
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  st = consumer->Assign("present", {{0, 0}, {9, 0}});
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("no partition 9"), std::string::npos) << st.ToString();
  EXPECT_EQ(consumer->Assign("present", {{0, -5}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(consumer->Poll(1, 0, [](int32_t, int64_t, std::string_view, std::string_view) {}).status().code(),
            StatusCode::kFailedPrecondition);  // nothing was assigned
}

TEST(Kafka, AssignWhileTheBrokerIsDownThenConsumeWhenItIsBack) {
  auto cluster = StartCluster(1, "later", 2);
  ASSERT_NE(cluster, nullptr);
  auto producer = OpenProducer(*cluster);
  ASSERT_NE(producer, nullptr);
  ProduceRange(*producer, "later", 0, 500);
  ConsumerOptions options;
  options.config = {{"reconnect.backoff.max.ms", "500"}};
  auto consumer = OpenConsumer(*cluster, options);
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(cluster->SetBrokerDown(1).ok());
  Status st = consumer->Assign("later", {{0, 0}, {1, 0}});
  ASSERT_TRUE(st.ok()) << "an unreachable broker is not a reason to fail: " << st.ToString();
  size_t during = 0;
  for (int i = 0; i < 3; ++i) {
    auto n = consumer->Poll(100, 100, [&](int32_t, int64_t, std::string_view, std::string_view) { ++during; });
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }
  EXPECT_EQ(during, 0u);
  ASSERT_TRUE(cluster->SetBrokerUp(1).ok());
  std::vector<Rec> recs;
  PollUntil(*consumer, recs, [&] { return recs.size() >= 500u; });
  ExpectNoMore(*consumer);
  EXPECT_EQ(Values(recs), ExpectedValues(0, 500));
}

TEST(Kafka, OffsetTheBrokerDoesNotHoldIsAnError) {
  auto cluster = StartCluster(1, "short", 1);
  ASSERT_NE(cluster, nullptr);
  auto producer = OpenProducer(*cluster);
  auto consumer = OpenConsumer(*cluster);
  ASSERT_TRUE(producer && consumer);
  ProduceRange(*producer, "short", 0, 10);
  ASSERT_TRUE(consumer->Assign("short", {{0, 500}}).ok());
  Status error;
  const auto deadline = Clock::now() + kDeadline;
  while (error.ok() && Clock::now() < deadline) {
    auto n = consumer->Poll(100, 100, [](int32_t, int64_t, std::string_view, std::string_view) {
      ADD_FAILURE() << "no record exists at or after offset 500";
    });
    if (!n.ok()) error = n.status();
  }
  EXPECT_EQ(error.code(), StatusCode::kNotFound) << error.ToString();
  EXPECT_NE(error.message().find("offset 500 is out of range"), std::string::npos) << error.ToString();
  EXPECT_NE(error.message().find("checkpoint"), std::string::npos) << error.ToString();
  // It stays failed.
  EXPECT_EQ(consumer->Poll(1, 0, [](int32_t, int64_t, std::string_view, std::string_view) {}).status().code(),
            StatusCode::kNotFound);
}

TEST(Kafka, BrokerOutageWhileConsumingLosesAndDuplicatesNothing) {
  constexpr int kBefore = 20000;
  constexpr int kAfter = 5000;
  auto cluster = StartCluster(1, "outage", 4);
  ASSERT_NE(cluster, nullptr);
  auto producer = OpenProducer(*cluster);
  // Small prefetch so the outage hits the middle of the stream, and quick reconnects.
  ConsumerOptions options;
  options.config = {{"queued.min.messages", "100"},
                    {"queued.max.messages.kbytes", "64"},
                    {"fetch.message.max.bytes", "4096"},
                    {"reconnect.backoff.max.ms", "500"}};
  auto consumer = OpenConsumer(*cluster, options);
  ASSERT_TRUE(producer && consumer);
  ProduceRange(*producer, "outage", 0, kBefore);
  ASSERT_TRUE(consumer->Assign("outage", AllFrom({0, 0, 0, 0})).ok());

  std::vector<Rec> recs;
  PollUntil(*consumer, recs, [&] { return recs.size() >= kBefore / 4; });
  ASSERT_TRUE(cluster->SetBrokerDown(1).ok());

  // The broker comes back a while after the consumer has run dry.
  std::mutex mu;
  std::condition_variable cv;
  bool stalled = false;
  std::atomic<bool> up{false};
  std::thread restorer([&] {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::seconds(15), [&] { return stalled; });
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the outage lasts a little longer
    EXPECT_TRUE(cluster->SetBrokerUp(1).ok());
    up = true;
  });
  int empty_polls = 0;
  bool saw_stall = false;
  const auto deadline = Clock::now() + kDeadline;
  while (!up && Clock::now() < deadline) {
    auto n = consumer->Poll(1000, 100, [&](int32_t p, int64_t off, std::string_view k, std::string_view v) {
      recs.push_back({p, off, std::string(k), std::string(v)});
    });
    ASSERT_TRUE(n.ok()) << "a broker outage is not an error: " << n.status().ToString();
    empty_polls = *n == 0 ? empty_polls + 1 : 0;
    if (empty_polls >= 5 && !saw_stall) {
      saw_stall = true;
      std::lock_guard<std::mutex> lock(mu);
      stalled = true;
      cv.notify_all();
    }
  }
  restorer.join();
  EXPECT_TRUE(saw_stall) << "the outage should have stopped the stream";
  // Under load the consumer may have prefetched everything before the broker went down; what
  // must hold either way is that the records produced after the outage arrive exactly once.

  ProduceRange(*producer, "outage", kBefore, kBefore + kAfter);  // the producer reconnects as well
  PollUntil(*consumer, recs, [&] { return recs.size() >= static_cast<size_t>(kBefore + kAfter); });
  ExpectNoMore(*consumer);
  ExpectExactRange(recs, {0, 0, 0, 0}, HighWatermarks(*consumer, "outage", 4));
  EXPECT_EQ(Values(recs), ExpectedValues(0, kBefore + kAfter));
}

// Produce requests that fail (the mock rejects them before appending) are retried by the
// idempotent producer without losing, duplicating or reordering a record. (A retry of a batch the
// broker did append, e.g. after a response timeout, is deduplicated by a real broker; the mock
// only deduplicates transactional producers, so that case cannot be tested here.)
TEST(Kafka, ProduceRequestErrorsCauseNoLossAndNoDuplicates) {
  constexpr int kRecords = 10000;
  auto cluster = StartCluster(1, "flaky", 4);
  ASSERT_NE(cluster, nullptr);
  ProducerOptions options;
  options.linger_ms = 1;
  auto producer = OpenProducer(*cluster, options);
  auto consumer = OpenConsumer(*cluster);
  ASSERT_TRUE(producer && consumer);
  ASSERT_EQ(*producer->PartitionCount("flaky", 10000), 4);  // connected before the errors
  std::vector<int> errors;
  for (const char* name : {"REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT",
                           "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION"}) {
    errors.push_back(*ErrorCodeByName(name));
  }
  ASSERT_TRUE(cluster->PushRequestErrors(*ApiKeyByName("Produce"), errors).ok());
  ProduceRange(*producer, "flaky", 0, kRecords / 2);
  ASSERT_TRUE(cluster->PushRequestErrors(*ApiKeyByName("Produce"), errors).ok());
  ProduceRange(*producer, "flaky", kRecords / 2, kRecords);

  std::vector<int64_t> highs = HighWatermarks(*consumer, "flaky", 4);
  EXPECT_EQ(highs[0] + highs[1] + highs[2] + highs[3], kRecords);
  ASSERT_TRUE(consumer->Assign("flaky", AllFrom({0, 0, 0, 0})).ok());
  std::vector<Rec> recs;
  PollUntil(*consumer, recs, [&] { return recs.size() >= static_cast<size_t>(kRecords); });
  ExpectNoMore(*consumer);
  ExpectExactRange(recs, {0, 0, 0, 0}, highs);
  EXPECT_EQ(Values(recs), ExpectedValues(0, kRecords));
}

TEST(Kafka, FlushReportsTheFirstDeliveryErrorWithTopicAndPartition) {
  auto cluster = StartCluster(1, "lost", 4);
  ASSERT_NE(cluster, nullptr);
  ProducerOptions options;
  options.config = {{"message.timeout.ms", "1500"}};
  auto producer = OpenProducer(*cluster, options);
  ASSERT_NE(producer, nullptr);
  ASSERT_EQ(*producer->PartitionCount("lost", 10000), 4);
  ASSERT_TRUE(cluster->SetBrokerDown(1).ok());
  ASSERT_TRUE(producer->Produce("lost", 2, "k", "v").ok());
  Status st = producer->Flush(20000);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("topic 'lost' partition 2"), std::string::npos) << st.ToString();
  // Sticky: the producer must be reopened.
  EXPECT_EQ(producer->Produce("lost", 1, "k", "v").code(), StatusCode::kUnavailable);
  EXPECT_EQ(producer->Produce("lost", -2, "k", "v").code(), StatusCode::kUnavailable);
}

// Line-at-a-time input that blocks until the test writes, and output the test can wait on.
class LinePipe : public std::streambuf {
 public:
  void Write(const std::string& s) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ += s;
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 protected:
  int_type underflow() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !pending_.empty() || closed_; });
    if (pending_.empty()) return traits_type::eof();
    current_.swap(pending_);
    pending_.clear();
    setg(current_.data(), current_.data(), current_.data() + current_.size());
    return traits_type::to_int_type(current_[0]);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  std::string current_;
  bool closed_ = false;
};

class LineSink : public std::streambuf {
 public:
  std::optional<std::string> NextLine(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return text_.find('\n') != std::string::npos; })) return std::nullopt;
    size_t end = text_.find('\n');
    std::string line = text_.substr(0, end);
    text_.erase(0, end + 1);
    return line;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) xsputn(reinterpret_cast<const char*>(&c), 1);
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(s, n);
    cv_.notify_all();
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
};

bool StartsWith(const std::optional<std::string>& line, std::string_view prefix) {
  return line.has_value() && line->substr(0, prefix.size()) == prefix;
}

TEST(KafkaDevBroker, AnswersScriptedCommands) {
  std::istringstream commands(
      "help\n"
      "topic extra 3\n"
      "\n"
      "# a comment\n"
      "topic extra 3\n"
      "topic extra\n"
      "down 1\n"
      "up 1\n"
      "down 4\n"
      "rtt 1 25\n"
      "errors Produce REQUEST_TIMED_OUT NOT_LEADER_FOR_PARTITION\n"
      "errors Produce NO_SUCH_ERROR\n"
      "errors Frobnicate REQUEST_TIMED_OUT\n"
      "launch rockets\n"
      "quit\n"
      "topic never 1\n");
  std::ostringstream out;
  Status st = RunDevBroker(1, {{"orders", 4}}, commands, out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 16u) << out.str();
  EXPECT_EQ(lines[0].rfind("bootstrap.servers=127.0.0.1:", 0), 0u) << lines[0];
  EXPECT_NE(lines[1].find("in-memory development broker"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("5 MiB per partition"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("read_committed"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("orders (4 partitions)"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[3].rfind("ok commands: topic NAME PARTITIONS", 0), 0u) << lines[3];
  EXPECT_EQ(lines[4], "ok topic extra created with 3 partitions");
  EXPECT_EQ(lines[5].rfind("error: topic 'extra' already exists", 0), 0u) << lines[5];
  EXPECT_EQ(lines[6].rfind("error: usage: topic NAME PARTITIONS", 0), 0u) << lines[6];
  EXPECT_EQ(lines[7].rfind("ok broker 1 is down", 0), 0u) << lines[7];
  EXPECT_EQ(lines[8], "ok broker 1 is up");
  EXPECT_EQ(lines[9], "error: broker 4 does not exist: this cluster has brokers 1..1");
  EXPECT_EQ(lines[10], "ok broker 1 answers after 25 ms");
  EXPECT_EQ(lines[11],
            "ok the next 2 Produce request(s) fail with REQUEST_TIMED_OUT, NOT_LEADER_FOR_PARTITION");
  EXPECT_EQ(lines[12].rfind("error: unknown Kafka error name 'NO_SUCH_ERROR'", 0), 0u) << lines[12];
  EXPECT_EQ(lines[13].rfind("error: unknown Kafka request type 'Frobnicate'", 0), 0u) << lines[13];
  EXPECT_EQ(lines[14].rfind("error: unknown command 'launch'", 0), 0u) << lines[14];
  EXPECT_EQ(lines[15], "ok stopping; the data is gone");

  std::istringstream none;
  EXPECT_EQ(RunDevBroker(1, {{"bad name", 1}}, none, out).code(), StatusCode::kInvalidArgument);
}

TEST(KafkaDevBroker, CommandsActOnTheLiveCluster) {
  LinePipe input_buf;
  LineSink output_buf;
  std::istream input(&input_buf);
  std::ostream output(&output_buf);
  Status result = Status::Internal("not finished");
  std::thread broker([&] { result = RunDevBroker(1, {}, input, output); });
  std::optional<std::string> first = output_buf.NextLine();
  ASSERT_TRUE(StartsWith(first, "bootstrap.servers=")) << first.value_or("(nothing)");
  EXPECT_TRUE(StartsWith(output_buf.NextLine(), "note: "));
  EXPECT_TRUE(StartsWith(output_buf.NextLine(), "ready: "));
  std::string brokers = first->substr(std::string_view("bootstrap.servers=").size());

  ConsumerOptions options;
  options.brokers = brokers;
  auto consumer = Consumer::Open(options);
  ASSERT_TRUE(consumer.ok()) << consumer.status().ToString();
  EXPECT_EQ((*consumer)->PartitionCount("live", 10000).status().code(), StatusCode::kNotFound);
  input_buf.Write("topic live 3\n");
  EXPECT_TRUE(StartsWith(output_buf.NextLine(), "ok topic live created"));
  EXPECT_EQ(*(*consumer)->PartitionCount("live", 10000), 3);
  input_buf.Write("down 1\n");
  EXPECT_TRUE(StartsWith(output_buf.NextLine(), "ok broker 1 is down"));
  EXPECT_EQ((*consumer)->PartitionCount("live", 1500).status().code(), StatusCode::kUnavailable);
  input_buf.Write("up 1\n");
  EXPECT_TRUE(StartsWith(output_buf.NextLine(), "ok broker 1 is up"));
  auto n = (*consumer)->PartitionCount("live", 20000);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  input_buf.Close();  // end of input stops the broker
  broker.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
}

// Two producers with one transactional.id, as two workers of one run at two lease generations:
// the older one is fenced when the newer one registers, its commit fails with FailedPrecondition,
// and a read_committed consumer sees each committed record once and none of the fenced one's.
// librdkafka 2.0's mock cluster does not fence by itself (a second InitProducerId for the same
// transactional.id gets a new producer id and leaves the old one valid), so the broker's answer
// to the fenced producer is injected: PRODUCER_FENCED on its AddPartitionsToTxn, the first
// request a real broker refuses after the fence.
TEST(KafkaTransactions, AFencedProducerCannotCommitAndReadCommittedSeesEachRecordOnce) {
  auto cluster = StartCluster(1, "txn", 3);
  ASSERT_NE(cluster, nullptr);
  ProducerOptions po;
  po.transactional_id = "sluice.ops/s.out";
  po.transaction_timeout_ms = 10000;
  po.client_id = "older";
  auto older = OpenProducer(*cluster, po);
  ASSERT_NE(older, nullptr);
  po.client_id = "newer";
  auto newer = OpenProducer(*cluster, po);
  ASSERT_NE(newer, nullptr);

  auto api = ApiKeyByName("AddPartitionsToTxn");
  auto fenced = ErrorCodeByName("PRODUCER_FENCED");
  ASSERT_TRUE(api.ok() && fenced.ok());
  ASSERT_TRUE(cluster->PushRequestErrors(*api, {*fenced}).ok());
  ASSERT_TRUE(older->BeginTransaction().ok());
  for (int i = 0; i < 50; ++i) {
    Status st = older->Produce("txn", -1, "k" + std::to_string(i % kKeys), "v" + std::to_string(i));
    if (!st.ok()) break;  // the fence may already have been seen
  }
  Status commit = older->CommitTransaction(10000);
  EXPECT_EQ(commit.code(), StatusCode::kFailedPrecondition) << commit.ToString();
  EXPECT_NE(commit.message().find("fenced"), std::string::npos) << commit.ToString();
  // Fenced for good: nothing more from the older producer.
  EXPECT_FALSE(older->Produce("txn", 0, {}, "late").ok());

  ASSERT_TRUE(newer->BeginTransaction().ok());
  ProduceRange(*newer, "txn", 0, 500);  // Flush inside a transaction sends the records, uncommitted
  Status ok = newer->CommitTransaction(10000);
  ASSERT_TRUE(ok.ok()) << ok.ToString();

  auto consumer = OpenConsumer(*cluster);  // read_committed by default
  ASSERT_NE(consumer, nullptr);
  std::vector<int64_t> highs = HighWatermarks(*consumer, "txn", 3);
  std::map<int32_t, int64_t> stop;
  for (int p = 0; p < 3; ++p) stop[p] = highs[p];
  consumer->SetStopOffsets(stop);
  ASSERT_TRUE(consumer->Assign("txn", {{0, 0}, {1, 0}, {2, 0}}).ok());
  std::vector<Rec> recs;
  PollUntil(*consumer, recs, [&] { return consumer->AtStop(); });
  std::multiset<std::string> values;
  for (const Rec& r : recs) values.insert(r.value);
  std::multiset<std::string> expected;
  for (int i = 0; i < 500; ++i) expected.insert("v" + std::to_string(i));
  EXPECT_EQ(values, expected) << "each committed record once, none of the fenced producer's";
}

// Commit and abort: what a transaction wrote becomes visible on commit; a producer without a
// transactional_id refuses transactions.
TEST(KafkaTransactions, CommitDeliversARangeExactlyAndNonTransactionalProducersRefuse) {
  auto cluster = StartCluster(1, "t2", 2);
  ASSERT_NE(cluster, nullptr);
  auto plain = OpenProducer(*cluster);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->BeginTransaction().code(), StatusCode::kFailedPrecondition);
  ProducerOptions po;
  po.transactional_id = "t2-writer";
  po.transaction_timeout_ms = 10000;
  auto producer = OpenProducer(*cluster, po);
  ASSERT_NE(producer, nullptr);
  for (int epoch = 0; epoch < 3; ++epoch) {
    ASSERT_TRUE(producer->BeginTransaction().ok());
    ProduceRange(*producer, "t2", epoch * 100, epoch * 100 + 100);
    Status st = producer->CommitTransaction(10000);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto consumer = OpenConsumer(*cluster);
  ASSERT_NE(consumer, nullptr);
  std::vector<int64_t> highs = HighWatermarks(*consumer, "t2", 2);
  consumer->SetStopOffsets({{0, highs[0]}, {1, highs[1]}});
  ASSERT_TRUE(consumer->Assign("t2", {{0, 0}, {1, 0}}).ok());
  std::vector<Rec> recs;
  PollUntil(*consumer, recs, [&] { return consumer->AtStop(); });
  ExpectExactRange(recs, {0, 0}, highs);
  EXPECT_EQ(recs.size(), 300u);
}

}  // namespace
}  // namespace sluice::kafka
