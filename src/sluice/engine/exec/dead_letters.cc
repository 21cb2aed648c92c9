#include "sluice/engine/exec/dead_letters.h"

#include <map>

#include "sluice/formats/json/json.h"
#include <cstdio>

#include "sluice/base/strings.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

// One JSON encoder per distinct schema seen (rows of a component share one).
struct DeadLetterWriter::EncoderCache {
  std::map<const Schema*, std::pair<SchemaPtr, std::unique_ptr<formats::JsonEncoder>>> by_schema;
  formats::JsonEncoder& For(const SchemaPtr& schema) {
    auto& slot = by_schema[schema.get()];
    if (!slot.second) {
      slot.first = schema;
      slot.second = std::make_unique<formats::JsonEncoder>(schema);
    }
    return *slot.second;
  }
};

DeadLetterWriter::DeadLetterWriter(std::string pipeline, std::string version, int64_t ingest_time,
                                   std::string path)
    : pipeline_(std::move(pipeline)),
      version_(std::move(version)),
      ingest_time_(ingest_time),
      path_(std::move(path)),
      encoders_(std::make_unique<EncoderCache>()) {}

DeadLetterWriter::~DeadLetterWriter() = default;

void DeadLetterWriter::Begin(std::string_view component, std::string_view rule,
                             std::string_view error_class, std::string_view message,
                             std::string_view source, std::string_view partition, int64_t offset) {
  using formats::AppendJsonString;
  ++count_;
  std::string& b = buffer_;
  b += "{\"pipeline\":";
  AppendJsonString(b, pipeline_);
  b += ",\"version\":";
  AppendJsonString(b, version_);
  b += ",\"component\":";
  AppendJsonString(b, component);
  b += ",\"rule\":";
  if (rule.empty()) b += "null"; else AppendJsonString(b, rule);
  b += ",\"error_class\":";
  AppendJsonString(b, error_class);
  b += ",\"error_message\":";
  AppendJsonString(b, message);
  b += ",\"source\":";
  if (source.empty()) b += "null"; else AppendJsonString(b, source);
  b += ",\"partition\":";
  if (partition.empty()) b += "null"; else AppendJsonString(b, partition);
  b += ",\"offset\":";
  if (offset < 0) b += "null"; else b += std::to_string(offset);
  b += ",\"event_time\":null,\"ingest_time\":\"";
  AppendTimestamp(b, ingest_time_);
  b += "\",\"payload\":";
}

void DeadLetterWriter::End(std::string_view payload) {
  if (payload.size() > formats::kMaxRawBytes) payload = payload.substr(0, formats::kMaxRawBytes);
  // A payload that is not valid UTF-8 cannot be a JSON string: keep it readable and lossless
  // enough by replacing each bad byte with \u00XX-style escapes via hex.
  if (!IsValidUtf8(payload)) {
    scratch_.clear();
    static const char* kHex = "0123456789abcdef";
    for (unsigned char c : payload) {
      if (c < 0x80) {
        scratch_ += static_cast<char>(c);
      } else {
        scratch_ += "\\x";
        scratch_ += kHex[c >> 4];
        scratch_ += kHex[c & 15];
      }
    }
    formats::AppendJsonString(buffer_, scratch_);
  } else {
    formats::AppendJsonString(buffer_, payload);
  }
  buffer_ += "}\n";
  MaybeFlush();
}

void DeadLetterWriter::MaybeFlush() {
  if (buffer_.size() < (1 << 20) || !io_status_.ok()) return;
  if (!file_) {
    auto f = io::FileWriter::Open(path_ + ".tmp", true);
    if (!f.ok()) {
      io_status_ = f.status();
      return;
    }
    file_ = std::move(*f);
  }
  io_status_ = file_->Append(buffer_);
  buffer_.clear();
}

void DeadLetterWriter::AddRaw(std::string_view component, std::string_view source,
                              std::string_view partition, int64_t offset,
                              std::string_view error_class, std::string_view message,
                              std::string_view payload) {
  Begin(component, "", error_class, message, source, partition, offset);
  End(payload);
}

void DeadLetterWriter::AddRow(std::string_view component, const Batch& batch, uint32_t row,
                              std::string_view rule, std::string_view error_class,
                              std::string_view message) {
  const auto& origin = batch.origin();
  Begin(component, rule, error_class, message, origin ? std::string_view(origin->source) : "",
        origin ? std::string_view(origin->location) : "", batch.RowOffset(row));
  auto raw = batch.schema()->IndexOf("_raw");
  if (raw && batch.column(*raw)->IsValid(row)) {
    End(batch.column(*raw)->GetString(row));
    return;
  }
  scratch_.clear();
  encoders_->For(batch.schema()).EncodeRow(batch, row, scratch_);
  std::string payload;
  payload.swap(scratch_);
  End(payload);
  scratch_.swap(payload);
}

Status DeadLetterWriter::Commit() {
  SLUICE_RETURN_IF_ERROR(io_status_);
  if (count_ == 0) return Status::OK();
  if (!file_) return io::WriteFileAtomic(path_, buffer_);
  SLUICE_RETURN_IF_ERROR(file_->Append(buffer_));
  buffer_.clear();
  SLUICE_RETURN_IF_ERROR(file_->Sync());
  SLUICE_RETURN_IF_ERROR(file_->Close());
  if (std::rename((path_ + ".tmp").c_str(), path_.c_str()) != 0) {
    return Status::IoError("cannot move dead letters into place at '{}'", path_);
  }
  return Status::OK();
}

}  // namespace sluice::engine
