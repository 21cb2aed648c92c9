// Stream sources: the embedded log and Kafka (see stream_io.h).
#include <algorithm>

#include "sluice/base/logging.h"
#include "sluice/connectors/kafka/kafka.h"
#include "sluice/engine/exec/stream_io.h"
#include "sluice/formats/json/json.h"
#include "sluice/log/log.h"

namespace sluice::engine {

struct StreamSource::Decoders {
  std::map<int32_t, std::unique_ptr<formats::JsonDecoder>> by_partition;
  std::vector<formats::DecodeError> errors;
};

void StreamSource::Configure(int group, int groups, Deliver deliver) {
  group_ = group;
  groups_ = std::max(1, groups);
  deliver_ = std::move(deliver);
}

void StreamSource::SetReplay(const std::map<int32_t, int64_t>& stop,
                             const std::map<int32_t, std::vector<int64_t>>& cuts) {
  for (auto& [p, prog] : parts_) {
    auto it = stop.find(p);
    prog.stop = it == stop.end() ? -1 : it->second;
    auto c = cuts.find(p);
    prog.cuts = c == cuts.end() ? std::vector<int64_t>{} : c->second;
  }
}

const std::string& StreamSource::topic() const { return node_.Config<StreamSourceConfig>().topic; }

void StreamSource::AppendRecord(std::string& buf, std::string_view value) {
  const size_t at = buf.size();
  buf.append(value);
  // A record is one line: JSON allows a line break only as whitespace, where a space does too.
  for (size_t i = at; i < buf.size(); ++i) {
    if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' ';
  }
  buf.push_back('\n');
}

Status StreamSource::DecodeAndDeliver(int32_t partition, std::string_view buf, const std::vector<int64_t>& offsets) {
  if (offsets.empty()) return Status::OK();
  PartitionProgress& prog = parts_[partition];
  auto& cuts = prog.cuts;
  auto first_cut = std::upper_bound(cuts.begin(), cuts.end(), offsets.front());
  cuts.erase(cuts.begin(), first_cut);  // chunk ends already passed
  if (cuts.empty() || cuts.front() > offsets.back()) {
    return DecodeChunk(partition, buf, offsets.data(), offsets.size());
  }
  // A replay: end a chunk at every recorded chunk end inside this run of records.
  size_t begin = 0, pos = 0;
  while (begin < offsets.size()) {
    size_t end = offsets.size();
    if (!cuts.empty() && cuts.front() <= offsets.back()) {
      end = static_cast<size_t>(std::lower_bound(offsets.begin() + static_cast<ptrdiff_t>(begin), offsets.end(), cuts.front()) -
                                offsets.begin());
      cuts.erase(cuts.begin());
    }
    if (end == begin) continue;
    size_t stop = pos;  // one line per record
    for (size_t i = begin; i < end; ++i) stop = buf.find('\n', stop) + 1;
    // The records after this chunk (and the final padding) are the slack the decoder may read.
    SLUICE_RETURN_IF_ERROR(DecodeChunk(partition, buf.substr(pos, stop - pos), offsets.data() + begin, end - begin));
    begin = end;
    pos = stop;
  }
  return Status::OK();
}

Status StreamSource::DecodeChunk(int32_t partition, std::string_view buf, const int64_t* offsets, size_t n) {
  if (!decoders_) decoders_ = std::make_shared<Decoders>();
  auto& dec = decoders_->by_partition[partition];
  if (!dec) {
    formats::DecodeOptions opts;
    opts.origin_source = node_.name;
    opts.origin_location = fmt::format("{}/{}", topic(), partition);
    dec = std::make_unique<formats::JsonDecoder>(node_.outputs[0].schema, opts);
  }
  PartitionProgress& prog = parts_[partition];
  const std::optional<EventTimeConfig>& et = node_.event_time;
  SourceChunk chunk;
  chunk.node = index_;
  chunk.partition = partition;
  chunk.from = offsets[0];
  chunk.to = offsets[n - 1] + 1;
  chunk.records = static_cast<int64_t>(n);
  auto on_batch = [&](Batch b) -> Status {
    // The decoder numbers rows by line from 0; line i is the record at offsets[i].
    if (const auto& lines = b.row_offsets()) {
      auto mapped = std::make_shared<std::vector<int64_t>>(lines->size());
      for (size_t i = 0; i < lines->size(); ++i) {
        int64_t line = (*lines)[i];
        (*mapped)[i] = line >= 0 && static_cast<size_t>(line) < n ? offsets[line] : -1;
      }
      b.set_row_offsets(std::move(mapped));
    }
    if (et) {
      const Column& t = *b.column(et->column);
      int64_t mx = prog.max_event_time;
      const int64_t* v = t.data<int64_t>();
      b.ForEachActive([&](uint32_t r) {
        if (!t.IsNull(r) && v[r] > mx) mx = v[r];
      });
      prog.max_event_time = mx;
    }
    const auto rows = static_cast<int64_t>(b.active_rows());
    counters_.in += rows;
    counters_.out += rows;
    if (rows > 0) chunk.batches.push_back(std::move(b));
    return Status::OK();
  };
  auto& errors = decoders_->errors;
  errors.clear();
  SLUICE_RETURN_IF_ERROR(
      dec->Decode(buf, 0, on_batch, errors).WithContext(fmt::format("{}: {}/{}", node_.name, topic(), partition)));
  for (const auto& e : errors) {
    ++counters_.in;
    ++counters_.dead_letter;
    int64_t offset = e.line >= 0 && static_cast<size_t>(e.line) < n ? offsets[e.line] : -1;
    chunk.undecodable.push_back({offset, std::string(e.error_class), e.message, std::string(e.raw)});
  }
  prog.last_data_micros = ctx_.clock->MonotonicMicros();
  return deliver_(std::move(chunk));
}

namespace {

// ----- log

class LogSource final : public StreamSource {
 public:
  using StreamSource::StreamSource;

  Status Open(const std::map<int32_t, int64_t>& restored) override {
    const auto& cfg = node_.Config<StreamSourceConfig>();
    log::LogOptions lo;
    lo.partitions = 0;
    auto log = log::Log::OpenShared(cfg.log_root, cfg.topic, lo);
    if (!log.ok()) {
      return log.status().WithContext(fmt::format("{}: topic '{}' of the log (create it with `sluice log produce {}`)",
                                                  node_.name, cfg.topic, cfg.topic));
    }
    log_ = std::move(*log);
    for (int p = 0; p < log_->partitions(); ++p) {
      if (!Mine(p)) continue;
      auto it = restored.find(p);
      int64_t start = it != restored.end() ? it->second : (cfg.start_at_end ? log_->EndOffset(p) : log_->StartOffset(p));
      if (start < log_->StartOffset(p)) {
        return Status::DataError("{}: the checkpoint resumes {}/{} at offset {}, but retention has deleted the log up to {}",
                                 node_.name, cfg.topic, p, start, log_->StartOffset(p));
      }
      parts_[p].next = start;
    }
    return Status::OK();
  }

  Result<size_t> Poll(size_t max_records, int timeout_ms) override {
    size_t total = 0;
    // Round robin over partitions, a slice each, so one busy partition does not starve others.
    const size_t slice = std::max<size_t>(1, max_records / std::max<size_t>(1, parts_.size()));
    for (auto& [p, prog] : parts_) {
      if (total >= max_records) break;
      size_t want = std::min(slice, max_records - total);
      if (prog.stop >= 0) want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(want), prog.stop - prog.next));
      if (want == 0) continue;
      SLUICE_ASSIGN_OR_RETURN(auto records, log_->Read(p, prog.next, want));
      if (records.empty()) continue;
      buf_.clear();
      offsets_.clear();
      for (const auto& r : records) {
        AppendRecord(buf_, r.value);
        offsets_.push_back(r.offset);
      }
      prog.next = records.back().offset + 1;
      const size_t n = buf_.size();
      buf_.append(formats::kInputPadding, '\0');
      SLUICE_RETURN_IF_ERROR(DecodeAndDeliver(p, std::string_view(buf_.data(), n), offsets_));
      total += records.size();
    }
    return total;
  }

  Result<bool> CaughtUp() override {
    for (auto& [p, prog] : parts_) {
      if (prog.stop >= 0 ? prog.next < prog.stop : prog.next < log_->EndOffset(p)) return false;
    }
    return true;
  }

  std::map<int32_t, int64_t> EndOffsets() override {
    std::map<int32_t, int64_t> out;
    for (const auto& [p, prog] : parts_) out[p] = log_->EndOffset(p);
    return out;
  }

 private:
  std::shared_ptr<log::Log> log_;
  std::string buf_;
  std::vector<int64_t> offsets_;
};

// ----- kafka

class KafkaSource final : public StreamSource {
 public:
  using StreamSource::StreamSource;

  Status Open(const std::map<int32_t, int64_t>& restored) override {
    const auto& cfg = node_.Config<StreamSourceConfig>();
    kafka::ConsumerOptions co;
    co.brokers = cfg.brokers;
    co.group = cfg.group;
    co.client_id = "sluice." + ctx_.plan->pipeline;
    auto consumer = kafka::Consumer::Open(co);
    if (!consumer.ok()) return consumer.status().WithContext(node_.name);
    consumer_ = std::move(*consumer);
    auto n = consumer_->PartitionCount(cfg.topic, 30000);
    if (!n.ok()) return n.status().WithContext(fmt::format("{}: topic '{}' at {}", node_.name, cfg.topic, cfg.brokers));
    std::map<int32_t, int64_t> start;
    for (int32_t p = 0; p < *n; ++p) {
      if (!Mine(p)) continue;
      auto it = restored.find(p);
      if (it != restored.end()) {
        start[p] = it->second;
      } else {
        auto wm = consumer_->Watermarks(cfg.topic, p, 30000);
        if (!wm.ok()) return wm.status().WithContext(node_.name);
        start[p] = cfg.start_at_end ? wm->second : wm->first;
      }
      parts_[p].next = start[p];
    }
    if (start.empty()) return Status::OK();  // more source threads than partitions
    return consumer_->Assign(cfg.topic, start).WithContext(node_.name);
  }

  void SetReplay(const std::map<int32_t, int64_t>& stop, const std::map<int32_t, std::vector<int64_t>>& cuts) override {
    StreamSource::SetReplay(stop, cuts);
    std::map<int32_t, int64_t> mine;
    for (const auto& [p, off] : stop) {
      if (Mine(p)) mine[p] = off;
    }
    consumer_->SetStopOffsets(mine);
  }

  Result<size_t> Poll(size_t max_records, int timeout_ms) override {
    if (parts_.empty()) return size_t{0};
    for (auto& [p, b] : pending_) {
      b.buf.clear();
      b.offsets.clear();
    }
    SLUICE_ASSIGN_OR_RETURN(size_t n, consumer_->Poll(max_records, timeout_ms,
                                                      [&](int32_t p, int64_t offset, std::string_view, std::string_view value) {
                                                        auto& b = pending_[p];
                                                        AppendRecord(b.buf, value);
                                                        b.offsets.push_back(offset);
                                                      }));
    for (auto& [p, b] : pending_) {
      if (b.offsets.empty()) continue;
      parts_[p].next = b.offsets.back() + 1;
      const size_t size = b.buf.size();
      b.buf.append(formats::kInputPadding, '\0');
      SLUICE_RETURN_IF_ERROR(DecodeAndDeliver(p, std::string_view(b.buf.data(), size), b.offsets));
    }
    return n;
  }

  Result<bool> CaughtUp() override {
    const auto& cfg = node_.Config<StreamSourceConfig>();
    std::vector<int32_t> ask;
    for (auto& [p, prog] : parts_) {
      if (prog.stop >= 0) {
        if (prog.next < prog.stop) return false;
        continue;
      }
      ask.push_back(p);
    }
    if (ask.empty()) return true;
    // High watermarks change as producers write: ask now, for all partitions at once.
    auto ends = consumer_->HighWatermarks(cfg.topic, ask, 2000);
    if (!ends.ok()) return false;  // a broker outage: not caught up, keep polling
    for (int32_t p : ask) {
      if (parts_[p].next < (*ends)[p]) return false;
    }
    return true;
  }

 private:
  struct Pending {
    std::string buf;
    std::vector<int64_t> offsets;
  };
  std::unique_ptr<kafka::Consumer> consumer_;
  std::map<int32_t, Pending> pending_;
};

}  // namespace

std::unique_ptr<StreamSource> MakeLogSource(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) {
  return std::make_unique<LogSource>(n, i, c, k);
}
std::unique_ptr<StreamSource> MakeKafkaSource(const PlanNode& n, size_t i, ExecContext& c, NodeCounters& k) {
  return std::make_unique<KafkaSource>(n, i, c, k);
}

}  // namespace sluice::engine
