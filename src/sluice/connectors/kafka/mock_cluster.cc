// MockCluster: librdkafka's mock brokers hosted on a producer handle of their own; and the
// name tables the fault-injection commands use.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <set>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sluice/base/logging.h"
#include "sluice/connectors/kafka/kafka.h"
#include "sluice/connectors/kafka/kafka_internal.h"

namespace sluice::kafka {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// Kafka protocol API keys (the request types librdkafka's mock brokers handle, and a few more).
struct ApiKeyName {
  const char* name;
  int16_t key;
};
constexpr ApiKeyName kApiKeys[] = {
    {"Produce", 0},          {"Fetch", 1},
    {"ListOffsets", 2},      {"Metadata", 3},
    {"OffsetCommit", 8},     {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},       {"LeaveGroup", 13},
    {"SyncGroup", 14},       {"DescribeGroups", 15},
    {"ListGroups", 16},      {"SaslHandshake", 17},
    {"ApiVersions", 18},     {"CreateTopics", 19},
    {"DeleteTopics", 20},    {"DeleteRecords", 21},
    {"InitProducerId", 22},  {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},          {"TxnOffsetCommit", 28},
    {"DescribeConfigs", 32}, {"AlterConfigs", 33},
    {"SaslAuthenticate", 36}, {"CreatePartitions", 37},
    {"DeleteGroups", 42},
};
constexpr int16_t kMaxApiKey = 100;
constexpr int16_t kMetadataApiKey = 3;

std::string ApiKeyNames() {
  std::string out;
  for (const auto& a : kApiKeys) {
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

// librdkafka's error table by upper-case name; also knows the newer name of error 6.
bool FindErrorCode(std::string_view upper_name, int& code) {
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name != nullptr && upper_name == descs[i].name) {
      code = descs[i].code;
      return true;
    }
  }
  if (upper_name == "NOT_LEADER_OR_FOLLOWER") {
    code = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    return true;
  }
  return false;
}

bool IsKnownErrorCode(int code) {
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name != nullptr && descs[i].code == code) return true;
  }
  return false;
}

// The mock cluster's own client handle only logs at debug level: it talks to no broker.
void QuietLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  SLUICE_LOG(Debug, "kafka.mock_log", {"facility", facility}, {"message", message});
}

}  // namespace

Result<int> ErrorCodeByName(std::string_view name) {
  int code = 0;
  if (ParseNumber(name, code)) {
    if (!IsKnownErrorCode(code)) {
      return Status::InvalidArgument("unknown Kafka error code {}: use a name such as REQUEST_TIMED_OUT", code);
    }
    return code;
  }
  std::string upper = Upper(name);
  constexpr std::string_view kPrefix = "RD_KAFKA_RESP_ERR_";
  if (std::string_view(upper).substr(0, kPrefix.size()) == kPrefix) upper.erase(0, kPrefix.size());
  if (FindErrorCode(upper, code)) return code;
  return Status::InvalidArgument(
      "unknown Kafka error name '{}': use a name from librdkafka's rd_kafka_resp_err_t without the "
      "RD_KAFKA_RESP_ERR_ prefix, e.g. REQUEST_TIMED_OUT, NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE, "
      "NOT_ENOUGH_REPLICAS, COORDINATOR_NOT_AVAILABLE",
      name);
}

Result<int16_t> ApiKeyByName(std::string_view name) {
  int16_t key = 0;
  if (ParseNumber(name, key)) {
    if (key < 0 || key > kMaxApiKey) {
      return Status::InvalidArgument("Kafka API key {} is out of range 0..{}", key, kMaxApiKey);
    }
    return key;
  }
  std::string upper = Upper(name);
  for (const auto& a : kApiKeys) {
    if (upper == Upper(a.name)) return a.key;
  }
  if (upper == "OFFSET" || upper == "OFFSETS") return int16_t{2};  // librdkafka's older name of ListOffsets
  return Status::InvalidArgument("unknown Kafka request type '{}': use one of {}", name, ApiKeyNames());
}

struct MockCluster::Impl {
  ~Impl() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
  Status CheckBroker(int32_t broker_id) const {
    if (broker_id < 1 || broker_id > brokers) {
      return Status::InvalidArgument("broker {} does not exist: this cluster has brokers 1..{}", broker_id, brokers);
    }
    return Status::OK();
  }
  Status FromError(rd_kafka_resp_err_t err, std::string_view what) const {
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
    return Status::Internal("mock Kafka cluster: {} failed: {}", what, internal::ErrorText(err));
  }

  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstrap_servers;
  int brokers = 0;
  std::mutex mu;
  std::set<std::string> topics;  // GUARDED_BY(mu)
};

MockCluster::MockCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MockCluster::~MockCluster() = default;

Result<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers) {
  constexpr int kMaxBrokers = 32;
  if (brokers < 1 || brokers > kMaxBrokers) {
    return Status::InvalidArgument("a mock Kafka cluster has 1 to {} brokers, not {}", kMaxBrokers, brokers);
  }
  auto impl = std::make_unique<Impl>();
  impl->brokers = brokers;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, QuietLog);
  char errstr[512];
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (impl->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::Internal("cannot create the client that hosts the mock Kafka cluster: {}", errstr);
  }
  impl->cluster = rd_kafka_mock_cluster_new(impl->rk, brokers);
  if (impl->cluster == nullptr) {
    return Status::IoError("cannot start the mock Kafka cluster (it listens on 127.0.0.1 ephemeral ports; is "
                           "loopback networking available?)");
  }
  // The mock advertises Metadata v0..v2, whose requests cannot say "do not create this topic", so
  // every metadata lookup of a missing topic would create it with 4 partitions. Its handler
  // understands v4 (AllowAutoTopicCreation), so advertise that: a missing topic is then missing,
  // as on a real broker.
  rd_kafka_resp_err_t err = rd_kafka_mock_set_apiversion(impl->cluster, kMetadataApiKey, 0, 4);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal("mock Kafka cluster: cannot set the Metadata API version: {}",
                            internal::ErrorText(err));
  }
  impl->bootstrap_servers = rd_kafka_mock_cluster_bootstraps(impl->cluster);
  return std::unique_ptr<MockCluster>(new MockCluster(std::move(impl)));
}

const std::string& MockCluster::bootstrap_servers() const { return impl_->bootstrap_servers; }
int MockCluster::brokers() const { return impl_->brokers; }

Status MockCluster::CreateTopic(const std::string& topic, int partitions) {
  SLUICE_RETURN_IF_ERROR(internal::ValidateTopicName(topic));
  constexpr int kMaxPartitions = 10000;
  if (partitions < 1 || partitions > kMaxPartitions) {
    return Status::InvalidArgument("topic '{}' needs 1 to {} partitions, not {}", topic, kMaxPartitions, partitions);
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->topics.count(topic) > 0) {
    return Status::AlreadyExists("topic '{}' already exists (the mock cluster cannot delete or resize topics: "
                                 "use another name)",
                                 topic);
  }
  int replication = std::min(impl_->brokers, 3);
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, replication);
  if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return Status::AlreadyExists("topic '{}' already exists (created by a client): use another name", topic);
  }
  SLUICE_RETURN_IF_ERROR(impl_->FromError(err, fmt::format("creating topic '{}'", topic)));
  impl_->topics.insert(topic);
  return Status::OK();
}

Status MockCluster::SetBrokerDown(int32_t broker_id) {
  SLUICE_RETURN_IF_ERROR(impl_->CheckBroker(broker_id));
  return impl_->FromError(rd_kafka_mock_broker_set_down(impl_->cluster, broker_id),
                          fmt::format("setting broker {} down", broker_id));
}

Status MockCluster::SetBrokerUp(int32_t broker_id) {
  SLUICE_RETURN_IF_ERROR(impl_->CheckBroker(broker_id));
  return impl_->FromError(rd_kafka_mock_broker_set_up(impl_->cluster, broker_id),
                          fmt::format("setting broker {} up", broker_id));
}

Status MockCluster::SetBrokerRtt(int32_t broker_id, int rtt_ms) {
  SLUICE_RETURN_IF_ERROR(impl_->CheckBroker(broker_id));
  if (rtt_ms < 0) return Status::InvalidArgument("round-trip time must be >= 0 ms, not {}", rtt_ms);
  return impl_->FromError(rd_kafka_mock_broker_set_rtt(impl_->cluster, broker_id, rtt_ms),
                          fmt::format("setting broker {} round-trip time", broker_id));
}

Status MockCluster::PushRequestErrors(int16_t api_key, const std::vector<int>& error_codes) {
  if (api_key < 0 || api_key > kMaxApiKey) {
    return Status::InvalidArgument("Kafka API key {} is out of range 0..{} (see ApiKeyByName)", api_key, kMaxApiKey);
  }
  std::vector<rd_kafka_resp_err_t> errors;
  errors.reserve(error_codes.size());
  for (int code : error_codes) {
    if (!IsKnownErrorCode(code)) {
      return Status::InvalidArgument("unknown Kafka error code {} (see ErrorCodeByName)", code);
    }
    errors.push_back(static_cast<rd_kafka_resp_err_t>(code));
  }
  if (errors.empty()) return Status::OK();
  rd_kafka_mock_push_request_errors_array(impl_->cluster, api_key, errors.size(), errors.data());
  return Status::OK();
}

}  // namespace sluice::kafka
