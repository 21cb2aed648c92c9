// WebShopGenerator: seeded, deterministic synthetic web-shop data — customers.csv, products.csv,
// orders.ndjson and clickstream.ndjson — with a chosen share of invalid rows and of exact duplicates,
// for tests, benchmarks and the demo.
//
// Determinism: every line is a pure function of (seed, file, line number, options). The same options
// give the same bytes on every machine (own PRNG, no std distributions, no floating-point output).
// The share of invalid and duplicate lines is drawn per line, so it is honoured on average, and the
// manifest records what was actually written.
//
// Thread-safety: functions are reentrant; one call writes its files from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::examples {

// Which files a run writes (a bit set).
enum GenFile : unsigned {
  kGenCustomers = 1u << 0,
  kGenProducts = 1u << 1,
  kGenOrders = 1u << 2,
  kGenEvents = 1u << 3,
  kGenAll = kGenCustomers | kGenProducts | kGenOrders | kGenEvents,
};

struct GeneratorOptions {
  std::string out_dir;
  uint64_t seed = 42;
  int64_t customers = 1000;
  int64_t products = 200;
  int64_t orders = 10000;
  int64_t events = 100000;  // lines of clickstream.ndjson, invalid and duplicates included
  double invalid_share = 0.02;
  double duplicate_share = 0.05;  // ndjson files only; CSV dimension files have no duplicates
  int32_t start_day = 20758;      // days since 1970-01-01; 2026-11-01
  int32_t days = 7;               // event and order times spread over [start, start + days)
  int32_t event_bytes = 0;        // average clickstream line size incl. newline; 0 = unpadded
  unsigned files = kGenAll;
  bool manifest = false;
};

// What one file holds. records = valid + duplicates + sum(invalid); lines = header_lines + records.
struct FileCounts {
  std::string file;
  int64_t lines = 0;
  int64_t header_lines = 0;
  int64_t valid = 0;       // distinct valid records (first occurrence)
  int64_t duplicates = 0;  // byte-identical re-emissions of an earlier valid line
  std::map<std::string, int64_t> invalid;  // by kind
  std::map<std::string, int64_t> valid_by;  // events: by event_type; orders: by status
  int64_t bytes = 0;

  int64_t records() const { return lines - header_lines; }
  int64_t invalid_total() const;
};

struct GeneratorReport {
  std::vector<FileCounts> files;
  // The manifest.json text (written to out_dir when options.manifest is set).
  std::string ToJson(const GeneratorOptions& options) const;
};

// Writes the selected files into options.out_dir (created if missing).
Result<GeneratorReport> GenerateWebShop(const GeneratorOptions& options);

// Parses the command line (without the program name). "--help" is the caller's business.
Result<GeneratorOptions> ParseGeneratorArgs(std::span<const std::string_view> args);
// The --help text.
std::string GeneratorUsage();

// Invalid-row kinds, as they appear in the manifest.
namespace invalid_kind {
inline constexpr std::string_view kMalformedJson = "malformed_json";
inline constexpr std::string_view kWrongType = "wrong_type";
inline constexpr std::string_view kMissingEventId = "missing_event_id";
inline constexpr std::string_view kMissingTimestamp = "missing_timestamp";
inline constexpr std::string_view kInvalidUtf8 = "invalid_utf8";
inline constexpr std::string_view kMissingOrderId = "missing_order_id";
inline constexpr std::string_view kNegativeAmount = "negative_amount";
inline constexpr std::string_view kUnknownStatus = "unknown_status";
inline constexpr std::string_view kStrayQuote = "stray_quote";
inline constexpr std::string_view kWrongFieldCount = "wrong_field_count";
}  // namespace invalid_kind

// The order statuses a valid order carries.
inline constexpr std::string_view kOrderStatuses[] = {"placed",    "paid",     "shipped", "delivered",
                                                      "cancelled", "refunded", "test"};

}  // namespace sluice::examples
