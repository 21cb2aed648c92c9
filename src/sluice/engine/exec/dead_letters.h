// DeadLetterWriter: collects rejected records as envelopes (docs/dead-letters.md) and writes them
// as NDJSON.
//
// An envelope holds: pipeline, version, component, rule, error_class, error_message, source,
// partition (file or topic-partition), offset (line or log offset), event_time, ingest_time and
// the payload — the record's original text when known (`_raw`, or the undecodable bytes), else
// the record re-encoded as JSON — capped at formats::kMaxRawBytes.
// Thread-safety: one writer per run, used by one thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"
#include "sluice/formats/formats.h"
#include "sluice/io/file_system.h"

namespace sluice::engine {

class DeadLetterWriter {
 public:
  // Envelopes stream to `path` (through a temporary file renamed by Commit()).
  DeadLetterWriter(std::string pipeline, std::string version, int64_t ingest_time_micros,
                   std::string path);
  ~DeadLetterWriter();

  // A record that never became a row (decode error).
  void AddRaw(std::string_view component, std::string_view source, std::string_view partition,
              int64_t offset, std::string_view error_class, std::string_view message,
              std::string_view payload);
  // A row of a batch rejected by `component`.
  void AddRow(std::string_view component, const Batch& batch, uint32_t row, std::string_view rule,
              std::string_view error_class, std::string_view message);

  int64_t count() const { return count_; }
  const std::string& path() const { return path_; }
  // Makes the envelopes durable and visible at path(); nothing is written when there are none.
  Status Commit();

 private:
  void Begin(std::string_view component, std::string_view rule, std::string_view error_class,
             std::string_view message, std::string_view source, std::string_view partition,
             int64_t offset);
  void End(std::string_view payload);
  void MaybeFlush();

  std::string pipeline_;
  std::string version_;
  int64_t ingest_time_;
  std::string path_;
  std::unique_ptr<io::FileWriter> file_;
  Status io_status_;
  std::string buffer_;
  std::string scratch_;
  int64_t count_ = 0;
  struct EncoderCache;
  std::unique_ptr<EncoderCache> encoders_;
};

}  // namespace sluice::engine
