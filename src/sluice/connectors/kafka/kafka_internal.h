// What the Consumer, the Producer and the MockCluster share: building librdkafka clients from
// our options, routing librdkafka's callbacks into our logging and error model, and the metadata
// queries both clients offer. Private to this module (it includes librdkafka; kafka.h does not).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "sluice/base/status.h"

namespace sluice::kafka::internal {

using Settings = std::vector<std::pair<std::string, std::string>>;

template <typename... Args>
Status Unavailable(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kUnavailable, fmt::format(f, std::forward<Args>(args)...));
}

// Per client: the first fatal error (returned by every later call), and warnings from
// librdkafka (broker down, transport failures) logged at most once per kWarnInterval so an
// outage does not flood the log. librdkafka calls in from its own threads and from ours.
class ClientEvents {
 public:
  static constexpr std::chrono::seconds kWarnInterval{5};

  // role: "consumer" or "producer"; client: its client.id.
  ClientEvents(std::string role, std::string client) : role_(std::move(role)), client_(std::move(client)) {}

  // A transient problem: logged (rate-limited), not returned.
  void Warn(std::string_view what, std::string_view detail);
  // Keeps the first fatal error.
  void Fatal(Status status);
  // OK, or the first fatal error.
  Status fatal() const {
    if (!has_fatal_.load(std::memory_order_acquire)) return Status::OK();
    std::lock_guard<std::mutex> lock(mu_);
    return fatal_;
  }
  const std::string& client() const { return client_; }

 private:
  const std::string role_;
  const std::string client_;
  std::atomic<bool> has_fatal_{false};
  mutable std::mutex mu_;
  Status fatal_;                                    // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_warn_;  // GUARDED_BY(mu_)
  bool warned_ = false;                             // GUARDED_BY(mu_)
  int64_t suppressed_ = 0;                          // GUARDED_BY(mu_)
};

// Errors that retrying cannot fix: bad credentials or missing ACLs.
bool IsAuthError(rd_kafka_resp_err_t err);

// A transactional producer fenced by a newer one with the same transactional.id (PRODUCER_FENCED,
// INVALID_PRODUCER_EPOCH, or librdkafka's own _FENCED).
bool IsFencedError(rd_kafka_resp_err_t err);
// FailedPrecondition for a fenced producer `client`: it can write nothing more.
Status Fenced(const std::string& client, std::string_view detail);

// "REQUEST_TIMED_OUT (Broker: Request timed out)".
std::string ErrorText(rd_kafka_resp_err_t err);

// A librdkafka client of `type` with `settings` applied in order, whose log and error callbacks
// report to `events` (which must outlive the client). `fixed` are settings the caller may not
// change: one of them in `user` with another value is InvalidArgument.
Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, const Settings& defaults, const Settings& user,
                              const Settings& fixed, ClientEvents* events,
                              void (*configure)(rd_kafka_conf_t*) = nullptr);

// Client handles' shared metadata queries (see Consumer::PartitionCount / Watermarks).
Result<int> QueryPartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms);
Result<std::pair<int64_t, int64_t>> QueryWatermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                                    int timeout_ms);

// The end offset of each of `partitions` (one ListOffsets request per leader broker): the high
// watermark, or for a read_committed consumer the last stable offset. Unavailable when not every
// partition answered within timeout_ms.
Result<std::map<int32_t, int64_t>> QueryEndOffsets(rd_kafka_t* rk, const std::string& topic,
                                                   const std::vector<int32_t>& partitions, int timeout_ms);

// OK if `topic` is a legal Kafka topic name ([A-Za-z0-9._-]{1,249}, not "." or "..").
Status ValidateTopicName(std::string_view topic);

}  // namespace sluice::kafka::internal
