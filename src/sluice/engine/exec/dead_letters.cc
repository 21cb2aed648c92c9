#include "sluice/engine/exec/dead_letters.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>

#include "sluice/base/digest.h"
#include "sluice/base/strings.h"
#include "sluice/formats/json/json.h"
#include "sluice/io/file_system.h"
#include "sluice/types/temporal.h"

namespace sluice::engine {

// One JSON encoder per distinct schema seen (rows of a component share one).
struct DeadLetterWriter::EncoderCache {
  std::map<const Schema*, std::pair<SchemaPtr, std::unique_ptr<formats::JsonEncoder>>> by_schema;
  // The schema of a record with pii fields as its dead letter shows it: those fields are strings
  // (their masks).
  std::map<const Schema*, std::pair<SchemaPtr, SchemaPtr>> masked;
  const SchemaPtr& Masked(const SchemaPtr& schema) {
    auto& slot = masked[schema.get()];
    if (!slot.second) {
      slot.first = schema;
      std::vector<Field> fields = schema->fields();
      for (auto& f : fields) {
        if (!f.pii) continue;
        f.type = DataType::String();
        f.required = false;
      }
      slot.second = std::make_shared<Schema>(std::move(fields));
    }
    return slot.second;
  }
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

DeadLetterWriter::~DeadLetterWriter() {
  // Never committed (the run failed): no temporary file stays behind.
  if (file_) {
    file_.reset();
    std::error_code ec;
    std::filesystem::remove(path_ + ".tmp", ec);
  }
}

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

namespace {

// The text a pii value is masked as: strings as they are, other types as they print.
std::string PiiText(const Column& col, uint32_t row) {
  return col.type().is_variable_width() ? std::string(col.GetString(row)) : col.GetValue(row).ToString();
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string MaskDecodeMessage(std::string_view message, const PiiMasker* masker) {
  auto mask = [&](std::string_view v) {
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
      v = v.substr(1, v.size() - 2);
    return masker ? masker->Mask(v) : std::string("a pii value");
  };
  // The JSON decoder quotes the line after "malformed JSON: " unless it says what is wrong.
  constexpr std::string_view kMalformed = "malformed JSON: ";
  if (message.starts_with(kMalformed)) {
    std::string_view rest = message.substr(kMalformed.size());
    if (rest.starts_with("invalid number ")) {
      return std::string(message.substr(0, kMalformed.size() + 15)) + mask(rest.substr(15));
    }
    if (rest == "invalid literal" || rest.starts_with("unexpected content after")) return std::string(message);
    return std::string(kMalformed) + mask(rest);
  }
  size_t at = message.find("got ");
  if (at == std::string_view::npos) return std::string(message);
  at += 4;
  std::string_view rest = message.substr(at);
  std::string out(message.substr(0, at));
  // JSON says the value's type first: "got string \"abc\"", "got number 12".
  bool typed = false;
  if (size_t sp = rest.find(' '); sp != std::string_view::npos && rest[0] >= 'a' && rest[0] <= 'z') {
    out += rest.substr(0, sp + 1);
    rest = rest.substr(sp + 1);
    typed = true;
  }
  std::string_view why;
  if (size_t p = rest.rfind(" ("); p != std::string_view::npos && rest.back() == ')') {
    why = rest.substr(p);
    rest = rest.substr(0, p);
  }
  if (rest.empty() || (!typed && AllDigits(rest))) return std::string(message);  // a field count, not a value
  out += mask(rest);
  out += why;
  return out;
}

Result<std::string> WorkdirPiiKey(const std::string& workdir) {
  const std::filesystem::path file = std::filesystem::path(workdir) / "pii.key";
  auto read = [&]() -> Result<std::string> {
    SLUICE_ASSIGN_OR_RETURN(io::PaddedBuffer text, io::ReadFile(file.string()));
    auto key = HexDecode(Trim(text.view()));
    if (!key || key->size() != 32) {
      return Status::DataError("the PII key file '{}' must hold 64 hex digits; remove it to make a new key",
                               file.string());
    }
    return *key;
  };
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) return read();
  SLUICE_RETURN_IF_ERROR(io::MakeDirs(file.parent_path().string()));
  SLUICE_ASSIGN_OR_RETURN(std::string key, NewPiiKey());
  // Written to a temporary file, then linked into place: link() fails if another run made the
  // key first, and then both use that one.
  const std::string tmp = file.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create the PII key file '{}'", tmp);
  const std::string text = HexEncode(key) + "\n";
  const bool written = io::WriteAll(fd, text, tmp).ok() && io::SyncFd(fd, tmp).ok();
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return Status::IoError("cannot write the PII key file '{}'", tmp);
  }
  Status linked = io::LinkDurably(tmp, file.string());
  ::unlink(tmp.c_str());
  if (linked.code() == StatusCode::kAlreadyExists) return read();
  SLUICE_RETURN_IF_ERROR(linked.WithContext("creating the PII key file"));
  return key;
}

Result<std::unique_ptr<PiiMasker>> RunPiiMasker(const Plan& plan, const std::string& key, const std::string& workdir) {
  bool pii = false;
  for (const auto& n : plan.nodes) {
    for (const auto& o : n.outputs) pii = pii || (o.schema && o.schema->HasPii());
  }
  if (!pii) return std::unique_ptr<PiiMasker>();
  if (!key.empty()) return std::make_unique<PiiMasker>(key);
  SLUICE_ASSIGN_OR_RETURN(std::string k, WorkdirPiiKey(workdir));
  return std::make_unique<PiiMasker>(std::move(k));
}

void DeadLetterWriter::AddRaw(std::string_view component, std::string_view source, std::string_view partition,
                              int64_t offset, std::string_view error_class, std::string_view message,
                              std::string_view payload, bool pii) {
  if (!pii) {
    Begin(component, "", error_class, message, source, partition, offset);
    End(payload);
    return;
  }
  // The bytes may hold a pii value anywhere: only their mask and length are kept.
  Begin(component, "", error_class, MaskDecodeMessage(message, pii_), source, partition, offset);
  End(fmt::format("{} ({} bytes)", pii_ ? pii_->Mask(payload) : std::string("pii"), payload.size()));
}

void DeadLetterWriter::AddRow(std::string_view component, const Batch& batch, uint32_t row,
                              std::string_view rule, std::string_view error_class,
                              std::string_view message) {
  const auto& origin = batch.origin();
  const Schema& schema = *batch.schema();
  std::vector<std::string> pii_values;
  if (schema.HasPii()) {
    for (size_t i = 0; i < schema.size(); ++i) {
      if (schema.field(i).pii && batch.column(i)->IsValid(row)) pii_values.push_back(PiiText(*batch.column(i), row));
    }
  }
  const std::string_view source = origin ? std::string_view(origin->source) : "";
  const std::string_view location = origin ? std::string_view(origin->location) : "";
  if (!schema.HasPii()) {
    Begin(component, rule, error_class, message, source, location, batch.RowOffset(row));
  } else {
    auto scrub = [&](std::string_view text) { return pii_ ? pii_->Scrub(text, pii_values) : std::string(text); };
    Begin(component, scrub(rule), error_class, scrub(message), source, location, batch.RowOffset(row));
  }
  auto raw = schema.IndexOf("_raw");
  if (raw && !schema.field(*raw).pii && batch.column(*raw)->IsValid(row)) {
    End(batch.column(*raw)->GetString(row));
    return;
  }
  scratch_.clear();
  if (!schema.HasPii()) {
    encoders_->For(batch.schema()).EncodeRow(batch, row, scratch_);
  } else {
    // The record re-encoded with each pii value (and the original text) replaced by its mask.
    const SchemaPtr& masked = encoders_->Masked(batch.schema());
    BatchBuilder one(masked, 1);
    std::vector<Value> values;
    for (size_t i = 0; i < schema.size(); ++i) {
      const Column& col = *batch.column(i);
      if (!schema.field(i).pii) {
        values.push_back(col.GetValue(row));
      } else if (col.IsNull(row)) {
        values.push_back(Value::Null(DataType::String()));
      } else {
        values.push_back(Value::String(pii_ ? pii_->Mask(PiiText(col, row)) : std::string(kPiiMaskPrefix)));
      }
    }
    one.AppendRow(values);
    encoders_->For(masked).EncodeRow(one.Finish(), 0, scratch_);
  }
  std::string payload;
  payload.swap(scratch_);
  End(payload);
  scratch_.swap(payload);
}

Status DeadLetterWriter::Commit() {
  SLUICE_RETURN_IF_ERROR(io_status_);
  if (count_ == 0) return Status::OK();
  const std::string tmp = path_ + ".tmp";
  std::error_code ec;
  auto stage = [&]() -> Status {
    if (!file_) {
      SLUICE_ASSIGN_OR_RETURN(file_, io::FileWriter::Open(tmp, /*truncate=*/true));
    }
    SLUICE_RETURN_IF_ERROR(file_->Append(buffer_));
    buffer_.clear();
    SLUICE_RETURN_IF_ERROR(file_->Sync());
    return std::exchange(file_, nullptr)->Close();
  };
  Status st = stage();
  if (st.ok()) st = io::RenameFile(tmp, path_);
  if (!st.ok()) {
    file_.reset();
    std::filesystem::remove(tmp, ec);
    return st.WithContext("writing dead letters");
  }
  // The name is durable once its directory is. If that fsync fails the commit has failed, and so
  // has the run: the file goes again, so the dead letters of a failed run are never read next to
  // the ones its rerun writes (a batch rerun writes them under its own run's name).
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  st = io::SyncDir(dir.string());
  if (!st.ok()) {
    std::filesystem::remove(path_, ec);
    return st.WithContext("moving dead letters into place");
  }
  return Status::OK();
}

}  // namespace sluice::engine
