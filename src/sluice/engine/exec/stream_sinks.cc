// Log and Kafka sinks (see stream_io.h for the exactly-once protocol).
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
    // The intent: where each partition ended before this epoch's records.
    std::map<int32_t, int64_t> start;
    bool replay = false;
    if (auto text = io::ReadFile(IntentPath(), 0); text.ok()) {
      auto j = nlohmann::json::parse(text->view(), nullptr, false);
      if (j.is_object() && j.value("epoch", int64_t{-1}) == ctx_.epoch) {
        replay = true;
        for (auto& [p, off] : j["start"].items()) start[std::stoi(p)] = off.get<int64_t>();
      }
    }
    if (!replay) {
      nlohmann::json j;
      j["epoch"] = ctx_.epoch;
      for (size_t p = 0; p < buffers_.size(); ++p) {
        SLUICE_ASSIGN_OR_RETURN(int64_t end, EndOffset(static_cast<int32_t>(p)));
        start[static_cast<int32_t>(p)] = end;
        j["start"][std::to_string(p)] = end;
      }
      SLUICE_RETURN_IF_ERROR(io::WriteFileAtomic(IntentPath(), j.dump()).WithContext(node_.name));
    }
    for (size_t p = 0; p < buffers_.size(); ++p) {
      Buffer& b = buffers_[p];
      size_t skip = 0;
      if (replay) {
        SLUICE_ASSIGN_OR_RETURN(int64_t end, EndOffset(static_cast<int32_t>(p)));
        skip = static_cast<size_t>(std::max<int64_t>(0, end - start[static_cast<int32_t>(p)]));
        if (skip) SLUICE_LOG(Info, "sink.skip", {"sink", node_.name}, {"epoch", ctx_.epoch}, {"partition", p}, {"records", skip});
      }
      SLUICE_RETURN_IF_ERROR(Write(static_cast<int32_t>(p), b, std::min(skip, b.ends.size())).WithContext(node_.name));
      b.text.clear();
      b.ends.clear();
    }
    if (producer_) SLUICE_RETURN_IF_ERROR(producer_->Flush(60000).WithContext(node_.name));
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
      auto p = kafka::Producer::Open(po);
      if (!p.ok()) return p.status().WithContext(node_.name);
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
