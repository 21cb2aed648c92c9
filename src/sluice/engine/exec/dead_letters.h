// DeadLetterWriter: collects rejected records as envelopes (docs/dead-letters.md) and writes them
// as NDJSON.
//
// An envelope holds: pipeline, version, component, rule, error_class, error_message, source,
// partition (file or topic-partition), offset (line or log offset), event_time, ingest_time and
// the payload — the record's original text when known (`_raw`, or the undecodable bytes), else
// the record re-encoded as JSON — capped at formats::kMaxRawBytes.
//
// PII (docs/dead-letters.md#pii): with a masker set, the values of the record's pii fields are
// masked in the payload (the record re-encoded with each pii value replaced by its mask, never
// the original text) and wherever they occur in the rule and the message; the payload of an
// undecodable record of a source with pii fields is the mask of its bytes and their length, and
// the value its decode message quotes is masked.
// Thread-safety: one writer per run, used by one thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sluice/base/pii.h"
#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"
#include "sluice/engine/plan/plan.h"
#include "sluice/formats/formats.h"
#include "sluice/io/file_system.h"

namespace sluice::engine {

class DeadLetterWriter {
 public:
  // Envelopes stream to `path` (through a temporary file renamed by Commit()).
  DeadLetterWriter(std::string pipeline, std::string version, int64_t ingest_time_micros,
                   std::string path);
  ~DeadLetterWriter();

  // Masks pii values from now on; `masker` outlives the writer. Runners set it when the plan
  // has pii fields.
  void set_pii_masker(const PiiMasker* masker) { pii_ = masker; }

  // A record that never became a row (decode error); `pii` when its source has pii fields.
  void AddRaw(std::string_view component, std::string_view source, std::string_view partition, int64_t offset,
              std::string_view error_class, std::string_view message, std::string_view payload, bool pii = false);
  // A row of a batch rejected by `component`.
  void AddRow(std::string_view component, const Batch& batch, uint32_t row, std::string_view rule,
              std::string_view error_class, std::string_view message);

  int64_t count() const { return count_; }
  const std::string& path() const { return path_; }
  // Makes the envelopes durable and visible at path(); nothing is written when there are none.
  // They go to `path().tmp`, which is fsynced and renamed over path(), and then the directory is
  // fsynced. On any failure (an I/O error, a full disk) nothing is left at path() — not even after
  // a rename whose directory fsync failed — and the temporary file is removed: the dead letters
  // of a failed commit are never read. A writer destroyed without a commit removes it too.
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
  const PiiMasker* pii_ = nullptr;
  struct EncoderCache;
  std::unique_ptr<EncoderCache> encoders_;
};

// The PII key of local runs: the workdir's key file `pii.key` (64 hex digits, mode 0600), made
// with a new random key when missing (docs/security.md#pii).
Result<std::string> WorkdirPiiKey(const std::string& workdir);

// The masker of a run: null when no schema of the plan has a pii field; else under `key`, or the
// workdir's key when `key` is empty.
Result<std::unique_ptr<PiiMasker>> RunPiiMasker(const Plan& plan, const std::string& key, const std::string& workdir);

// A decode error's message for a source with pii fields: the part that shows the record's value
// (after "got <type> ") is masked; messages without a value are unchanged.
std::string MaskDecodeMessage(std::string_view message, const PiiMasker* masker);

}  // namespace sluice::engine
