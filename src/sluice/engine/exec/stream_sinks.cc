// Log and Kafka sinks (see stream_io.h for the exactly-once protocol).
#include <chrono>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "sluice/base/hash.h"
#include "sluice/base/logging.h"
#include "sluice/connectors/kafka/kafka.h"
#include "sluice/engine/exec/stream_io.h"
#include "sluice/formats/json/json.h"
#include "sluice/io/file_system.h"
#include "sluice/io/workdir.h"
#include "sluice/log/log.h"

namespace sluice::engine {
namespace {

class StreamSink final : public Operator {
 public:
  StreamSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k)
      : Operator(n, i, c, k), encoder_(n.input_schema) {}

  Status Process(size_t, const Batch& batch) override {
    SLUICE_RETURN_IF_ERROR(Open());
    const auto& cfg = node_.Config<StreamSinkConfig>();
    const size_t parts = buffers_.size();
    const Column* key = cfg.key_column >= 0 ? batch.column(static_cast<size_t>(cfg.key_column)).get() : nullptr;
    const size_t fixed = static_cast<size_t>(ctx_.epoch) % parts;
    batch.ForEachActive([&](uint32_t row) {
      size_t p = fixed;
      if (key) p = key->IsNull(row) ? 0 : HashKey(*key, row) % parts;
      Buffer& b = buffers_[p];
      encoder_.EncodeRow(batch, row, b.text);
      b.ends.push_back(static_cast<uint32_t>(b.text.size()));
    });
    const auto n = static_cast<int64_t>(batch.active_rows());
    counters_.in += n;
    counters_.out += n;
    return Status::OK();
  }

  Status EndEpoch(int64_t) override {
    SLUICE_RETURN_IF_ERROR(Open());
    size_t records = 0;
    for (const Buffer& b : buffers_) records += b.ends.size();
    // A Kafka epoch without records needs no transaction (and Close has nothing to write).
    if (producer_ && records == 0) return Status::OK();
    // The intent: where each partition ended before this epoch's records.
    std::map<int32_t, int64_t> start;
    bool replay = false;
    if (auto text = io::ReadFile(IntentPath(), 0); text.ok()) {
      auto j = nlohmann::json::parse(text->view(), nullptr, false);
      if (j.is_object() && j.value("fence", int64_t{0}) > ctx_.fence) {
        return Status::FailedPrecondition(
            "{}: lease lost: lease generation {} has written this sink since this run (generation {}) started; the "
            "worker lost its lease, so its epoch {} is not committed",
            node_.name, j.value("fence", int64_t{0}), ctx_.fence, ctx_.epoch);
      }
      if (j.is_object() && j.value("epoch", int64_t{-1}) == ctx_.epoch) {
        replay = true;
        for (auto& [p, off] : j["start"].items()) start[std::stoi(p)] = off.get<int64_t>();
      }
    }
    if (!replay) {
      nlohmann::json j;
      j["epoch"] = ctx_.epoch;
      if (ctx_.fence > 0) j["fence"] = ctx_.fence;
      for (size_t p = 0; p < buffers_.size(); ++p) {
        SLUICE_ASSIGN_OR_RETURN(int64_t end, EndOffset(static_cast<int32_t>(p)));
        start[static_cast<int32_t>(p)] = end;
        j["start"][std::to_string(p)] = end;
      }
      SLUICE_RETURN_IF_ERROR(io::WriteFileAtomic(IntentPath(), j.dump()).WithContext(node_.name));
    }
    // Per partition, the records of this epoch the topic already holds (a replay only).
    std::map<int32_t, int64_t> held;
    if (replay) {
      if (producer_) {
        SLUICE_ASSIGN_OR_RETURN(held, CommittedSince(start));
      } else {
        for (size_t p = 0; p < buffers_.size(); ++p) {
          SLUICE_ASSIGN_OR_RETURN(int64_t end, EndOffset(static_cast<int32_t>(p)));
          held[static_cast<int32_t>(p)] = std::max<int64_t>(0, end - start[static_cast<int32_t>(p)]);
        }
      }
    }
    if (producer_) SLUICE_RETURN_IF_ERROR(Fenced(producer_->BeginTransaction()));
    for (size_t p = 0; p < buffers_.size(); ++p) {
      Buffer& b = buffers_[p];
      const auto skip = static_cast<size_t>(held[static_cast<int32_t>(p)]);
      if (skip)
        SLUICE_LOG(Info, "sink.skip", {"sink", node_.name}, {"epoch", ctx_.epoch}, {"partition", p}, {"records", skip});
      SLUICE_RETURN_IF_ERROR(Fenced(Write(static_cast<int32_t>(p), b, std::min(skip, b.ends.size()))));
      b.text.clear();
      b.ends.clear();
    }
    if (producer_) SLUICE_RETURN_IF_ERROR(Fenced(producer_->CommitTransaction(kKafkaTimeoutMs)));
    return Status::OK();
  }

  Status Close() override { return EndEpoch(0); }

 private:
  struct Buffer {
    std::string text;           // the records' JSON, back to back
    std::vector<uint32_t> ends;  // end of each record in text
  };

  static uint64_t HashKey(const Column& c, uint32_t row) {
    if (c.type().is_variable_width()) return Hash64(c.GetString(row));
    int64_t v = 0;
    if (c.type().id == TypeId::kFloat64) {
      double d = c.Get<double>(row);
      std::memcpy(&v, &d, sizeof v);
    } else {
      v = c.GetInt(row);
    }
    return Hash64(std::string_view(reinterpret_cast<const char*>(&v), sizeof v));
  }

  static constexpr int kKafkaTimeoutMs = 60000;

  // A Kafka producer fenced by a newer one of the same transactional.id: the worker lost its
  // lease, like a lake or warehouse commit refused for an older generation.
  Status Fenced(Status s) const {
    if (s.ok()) return s;
    if (producer_ && s.code() == StatusCode::kFailedPrecondition &&
        s.message().find("was fenced") != std::string::npos) {
      return Status::FailedPrecondition(
          "{}: lease lost: the worker lost its lease, so its epoch {} is not committed ({})", node_.name, ctx_.epoch,
          s.message());
    }
    return s.WithContext(node_.name);
  }

  // Kafka replay: per partition, the committed records at or after `start` (read_committed, up
  // to the end the brokers report now). The sink is each partition's only writer, so they are
  // this epoch's: all of them when its transaction committed, none when it was aborted.
  Result<std::map<int32_t, int64_t>> CommittedSince(const std::map<int32_t, int64_t>& start) {
    const auto& cfg = node_.Config<StreamSinkConfig>();
    std::vector<int32_t> parts;
    for (const auto& [p, from] : start) parts.push_back(p);
    SLUICE_ASSIGN_OR_RETURN(auto ends, producer_->HighWatermarks(cfg.topic, parts, kKafkaTimeoutMs));
    std::map<int32_t, int64_t> held, from, stop;
    for (const auto& [p, off] : start) {
      held[p] = 0;
      if (ends[p] > off) from[p] = off, stop[p] = ends[p];
    }
    if (from.empty()) return held;
    kafka::ConsumerOptions co;
    co.brokers = cfg.brokers;
    co.client_id = "sluice." + ctx_.plan->pipeline;
    SLUICE_ASSIGN_OR_RETURN(auto consumer, kafka::Consumer::Open(co));
    consumer->SetStopOffsets(stop);
    SLUICE_RETURN_IF_ERROR(consumer->Assign(cfg.topic, from));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kKafkaTimeoutMs);
    while (!consumer->AtStop()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status(
            StatusCode::kUnavailable,
            fmt::format("{}: could not read Kafka topic '{}' up to its end within {} ms to find what epoch {} "
                        "already wrote; check the brokers and start the pipeline again",
                        node_.name, cfg.topic, kKafkaTimeoutMs, ctx_.epoch));
      }
      SLUICE_RETURN_IF_ERROR(
          consumer->Poll(65536, 100, [&](int32_t p, int64_t, std::string_view, std::string_view) { ++held[p]; })
              .status());
    }
    return held;
  }

  std::string IntentPath() const {
    return Workdir(ctx_.workdir).SinkIntent(ctx_.plan->StateKey(), node_.name).string();
  }

  Status Open() {
    if (!buffers_.empty()) return Status::OK();
    const auto& cfg = node_.Config<StreamSinkConfig>();
    SLUICE_RETURN_IF_ERROR(io::MakeDirs(std::filesystem::path(IntentPath()).parent_path().string()));
    int partitions = 0;
    if (cfg.kind == StreamSourceConfig::Kind::kLog) {
      log::LogOptions lo;
      lo.partitions = 0;
      auto existing = log::Log::Open(cfg.log_root, cfg.topic, lo);
      if (!existing.ok()) {
        lo.partitions = cfg.partitions;
        existing = log::Log::Open(cfg.log_root, cfg.topic, lo);
      }
      if (!existing.ok()) return existing.status().WithContext(node_.name);
      log_ = std::move(*existing);
      partitions = log_->partitions();
    } else {
      kafka::ProducerOptions po;
      po.brokers = cfg.brokers;
      po.client_id = "sluice." + ctx_.plan->pipeline;
      // Stable across workers and restarts: opening it fences the producer of any earlier worker
      // of this pipeline's sink (and aborts that worker's open transaction).
      po.transactional_id = "sluice." + ctx_.plan->StateKey() + "." + node_.name;
      po.transaction_timeout_ms = kKafkaTimeoutMs;
      auto p = kafka::Producer::Open(po);
      if (!p.ok()) return Fenced(p.status());
      producer_ = std::move(*p);
      auto n = producer_->PartitionCount(cfg.topic, 30000);
      if (!n.ok()) return n.status().WithContext(fmt::format("{}: topic '{}'", node_.name, cfg.topic));
      partitions = *n;
    }
    buffers_.resize(static_cast<size_t>(std::max(1, partitions)));
    return Status::OK();
  }

  Result<int64_t> EndOffset(int32_t p) {
    if (log_) return log_->EndOffset(p);
    SLUICE_ASSIGN_OR_RETURN(auto wm, producer_->Watermarks(node_.Config<StreamSinkConfig>().topic, p, 30000));
    return wm.second;
  }

  Status Write(int32_t p, const Buffer& b, size_t skip) {
    const auto& cfg = node_.Config<StreamSinkConfig>();
    std::vector<std::string_view> records;
    constexpr size_t kMaxBatch = 4096;
    for (size_t i = skip; i < b.ends.size(); ++i) {
      const uint32_t from = i == 0 ? 0 : b.ends[i - 1];
      std::string_view rec(b.text.data() + from, b.ends[i] - from);
      if (producer_) {
        SLUICE_RETURN_IF_ERROR(producer_->Produce(cfg.topic, p, {}, rec));
        continue;
      }
      records.push_back(rec);
      if (records.size() == kMaxBatch) {
        SLUICE_RETURN_IF_ERROR(log_->Append(p, records).status());
        records.clear();
      }
    }
    if (!records.empty()) SLUICE_RETURN_IF_ERROR(log_->Append(p, records).status());
    return Status::OK();
  }

  formats::JsonEncoder encoder_;
  std::vector<Buffer> buffers_;
  std::unique_ptr<log::Log> log_;
  std::unique_ptr<kafka::Producer> producer_;
};

}  // namespace

std::unique_ptr<Operator> MakeStreamSink(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) {
  return std::make_unique<StreamSink>(n, i, c, k);
}

}  // namespace sluice::engine
