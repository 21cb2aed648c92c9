// Record formats: decoders turn bytes into typed batches of a declared schema; encoders turn
// batches into bytes. One library per format under formats/ (json/, csv/); this header holds what
// they share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/batch.h"

namespace sluice::formats {

// A record that could not be decoded. It goes to the dead letters with this reason; nothing is
// lost and decoding carries on with the next record.
struct DecodeError {
  int64_t line = 0;         // 1-based line where the record starts
  std::string error_class;  // stable: malformed_json, type_mismatch, invalid_utf8, oversized_record,
                            // too_deep, unbalanced_quote, field_count, malformed_csv
  std::string message;      // "field 'amount': expected decimal(18,2), got string \"abc\""
  std::string raw;          // the record's bytes (capped at kMaxRawBytes)
};

inline constexpr size_t kMaxRawBytes = 64 * 1024;

// Called with each full batch; a non-OK status stops decoding and is returned.
using BatchCallback = std::function<Status(Batch)>;

struct DecodeOptions {
  size_t batch_rows = 4096;
  size_t max_record_bytes = 1 << 20;  // larger records are oversized_record errors
  // If the schema has a string field named "_raw", it receives each record's original text.
  std::string origin_source;    // BatchOrigin::source of produced batches
  std::string origin_location;  // BatchOrigin::location (file path)
};

// Input buffers for decoders must have this many readable bytes past their end (simdjson reads
// ahead); io::ReadFile provides them.
inline constexpr size_t kInputPadding = 64;

}  // namespace sluice::formats
