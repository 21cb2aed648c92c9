// Producer: idempotent, with backpressure on a full local queue and sticky delivery errors;
// optionally transactional.
#include <unordered_map>

#include "sluice/base/logging.h"
#include "sluice/connectors/kafka/kafka.h"
#include "sluice/connectors/kafka/kafka_internal.h"

namespace sluice::kafka {
namespace {

// Delivery reports are served at least every this many Produce calls (and in Flush).
constexpr uint32_t kPollEvery = 1024;
// How long Produce waits for deliveries per try when the local queue is full.
constexpr int kQueueFullWaitMs = 50;

Status DeliveryError(const std::string& client, const char* topic, int32_t partition, rd_kafka_resp_err_t err) {
  std::string where = partition >= 0 ? fmt::format("Kafka topic '{}' partition {}", topic, partition)
                                     : fmt::format("Kafka topic '{}' (no partition chosen yet)", topic);
  if (internal::IsFencedError(err)) return internal::Fenced(client, internal::ErrorText(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return internal::Unavailable(
          "delivery to {} failed: {}; the brokers were unreachable for longer than message.timeout.ms: check them, "
          "then reopen the producer and replay from the last checkpoint",
          where, internal::ErrorText(err));
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return Status::NotFound("delivery to {} failed: {}; create the topic (with enough partitions) or fix the "
                              "topic name in the spec",
                              where, internal::ErrorText(err));
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return Status::InvalidArgument("delivery to {} failed: {}; the record is larger than the broker accepts "
                                     "(message.max.bytes): shrink it or raise the topic's max.message.bytes",
                                     where, internal::ErrorText(err));
    default:
      if (internal::IsAuthError(err)) {
        return Status::FailedPrecondition("delivery to {} failed: {}; grant producer '{}' WRITE on the topic and "
                                          "check its sasl.*/ssl.* settings",
                                          where, internal::ErrorText(err), client);
      }
      return Status::IoError("delivery to {} failed: {}; reopen the producer and replay from the last checkpoint",
                             where, internal::ErrorText(err));
  }
}

void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* events = static_cast<internal::ClientEvents*>(opaque);
  events->Fatal(DeliveryError(events->client(), rd_kafka_topic_name(m->rkt), m->partition, m->err));
}

void SetDeliveryCallback(rd_kafka_conf_t* conf) { rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery); }

// Frees a librdkafka transaction error when it goes out of scope.
struct TxnError {
  rd_kafka_error_t* error;
  ~TxnError() {
    if (error != nullptr) rd_kafka_error_destroy(error);
  }
};

// Our status for a failed transaction call `what` ("commit", ...).
Status TxnStatus(const internal::ClientEvents& events, const char* what, rd_kafka_error_t* error) {
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  const std::string detail = fmt::format("{} ({})", rd_kafka_error_name(error), rd_kafka_error_string(error));
  if (internal::IsFencedError(code)) return internal::Fenced(events.client(), detail);
  if (code == RD_KAFKA_RESP_ERR__TIMED_OUT || rd_kafka_error_is_retriable(error)) {
    return internal::Unavailable(
        "Kafka producer '{}': transaction {} did not complete: {}; the brokers are unreachable or slow: reopen "
        "the producer and replay from the last checkpoint",
        events.client(), what, detail);
  }
  return Status::IoError("Kafka producer '{}': transaction {} failed: {}; reopen the producer and replay from the "
                         "last checkpoint",
                         events.client(), what, detail);
}

}  // namespace

struct Producer::Impl {
  explicit Impl(std::string client) : events("producer", std::move(client)) {}
  ~Impl() {
    if (rk == nullptr) return;
    // Without a Flush the caller gave up on these records; do not wait for them.
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);
    for (auto& [name, rkt] : topics) rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
  }

  Result<rd_kafka_topic_t*> Topic(const std::string& name) {
    if (last_name != nullptr && *last_name == name) return last_topic;
    auto it = topics.find(name);
    if (it == topics.end()) {
      SLUICE_RETURN_IF_ERROR(internal::ValidateTopicName(name));
      rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, name.c_str(), nullptr);
      if (rkt == nullptr) {
        return Status::InvalidArgument("cannot use Kafka topic '{}': {}", name,
                                       internal::ErrorText(rd_kafka_last_error()));
      }
      it = topics.emplace(name, rkt).first;
    }
    last_name = &it->first;
    last_topic = it->second;
    return last_topic;
  }

  internal::ClientEvents events;  // outlives rk: librdkafka's callbacks report to it
  rd_kafka_t* rk = nullptr;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics;
  const std::string* last_name = nullptr;  // a key of `topics`
  rd_kafka_topic_t* last_topic = nullptr;
  uint32_t since_poll = 0;
  bool transactional = false;
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;

Result<std::unique_ptr<Producer>> Producer::Open(const ProducerOptions& options) {
  if (options.brokers.empty()) {
    return Status::InvalidArgument("no Kafka brokers: set brokers to host:port[,host:port...]");
  }
  if (options.linger_ms < 0) return Status::InvalidArgument("linger_ms must be >= 0, not {}", options.linger_ms);
  auto impl = std::make_unique<Impl>(options.client_id);
  const internal::Settings defaults = {
      {"bootstrap.servers", options.brokers},
      {"client.id", options.client_id},
      {"compression.type", options.compression},
      {"linger.ms", std::to_string(options.linger_ms)},
      {"partitioner", "murmur2_random"},
      {"allow.auto.create.topics", "false"},
  };
  internal::Settings fixed = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
  };
  if (!options.transactional_id.empty()) {
    fixed.emplace_back("transactional.id", options.transactional_id);
    fixed.emplace_back("transaction.timeout.ms", std::to_string(options.transaction_timeout_ms));
  }
  SLUICE_ASSIGN_OR_RETURN(impl->rk, internal::NewClient(RD_KAFKA_PRODUCER, defaults, options.config, fixed,
                                                        &impl->events, SetDeliveryCallback));
  if (!options.transactional_id.empty()) {
    impl->transactional = true;
    // Fences every older producer of this transactional.id and aborts its open transaction.
    TxnError init{rd_kafka_init_transactions(impl->rk, options.transaction_timeout_ms)};
    if (init.error != nullptr) return TxnStatus(impl->events, "registration (init_transactions)", init.error);
  }
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Status Producer::Produce(const std::string& topic, int32_t partition, std::string_view key, std::string_view value) {
  Impl& s = *impl_;
  SLUICE_RETURN_IF_ERROR(s.events.fatal());
  if (partition < RD_KAFKA_PARTITION_UA) {
    return Status::InvalidArgument("Kafka partition must be >= 0, or -1 to choose by key; not {}", partition);
  }
  SLUICE_ASSIGN_OR_RETURN(rd_kafka_topic_t* rkt, s.Topic(topic));
  for (;;) {
    int rc = rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()), value.size(),
                              key.empty() ? nullptr : key.data(), key.size(), nullptr);
    if (rc == 0) break;
    rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      SLUICE_RETURN_IF_ERROR(s.events.fatal());
      return DeliveryError(s.events.client(), topic.c_str(), partition, err);
    }
    // Backpressure: serve delivery reports until librdkafka has room again.
    rd_kafka_poll(s.rk, kQueueFullWaitMs);
    SLUICE_RETURN_IF_ERROR(s.events.fatal());
  }
  if (++s.since_poll >= kPollEvery) {
    s.since_poll = 0;
    rd_kafka_poll(s.rk, 0);
  }
  return Status::OK();
}

Status Producer::Flush(int timeout_ms) {
  Impl& s = *impl_;
  rd_kafka_resp_err_t err = rd_kafka_flush(s.rk, std::max(timeout_ms, 0));
  SLUICE_RETURN_IF_ERROR(s.events.fatal());
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return internal::Unavailable(
        "Kafka producer '{}': {} records not acknowledged within {} ms; the brokers are unreachable or slow: call "
        "Flush again, or reopen the producer and replay from the last checkpoint",
        s.events.client(), rd_kafka_outq_len(s.rk), timeout_ms);
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IoError("Kafka producer '{}': flush failed: {}", s.events.client(), internal::ErrorText(err));
  }
  return Status::OK();
}

Status Producer::BeginTransaction() {
  Impl& s = *impl_;
  if (!s.transactional) {
    return Status::FailedPrecondition("Kafka producer '{}' has no transactional_id: it cannot begin a transaction",
                                      s.events.client());
  }
  SLUICE_RETURN_IF_ERROR(s.events.fatal());
  TxnError begin{rd_kafka_begin_transaction(s.rk)};
  if (begin.error != nullptr) return TxnStatus(s.events, "begin", begin.error);
  return Status::OK();
}

Status Producer::CommitTransaction(int timeout_ms) {
  Impl& s = *impl_;
  if (!s.transactional) return BeginTransaction();  // the same refusal
  TxnError commit{rd_kafka_commit_transaction(s.rk, std::max(timeout_ms, 0))};
  // A delivery error or a fatal error (a fenced producer) seen before the commit comes first.
  Status failed = s.events.fatal();
  if (commit.error == nullptr) return failed;
  if (failed.ok()) failed = TxnStatus(s.events, "commit", commit.error);
  if (rd_kafka_error_txn_requires_abort(commit.error)) {
    Status aborted = AbortTransaction(timeout_ms);
    if (!aborted.ok())
      SLUICE_LOG(Warn, "kafka.abort_failed", {"client", s.events.client()}, {"error", aborted.ToString()});
  }
  return failed;
}

Status Producer::AbortTransaction(int timeout_ms) {
  Impl& s = *impl_;
  if (!s.transactional) return BeginTransaction();  // the same refusal
  TxnError abort{rd_kafka_abort_transaction(s.rk, std::max(timeout_ms, 0))};
  if (abort.error != nullptr) return TxnStatus(s.events, "abort", abort.error);
  return Status::OK();
}

Result<int> Producer::PartitionCount(const std::string& topic, int timeout_ms) {
  return internal::QueryPartitionCount(impl_->rk, topic, timeout_ms);
}

Result<std::pair<int64_t, int64_t>> Producer::Watermarks(const std::string& topic, int32_t partition,
                                                         int timeout_ms) {
  return internal::QueryWatermarks(impl_->rk, topic, partition, timeout_ms);
}

Result<std::map<int32_t, int64_t>> Producer::HighWatermarks(const std::string& topic,
                                                            const std::vector<int32_t>& partitions, int timeout_ms) {
  return internal::QueryEndOffsets(impl_->rk, topic, partitions, timeout_ms);
}

}  // namespace sluice::kafka
