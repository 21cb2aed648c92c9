// Consumer: manual assignment at caller-owned offsets, stop offsets with pause, batch polling.
//
// How positions stay exact: we track, per partition, the next offset to deliver (`next`).
// Records below it are re-fetched duplicates and are dropped; records at or beyond the stop are
// dropped and the partition is paused. librdkafka resumes a paused partition after the last
// record it handed us, which may be a dropped one, so resuming re-assigns every partition at its
// `next` instead (rd_kafka_assign restarts fetching exactly there).
#include <algorithm>
#include <chrono>

#include "sluice/connectors/kafka/kafka.h"
#include "sluice/connectors/kafka/kafka_internal.h"

namespace sluice::kafka {
namespace {

using Clock = std::chrono::steady_clock;

// Messages taken from librdkafka per call; Poll loops for more.
constexpr size_t kBatchSize = 4096;
// librdkafka waits forever for an assigned topic that does not exist, so we check with the
// brokers: in Assign, and, if they could not be reached then, in Poll every kRecheckInterval.
constexpr int kAssignCheckTimeoutMs = 5000;
constexpr auto kRecheckInterval = std::chrono::seconds(5);

struct PartitionState {
  bool assigned = false;
  bool paused = false;
  int64_t next = 0;                   // the next offset to deliver
  int64_t stop = Consumer::kNoStop;  // exclusive
};

// Frees a partition list when it goes out of scope.
struct PartitionList {
  rd_kafka_topic_partition_list_t* list;
  explicit PartitionList(size_t size) : list(rd_kafka_topic_partition_list_new(static_cast<int>(size))) {}
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
};

}  // namespace

struct Consumer::Impl {
  explicit Impl(std::string client) : events("consumer", std::move(client)) {}
  ~Impl() {
    if (queue != nullptr) rd_kafka_queue_destroy(queue);
    if (rk != nullptr) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }

  PartitionState* Find(int32_t partition) {
    if (partition < 0 || static_cast<size_t>(partition) >= parts.size() || !parts[partition].assigned) return nullptr;
    return &parts[partition];
  }
  int64_t StopFor(int32_t partition) const {
    auto it = stop_offsets.find(partition);
    return it == stop_offsets.end() ? kNoStop : it->second;
  }
  // NotFound unless `topic` exists with all of `partitions`; Unavailable if the brokers did not
  // answer within timeout_ms.
  Status CheckExists(const std::string& topic_name, const std::vector<int32_t>& partitions, int timeout_ms);
  Status SetPaused(const std::string& topic_name, const std::vector<int32_t>& partitions, bool pause);
  Status AssignAtNext();
  // The partitions that have reached their stop and are not paused yet, paused.
  Status PauseReached();
  void OnError(const rd_kafka_message_t& m);

  internal::ClientEvents events;  // outlives rk: librdkafka's callbacks report to it
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* queue = nullptr;
  std::string topic;
  std::vector<int32_t> assigned;       // ascending
  std::vector<PartitionState> parts;   // by partition id
  std::map<int32_t, int64_t> stop_offsets;
  std::vector<rd_kafka_message_t*> batch;
  std::vector<int32_t> scratch;        // partitions to pause, reused
  bool checked = false;                // CheckExists passed for the current assignment
  Clock::time_point next_check;
};

Status Consumer::Impl::CheckExists(const std::string& topic_name, const std::vector<int32_t>& partitions,
                                   int timeout_ms) {
  SLUICE_ASSIGN_OR_RETURN(int count, internal::QueryPartitionCount(rk, topic_name, timeout_ms));
  for (int32_t p : partitions) {
    if (p >= count) {
      return Status::NotFound("Kafka topic '{}' has no partition {}: it has {} (0..{}); fix the partitions in the "
                              "spec, or add partitions to the topic",
                              topic_name, p, count, count - 1);
    }
  }
  return Status::OK();
}

Status Consumer::Impl::SetPaused(const std::string& topic_name, const std::vector<int32_t>& partitions, bool pause) {
  if (partitions.empty()) return Status::OK();
  PartitionList pl(partitions.size());
  for (int32_t p : partitions) rd_kafka_topic_partition_list_add(pl.list, topic_name.c_str(), p);
  rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(rk, pl.list) : rd_kafka_resume_partitions(rk, pl.list);
  for (int i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < pl.list->cnt; ++i) err = pl.list->elems[i].err;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal("cannot {} Kafka topic '{}' partitions: {}", pause ? "pause" : "resume", topic_name,
                            internal::ErrorText(err));
  }
  if (topic_name == topic) {
    for (int32_t p : partitions) {
      if (PartitionState* ps = Find(p)) ps->paused = pause;
    }
  }
  return Status::OK();
}

Status Consumer::Impl::AssignAtNext() {
  PartitionList pl(assigned.size());
  for (int32_t p : assigned) rd_kafka_topic_partition_list_add(pl.list, topic.c_str(), p)->offset = parts[p].next;
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, pl.list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal("cannot assign Kafka topic '{}' partitions: {}", topic, internal::ErrorText(err));
  }
  return Status::OK();
}

Status Consumer::Impl::PauseReached() {
  scratch.clear();
  for (int32_t p : assigned) {
    if (!parts[p].paused && parts[p].next >= parts[p].stop) scratch.push_back(p);
  }
  return SetPaused(topic, scratch, true);
}

void Consumer::Impl::OnError(const rd_kafka_message_t& m) {
  const rd_kafka_resp_err_t err = m.err;
  if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
  const std::string topic_name = m.rkt != nullptr ? rd_kafka_topic_name(m.rkt) : topic;
  const PartitionState* ps = topic_name == topic ? Find(m.partition) : nullptr;
  if (m.partition >= 0 && ps == nullptr) return;  // about a partition we no longer read
  const std::string detail = rd_kafka_message_errstr(&m);
  switch (err) {
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE: {
      int64_t low = RD_KAFKA_OFFSET_INVALID;
      int64_t high = RD_KAFKA_OFFSET_INVALID;
      std::string held;
      if (rd_kafka_get_watermark_offsets(rk, topic_name.c_str(), m.partition, &low, &high) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          low >= 0 && high >= 0) {
        held = fmt::format("; the broker holds offsets {} to {}", low, high);
      }
      events.Fatal(Status::NotFound(
          "Kafka topic '{}' partition {}: offset {} is out of range ({}){}. The checkpoint points at records the "
          "broker no longer has (deleted by retention, or the topic was recreated): replay from another copy of "
          "the data, or reset the pipeline's checkpoint to start from the topic's earliest offset on purpose",
          topic_name, m.partition, ps != nullptr ? ps->next : m.offset, detail, held));
      return;
    }
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      events.Fatal(Status::NotFound(
          "Kafka topic '{}' partition {} does not exist ({}): create the topic, or fix the topic name or "
          "partitions in the spec",
          topic_name, m.partition, detail));
      return;
    case RD_KAFKA_RESP_ERR__FATAL: {
      char why[512] = "";
      rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, why, sizeof(why));
      events.Fatal(Status::FailedPrecondition(
          "Kafka consumer '{}' failed fatally with {}: {}; reopen it and resume from the last checkpoint",
          events.client(), internal::ErrorText(cause), why));
      return;
    }
    default:
      if (internal::IsAuthError(err)) {
        events.Fatal(Status::FailedPrecondition(
            "Kafka consumer '{}' may not read topic '{}': {}: {}; check security.protocol, sasl.* and ssl.* in "
            "the connector's Kafka settings and grant its principal READ on the topic",
            events.client(), topic_name, internal::ErrorText(err), detail));
        return;
      }
      events.Warn(rd_kafka_err2name(err), fmt::format("{} [{}]: {}", topic_name, m.partition, detail));
  }
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Consumer::~Consumer() = default;

Result<std::unique_ptr<Consumer>> Consumer::Open(const ConsumerOptions& options) {
  if (options.brokers.empty()) {
    return Status::InvalidArgument("no Kafka brokers: set brokers to host:port[,host:port...]");
  }
  if (options.group.empty()) return Status::InvalidArgument("the Kafka consumer group name must not be empty");
  auto impl = std::make_unique<Impl>(options.client_id);
  const internal::Settings defaults = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group},
      {"client.id", options.client_id},
      // Read committed records only: a transaction's records appear when it commits, never if it
      // aborts. Their offsets and those of transaction markers are never delivered; the partition
      // EOF event moves `next` past them (see Poll).
      {"isolation.level", "read_committed"},
      // A fetch waits at most this long for data at the end of a partition. librdkafka keeps one
      // fetch in flight per broker, so this is also the delay before a new assignment (Assign,
      // or SetStopOffsets resuming a partition) starts fetching.
      {"fetch.wait.max.ms", "100"},
      {"allow.auto.create.topics", "false"},
  };
  const internal::Settings fixed = {
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "error"},
      {"enable.partition.eof", "true"},
  };
  SLUICE_ASSIGN_OR_RETURN(impl->rk,
                          internal::NewClient(RD_KAFKA_CONSUMER, defaults, options.config, fixed, &impl->events));
  // Client-level events (errors, logs) arrive on the queue Poll serves.
  rd_kafka_poll_set_consumer(impl->rk);
  impl->queue = rd_kafka_queue_get_consumer(impl->rk);
  if (impl->queue == nullptr) return Status::Internal("the Kafka consumer has no consumer queue");
  impl->batch.resize(kBatchSize);
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Result<int> Consumer::PartitionCount(const std::string& topic, int timeout_ms) {
  return internal::QueryPartitionCount(impl_->rk, topic, timeout_ms);
}

Result<std::pair<int64_t, int64_t>> Consumer::Watermarks(const std::string& topic, int32_t partition,
                                                         int timeout_ms) {
  return internal::QueryWatermarks(impl_->rk, topic, partition, timeout_ms);
}

Result<std::map<int32_t, int64_t>> Consumer::HighWatermarks(const std::string& topic,
                                                            const std::vector<int32_t>& partitions, int timeout_ms) {
  return internal::QueryEndOffsets(impl_->rk, topic, partitions, timeout_ms);
}

Status Consumer::Assign(const std::string& topic, const std::map<int32_t, int64_t>& start_offsets) {
  Impl& s = *impl_;
  SLUICE_RETURN_IF_ERROR(internal::ValidateTopicName(topic));
  for (const auto& [p, offset] : start_offsets) {
    if (p < 0) return Status::InvalidArgument("Kafka partition numbers start at 0, not {}", p);
    if (offset < 0) {
      return Status::InvalidArgument("start offset {} for Kafka topic '{}' partition {} must be >= 0", offset, topic,
                                     p);
    }
  }
  std::vector<int32_t> partitions;
  for (const auto& [p, offset] : start_offsets) partitions.push_back(p);
  Status exists = s.CheckExists(topic, partitions, kAssignCheckTimeoutMs);
  if (exists.code() != StatusCode::kUnavailable) SLUICE_RETURN_IF_ERROR(exists);
  s.checked = exists.ok();  // else Poll checks again once the brokers answer
  s.next_check = Clock::now() + kRecheckInterval;

  // Pause flags live on librdkafka's partition objects and can outlast an assignment.
  std::vector<int32_t> paused;
  for (int32_t p : s.assigned) {
    if (s.parts[p].paused) paused.push_back(p);
  }
  SLUICE_RETURN_IF_ERROR(s.SetPaused(s.topic, paused, false));

  s.topic = topic;
  s.assigned.clear();
  s.parts.clear();
  for (const auto& [p, offset] : start_offsets) {
    if (static_cast<size_t>(p) >= s.parts.size()) s.parts.resize(p + 1);
    s.parts[p] = PartitionState{.assigned = true, .paused = false, .next = offset, .stop = s.StopFor(p)};
    s.assigned.push_back(p);
  }
  SLUICE_RETURN_IF_ERROR(s.AssignAtNext());
  return s.PauseReached();
}

void Consumer::SetStopOffsets(const std::map<int32_t, int64_t>& stop) {
  Impl& s = *impl_;
  s.stop_offsets = stop;
  std::vector<int32_t> resume;
  for (int32_t p : s.assigned) {
    PartitionState& ps = s.parts[p];
    ps.stop = s.StopFor(p);
    if (ps.paused && ps.next < ps.stop) resume.push_back(p);
  }
  Status st;
  if (!resume.empty()) {
    st = s.SetPaused(s.topic, resume, false);
    if (st.ok()) st = s.AssignAtNext();
    // The re-assignment may have cleared the pause of partitions that stay stopped.
    for (int32_t p : s.assigned) s.parts[p].paused = false;
  }
  if (st.ok()) st = s.PauseReached();
  if (!st.ok()) s.events.Fatal(st);
}

bool Consumer::AtStop() const {
  const Impl& s = *impl_;
  if (s.assigned.empty()) return false;
  for (int32_t p : s.assigned) {
    if (s.parts[p].next < s.parts[p].stop) return false;
  }
  return true;
}

Result<size_t> Consumer::Poll(size_t max_records, int timeout_ms, const RecordCallback& on_record) {
  Impl& s = *impl_;
  SLUICE_RETURN_IF_ERROR(s.events.fatal());
  if (s.topic.empty()) {
    return Status::FailedPrecondition("Kafka consumer: Poll before Assign; assign partitions first");
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  if (!s.checked && Clock::now() >= s.next_check) {
    Status exists = s.CheckExists(s.topic, s.assigned, std::clamp(timeout_ms, 1, 1000));
    if (exists.ok()) {
      s.checked = true;
    } else if (exists.code() == StatusCode::kUnavailable) {
      s.next_check = Clock::now() + kRecheckInterval;
    } else {
      s.events.Fatal(exists);
      return exists;
    }
  }
  size_t delivered = 0;
  while (delivered < max_records && !AtStop()) {
    const size_t want = std::min(max_records - delivered, s.batch.size());
    // Take what is buffered; only when nothing is, wait (for one message: a batch call would
    // wait until the whole batch is full).
    ssize_t n = rd_kafka_consume_batch_queue(s.queue, 0, s.batch.data(), want);
    if (n == 0 && delivered == 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      n = rd_kafka_consume_batch_queue(s.queue, static_cast<int>(left), s.batch.data(), 1);
    }
    if (n < 0) {
      return Status::Internal("Kafka consumer: reading the consumer queue failed: {}",
                              internal::ErrorText(rd_kafka_last_error()));
    }
    if (n == 0) {
      if (delivered > 0 || Clock::now() >= deadline) break;
      SLUICE_RETURN_IF_ERROR(s.events.fatal());  // an error callback may have run
      continue;
    }
    bool failed = false;
    bool reached = false;
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = s.batch[i];
      if (!failed) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          // The fetch reached the partition's end at m->offset: offsets below it that were not
          // delivered hold transaction markers or aborted records. Moving on keeps positions
          // (and AtStop) exact on topics written in transactions.
          PartitionState* ps = m->rkt != nullptr && rd_kafka_topic_name(m->rkt) == s.topic ? s.Find(m->partition)
                                                                                           : nullptr;
          if (ps != nullptr && m->offset > ps->next) {
            ps->next = std::min(m->offset, ps->stop);
            if (ps->next >= ps->stop) reached = true;
          }
        } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          s.OnError(*m);
          failed = !s.events.fatal().ok();
        } else if (PartitionState* ps = s.Find(m->partition); ps != nullptr && m->offset >= ps->next) {
          if (m->offset >= ps->stop) {
            // Nothing exists between next and this record, so the partition is done.
            ps->next = std::max(ps->next, ps->stop);
            reached = true;
          } else {
            std::string_view key;
            if (m->key != nullptr) key = std::string_view(static_cast<const char*>(m->key), m->key_len);
            std::string_view value;
            if (m->payload != nullptr) value = std::string_view(static_cast<const char*>(m->payload), m->len);
            on_record(m->partition, m->offset, key, value);
            ++delivered;
            ps->next = m->offset + 1;
            if (ps->next >= ps->stop) reached = true;
          }
        }
      }
      rd_kafka_message_destroy(m);
    }
    if (failed) return s.events.fatal();
    if (reached) SLUICE_RETURN_IF_ERROR(s.PauseReached());
  }
  return delivered;
}

}  // namespace sluice::kafka
