// Kafka: reading and writing Apache Kafka topics (librdkafka underneath), and an in-process
// Kafka broker for development and tests (librdkafka's mock cluster, which speaks the real Kafka
// protocol over TCP on loopback).
//
//   auto consumer = Consumer::Open({.brokers = "127.0.0.1:9092"});
//   (*consumer)->Assign("orders", {{0, 1200}, {1, 977}});   // positions from our checkpoint
//   (*consumer)->SetStopOffsets({{0, 5000}, {1, 5000}});     // optional: a bounded read
//   while (!(*consumer)->AtStop()) {
//     SLUICE_ASSIGN_OR_RETURN(size_t n, (*consumer)->Poll(10000, 100, on_record));
//   }
//
// Positions belong to the caller. A Consumer never commits offsets to Kafka and never joins a
// group rebalance: the caller assigns partitions at offsets it read from its own checkpoints, so
// exactly-once comes from sinks that commit those offsets with their data (docs/streaming.md).
// A checkpointed offset the broker no longer holds is an error (auto.offset.reset=error), never
// a silent jump to the earliest or latest record.
//
// Errors: broker outages are transient — librdkafka reconnects by itself, so Poll logs them (at
// most one line per client every few seconds) and returns 0 records until the brokers are back;
// Produce blocks while the local queue is full and Flush reports what could not be delivered.
// Fatal errors are returned, with what to do in the message: NotFound (missing topic or
// partition, an offset the broker no longer holds), FailedPrecondition (authentication or
// authorization, a fatal idempotent-producer state), InvalidArgument (bad options),
// Unavailable (brokers unreachable within a call's timeout).
//
// Thread-safety: a Consumer or a Producer is used from one thread at a time. MockCluster's
// methods are safe from any thread (tests set a broker down from one thread and up from another).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::kafka {

// librdkafka's error code (rd_kafka_resp_err_t) for a name such as "REQUEST_TIMED_OUT",
// "NOT_LEADER_FOR_PARTITION" (alias "NOT_LEADER_OR_FOLLOWER") or "_TRANSPORT"; case-insensitive,
// with or without the "RD_KAFKA_RESP_ERR_" prefix; a decimal code is accepted too.
Result<int> ErrorCodeByName(std::string_view name);
// The Kafka protocol API key for a request name: "Produce", "Fetch", "ListOffsets", "Metadata",
// "OffsetCommit", "OffsetFetch", "FindCoordinator", "JoinGroup", "Heartbeat", "ApiVersions",
// "InitProducerId", ...; case-insensitive; a decimal key is accepted too.
Result<int16_t> ApiKeyByName(std::string_view name);

// A Kafka cluster in this process: librdkafka's in-memory mock brokers, listening on
// 127.0.0.1 ephemeral ports. Broker ids are 1..brokers. Topics must be created explicitly.
// Limits (librdkafka 2.0): data lives in memory and is gone when the cluster is destroyed; each
// partition keeps only about 5 MiB of record batches (older ones are dropped, so use compression
// or more partitions for big tests); transactions are accepted but read_committed is not
// honoured and offsets sent to a transaction are ignored; it deduplicates producer retries only
// for transactional producers, so an idempotent producer's retry of a batch the mock did append
// (after a response timeout) is stored twice, which a real broker would not do; a partition whose
// leader is down is unavailable (no leader election).
class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> Start(int brokers = 1);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:port,127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap_servers() const;
  int brokers() const;

  // AlreadyExists if the topic exists; InvalidArgument for a bad name or partitions < 1.
  Status CreateTopic(const std::string& topic, int partitions);
  // Down: the broker closes its connections and refuses new ones; its partitions are unavailable
  // until it is up again.
  Status SetBrokerDown(int32_t broker_id);
  Status SetBrokerUp(int32_t broker_id);
  // Adds rtt_ms of latency to every response of the broker (0 removes it).
  Status SetBrokerRtt(int32_t broker_id, int rtt_ms);
  // The next error_codes.size() requests with this API key (to any broker) fail with these codes,
  // in order (0 = succeed). Codes are rd_kafka_resp_err_t values (see ErrorCodeByName).
  Status PushRequestErrors(int16_t api_key, const std::vector<int>& error_codes);

 private:
  struct Impl;
  explicit MockCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `sluice dev kafka`: starts a MockCluster of `brokers` brokers, creates `topics` (name,
// partitions), prints "bootstrap.servers=HOST:PORT,..." as the first line, then a line saying
// what this broker is not, then reads line commands until end of input or `quit`:
//   topic NAME PARTITIONS | down BROKER | up BROKER | rtt BROKER MS |
//   errors API_NAME ERR_NAME [ERR_NAME...] | help | quit
// and answers each with one line, "ok ..." or "error: ... (how to fix)". Output is flushed after
// every line. Returns an error only if the cluster or the initial topics cannot be created.
Status RunDevBroker(int brokers, const std::vector<std::pair<std::string, int>>& topics,
                    std::istream& commands, std::ostream& out);

struct ConsumerOptions {
  std::string brokers;  // bootstrap.servers
  // group.id: only names the client to the brokers (quotas, ACLs); nothing is committed.
  std::string group = "sluice";
  std::string client_id = "sluice";
  // Extra librdkafka properties (security.protocol, sasl.*, ssl.*, fetch.*, ...). The ones that
  // keep offsets with the caller (enable.auto.commit, enable.auto.offset.store,
  // auto.offset.reset) cannot be changed. isolation.level defaults to read_committed: records of
  // open or aborted transactions are never delivered (their offsets, and those of transaction
  // markers, are skipped: a partition's position moves past them when its end is reached).
  std::vector<std::pair<std::string, std::string>> config;
};

class Consumer {
 public:
  using RecordCallback =
      std::function<void(int32_t partition, int64_t offset, std::string_view key, std::string_view value)>;
  // Offset that means "no stop offset" internally; stop maps use real offsets.
  static constexpr int64_t kNoStop = INT64_MAX;

  // Creates the client; does not contact the brokers yet (a broker that is down is not an error).
  static Result<std::unique_ptr<Consumer>> Open(const ConsumerOptions& options);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Partitions of `topic` from the brokers' metadata (one request; never creates the topic).
  // NotFound if the topic does not exist; Unavailable if no broker answered within timeout_ms
  // (the call blocks that long during an outage).
  Result<int> PartitionCount(const std::string& topic, int timeout_ms);
  // {low, high}: the first offset the broker still holds and the offset the next record gets.
  // One request to the partition's leader; NotFound for a missing topic or partition; Unavailable
  // (after blocking timeout_ms) while the leader is unreachable.
  Result<std::pair<int64_t, int64_t>> Watermarks(const std::string& topic, int32_t partition, int timeout_ms);
  // The high watermark (the offset the next record gets) of each of `partitions`, in one request
  // per leader broker. Unavailable when not every partition answered within timeout_ms.
  Result<std::map<int32_t, int64_t>> HighWatermarks(const std::string& topic, const std::vector<int32_t>& partitions,
                                                    int timeout_ms);

  // Replaces the assignment with exactly these partitions of `topic`, each starting at the given
  // offset (>= 0); no group rebalance. Records are delivered from those offsets on.
  // NotFound if the topic or one of the partitions does not exist (librdkafka itself would wait
  // for them forever). This asks the brokers, for up to 5 s; if none answers, Assign succeeds and
  // Poll repeats the check once they are back.
  Status Assign(const std::string& topic, const std::map<int32_t, int64_t>& start_offsets);
  // Exclusive end offsets per partition: records at or beyond them are never delivered, and a
  // partition that reaches its stop is paused. Partitions missing from a non-empty map, and all
  // partitions for an empty map, have no limit. May be called again at any time (before or after
  // Assign) with a new map; paused partitions whose stop moved up resume where they stopped.
  void SetStopOffsets(const std::map<int32_t, int64_t>& stop);
  // True when something is assigned and every assigned partition has reached its stop offset.
  bool AtStop() const;

  // Delivers up to max_records records, in offset order within each partition, waiting at most
  // timeout_ms for the first one (returns as soon as some were delivered and no more are
  // buffered). key and value are valid only during the callback. Returns the number delivered;
  // 0 on timeout, while brokers are unreachable, or when AtStop(). A fatal error (see the file
  // comment) is returned, and returned again by every later Poll; FailedPrecondition before the
  // first Assign.
  Result<size_t> Poll(size_t max_records, int timeout_ms, const RecordCallback& on_record);

 private:
  struct Impl;
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ProducerOptions {
  std::string brokers;  // bootstrap.servers
  std::string client_id = "sluice";
  std::string compression = "zstd";  // none, gzip, snappy, lz4, zstd
  int linger_ms = 5;
  // Extra librdkafka properties. enable.idempotence, acks and transactional.id cannot be changed.
  // allow.auto.create.topics defaults to false (a misspelt topic is an error, not a new topic);
  // partitioner defaults to murmur2_random (same partition for a key as the Java client).
  std::vector<std::pair<std::string, std::string>> config;
  // Non-empty: a transactional producer with this transactional.id. Open registers it with the
  // brokers (init_transactions), which fences every older producer of the same id: its open
  // transaction is aborted and its next produce or commit fails with FailedPrecondition.
  std::string transactional_id;
  int transaction_timeout_ms = 60000;  // transaction.timeout.ms
};

// An idempotent producer (enable.idempotence=true, acks=all): retries after broker errors never
// duplicate or reorder records within a partition. With a transactional_id its records are
// written in transactions (BeginTransaction ... CommitTransaction): a read_committed consumer
// sees a transaction's records all at once when it commits, or never.
class Producer {
 public:
  // With options.transactional_id, blocks until the brokers registered the producer (at most
  // options.transaction_timeout_ms): Unavailable if they did not answer.
  static Result<std::unique_ptr<Producer>> Open(const ProducerOptions& options);
  // Records not yet delivered (no Flush) are discarded.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues one record (key and value are copied). partition -1 picks the partition from the key
  // (an empty key is a null key: any partition). When the local queue is full it waits for
  // deliveries to make room — it never drops. After a delivery error or a fatal producer error,
  // this and every later call return that error (reopen the Producer and replay from the last
  // checkpoint).
  Status Produce(const std::string& topic, int32_t partition, std::string_view key, std::string_view value);
  // Waits until every queued record is acknowledged. Returns the first delivery error (naming the
  // topic and partition), or Unavailable if records were still outstanding after timeout_ms.
  Status Flush(int timeout_ms);

  // Transactions (a producer opened with a transactional_id; FailedPrecondition otherwise).
  // Begin starts one (no broker request); Commit flushes its records and commits them atomically
  // across partitions; Abort discards them. FailedPrecondition when this producer was fenced (a
  // newer producer with the same transactional.id has been opened): it can write nothing more.
  // After another error Commit aborts the transaction (if it still can) and returns the error.
  Status BeginTransaction();
  Status CommitTransaction(int timeout_ms);
  Status AbortTransaction(int timeout_ms);

  // As Consumer::PartitionCount and Consumer::Watermarks.
  Result<int> PartitionCount(const std::string& topic, int timeout_ms);
  Result<std::pair<int64_t, int64_t>> Watermarks(const std::string& topic, int32_t partition, int timeout_ms);
  // The high watermark (the offset the next record gets) of each of `partitions`, in one request
  // per leader broker. Unavailable when not every partition answered within timeout_ms.
  Result<std::map<int32_t, int64_t>> HighWatermarks(const std::string& topic, const std::vector<int32_t>& partitions,
                                                    int timeout_ms);

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::kafka
