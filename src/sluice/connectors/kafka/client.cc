// Shared client plumbing: settings, callbacks into our logging, metadata queries.
#include <algorithm>
#include <cctype>
#include <thread>

#include "sluice/base/logging.h"
#include "sluice/base/strings.h"
#include "sluice/connectors/kafka/kafka_internal.h"

namespace sluice::kafka::internal {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

// Another spelling librdkafka accepts for the same property.
std::string_view Alias(std::string_view key) {
  if (key == "request.required.acks") return "acks";
  if (key == "auto.commit.enable") return "enable.auto.commit";
  if (key == "metadata.broker.list") return "bootstrap.servers";
  return key;
}

bool SameValue(std::string_view key, std::string_view a, std::string_view b) {
  if (EqualsIgnoreCase(a, b)) return true;
  if (key == "acks") return (a == "all" || a == "-1") && (b == "all" || b == "-1");
  return false;
}

// librdkafka's log lines: warnings and errors (connection refused, ...) are rate-limited
// warnings of the client; the rest is debug output.
void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  auto* events = static_cast<ClientEvents*>(rd_kafka_opaque(rk));
  if (level <= 4 && events != nullptr) {
    events->Warn(facility, message);
    return;
  }
  SLUICE_LOG(Debug, "kafka.client_log", {"client", rd_kafka_name(rk)}, {"facility", facility}, {"message", message});
}

void ErrorCallback(rd_kafka_t* rk, int err_int, const char* reason, void* opaque) {
  auto* events = static_cast<ClientEvents*>(opaque);
  auto err = static_cast<rd_kafka_resp_err_t>(err_int);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char detail[512] = "";
    rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, detail, sizeof(detail));
    if (IsFencedError(cause)) {
      events->Fatal(Fenced(events->client(), fmt::format("{}: {}", ErrorText(cause), detail)));
      return;
    }
    events->Fatal(Status::FailedPrecondition(
        "Kafka client '{}' failed fatally with {}: {}; it cannot be used any more: reopen it and resume "
        "from the last checkpoint",
        events->client(), ErrorText(cause), detail));
  } else if (IsAuthError(err)) {
    events->Fatal(Status::FailedPrecondition(
        "Kafka client '{}' was refused by the brokers: {}: {}; check security.protocol, sasl.* and ssl.* "
        "in the connector's Kafka settings and the ACLs of its principal",
        events->client(), ErrorText(err), reason));
  } else {
    events->Warn(rd_kafka_err2name(err), reason);
  }
}

// Closes a topic handle when it goes out of scope.
struct TopicHandle {
  rd_kafka_topic_t* rkt;
  ~TopicHandle() {
    if (rkt != nullptr) rd_kafka_topic_destroy(rkt);
  }
};

}  // namespace

void ClientEvents::Warn(std::string_view what, std::string_view detail) {
  int64_t suppressed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (warned_ && now - last_warn_ < kWarnInterval) {
      ++suppressed_;
      return;
    }
    warned_ = true;
    last_warn_ = now;
    suppressed = suppressed_;
    suppressed_ = 0;
  }
  SLUICE_LOG(Warn, "kafka.client_warning", {"role", role_}, {"client", client_}, {"what", what}, {"detail", detail},
             {"suppressed", suppressed});
}

void ClientEvents::Fatal(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!fatal_.ok()) return;
  fatal_ = std::move(status);
  has_fatal_.store(true, std::memory_order_release);
}

bool IsFencedError(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__FENCED || err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
         err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

Status Fenced(const std::string& client, std::string_view detail) {
  return Status::FailedPrecondition(
      "Kafka producer '{}' was fenced: {}; a newer producer with the same transactional.id has started (another "
      "worker took the run over), so this one can write nothing more and its open transaction is aborted",
      client, detail);
}

bool IsAuthError(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return true;
    default:
      return false;
  }
}

std::string ErrorText(rd_kafka_resp_err_t err) {
  return fmt::format("{} ({})", rd_kafka_err2name(err), rd_kafka_err2str(err));
}

Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, const Settings& defaults, const Settings& user,
                              const Settings& fixed, ClientEvents* events, void (*configure)(rd_kafka_conf_t*)) {
  for (const auto& [key, value] : user) {
    for (const auto& [fixed_key, fixed_value] : fixed) {
      if (Alias(key) == fixed_key && !SameValue(fixed_key, value, fixed_value)) {
        return Status::InvalidArgument(
            "Kafka setting '{}' cannot be changed here (it must be {}): Sluice keeps {}; remove it from the "
            "connector's Kafka settings",
            key, fixed_value,
            type == RD_KAFKA_CONSUMER ? "consumer positions in its own checkpoints, never in Kafka"
                                      : "its producer idempotent so retries cannot duplicate records");
      }
    }
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const Settings* settings : {&defaults, &user, &fixed}) {
    for (const auto& [key, value] : *settings) {
      if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return Status::InvalidArgument("invalid Kafka setting '{}': {} (see librdkafka's CONFIGURATION.md)", key,
                                       errstr);
      }
    }
  }
  rd_kafka_conf_set_opaque(conf, events);
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  rd_kafka_conf_set_error_cb(conf, ErrorCallback);
  if (configure != nullptr) configure(conf);
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new takes the conf only on success
    return Status::InvalidArgument("cannot create the Kafka client: {}", errstr);
  }
  return rk;
}

Result<std::map<int32_t, int64_t>> QueryEndOffsets(rd_kafka_t* rk, const std::string& topic,
                                                   const std::vector<int32_t>& partitions, int timeout_ms) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(topic));
  std::map<int32_t, int64_t> out;
  if (partitions.empty()) return out;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t p : partitions) {
    // A ListOffsets request for the timestamp "latest" answers with the end offset.
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
  }
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list, timeout_ms);
  Status st;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    st = Unavailable("no end offsets for Kafka topic '{}' within {} ms: {}", topic, timeout_ms, rd_kafka_err2str(err));
  } else {
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR || tp.offset < 0) {
        st = Unavailable("no end offset for Kafka topic '{}' partition {}: {}", topic, tp.partition,
                         rd_kafka_err2str(tp.err));
        break;
      }
      out[tp.partition] = tp.offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (!st.ok()) return st;
  return out;
}

Status ValidateTopicName(std::string_view topic) {
  bool legal = !topic.empty() && topic.size() <= 249 && topic != "." && topic != "..";
  for (char c : topic) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') legal = false;
  }
  if (!legal) {
    return Status::InvalidArgument("invalid Kafka topic name '{}': use 1 to 249 of [A-Za-z0-9._-], not '.' or '..'",
                                   topic);
  }
  return Status::OK();
}

Result<int> QueryPartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(topic));
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  TopicHandle handle{rd_kafka_topic_new(rk, topic.c_str(), nullptr)};
  if (handle.rkt == nullptr) {
    return Status::InvalidArgument("cannot use Kafka topic '{}': {}", topic, ErrorText(rd_kafka_last_error()));
  }
  std::string last_error;
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle.rkt, &md, std::max(RemainingMs(deadline), 1));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      int partitions = 0;
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (topic == md->topics[i].topic) {
          topic_err = md->topics[i].err;
          partitions = md->topics[i].partition_cnt;
        }
      }
      rd_kafka_metadata_destroy(md);
      if (topic_err == RD_KAFKA_RESP_ERR_NO_ERROR) return partitions;
      if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        return Status::NotFound(
            "Kafka topic '{}' does not exist: create it first (kafka-topics.sh --create, or `topic {} N` in "
            "`sluice dev kafka`), or fix the topic name in the spec",
            topic, topic);
      }
      if (IsAuthError(topic_err)) {
        return Status::FailedPrecondition("not allowed to describe Kafka topic '{}': {}; grant the connector's "
                                          "principal DESCRIBE and READ/WRITE on it",
                                          topic, ErrorText(topic_err));
      }
      last_error = ErrorText(topic_err);  // e.g. LEADER_NOT_AVAILABLE while the topic is being created
    } else {
      last_error = ErrorText(err);
    }
    int left = RemainingMs(deadline);
    if (left == 0) {
      return Unavailable("no metadata for Kafka topic '{}' within {} ms (last error: {}); check that the brokers "
                         "in bootstrap.servers are up and reachable",
                         topic, timeout_ms, last_error);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, 100)));
  }
}

Result<std::pair<int64_t, int64_t>> QueryWatermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                                    int timeout_ms) {
  SLUICE_RETURN_IF_ERROR(ValidateTopicName(topic));
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string last_error;
  for (;;) {
    int64_t low = -1;
    int64_t high = -1;
    rd_kafka_resp_err_t err =
        partition < 0 ? RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION
                      : rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high,
                                                         std::max(RemainingMs(deadline), 1));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::make_pair(low, high);
    if (IsAuthError(err)) {
      return Status::FailedPrecondition("not allowed to read offsets of Kafka topic '{}': {}; grant the "
                                        "connector's principal DESCRIBE on it",
                                        topic, ErrorText(err));
    }
    if (err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      // Ask the metadata which one is missing (it may also be a topic still being created).
      SLUICE_ASSIGN_OR_RETURN(int partitions, QueryPartitionCount(rk, topic, std::max(RemainingMs(deadline), 1)));
      if (partition < 0 || partition >= partitions) {
        return Status::NotFound("Kafka topic '{}' has no partition {}: it has {} (0..{})", topic, partition,
                                partitions, partitions - 1);
      }
    }
    last_error = ErrorText(err);
    int left = RemainingMs(deadline);
    if (left == 0) {
      return Unavailable("no offsets for Kafka topic '{}' partition {} within {} ms (last error: {}); check that "
                         "the partition's leader broker is up",
                         topic, partition, timeout_ms, last_error);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, 100)));
  }
}

}  // namespace sluice::kafka::internal
