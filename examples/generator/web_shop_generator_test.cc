#include "web_shop_generator.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "sluice/base/strings.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::examples {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("sluice-gen-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string path() const { return path_.string(); }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

GeneratorOptions SmallOptions(const std::string& dir) {
  GeneratorOptions o;
  o.out_dir = dir;
  o.seed = 7;
  o.customers = 500;
  o.products = 100;
  o.orders = 5000;
  o.events = 20000;
  o.event_bytes = 300;
  o.manifest = true;
  return o;
}

const FileCounts& Counts(const GeneratorReport& r, std::string_view file) {
  for (const auto& f : r.files) {
    if (f.file == file) return f;
  }
  ADD_FAILURE() << "no counts for " << file;
  static FileCounts none;
  return none;
}

// Splits one CSV line strictly (RFC 4180, no embedded newlines); nullopt on a quoting error.
std::optional<std::vector<std::string>> SplitCsv(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string cur;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cur += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cur += line[i++];
      }
      if (i < line.size() && line[i] != ',') return std::nullopt;
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') return std::nullopt;
        cur += line[i++];
      }
    }
    fields.push_back(std::move(cur));
    if (i >= line.size()) break;
    ++i;
  }
  return fields;
}

bool IsInt(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

TEST(WebShopGenerator, SameSeedSameBytesOtherSeedOtherBytes) {
  TempDir a, b, c;
  GeneratorOptions o = SmallOptions(a.path());
  ASSERT_TRUE(GenerateWebShop(o).ok());
  o.out_dir = b.path();
  ASSERT_TRUE(GenerateWebShop(o).ok());
  o.out_dir = c.path();
  o.seed = 8;
  ASSERT_TRUE(GenerateWebShop(o).ok());
  for (std::string_view f :
       {"customers.csv", "products.csv", "orders.ndjson", "clickstream.ndjson", "manifest.json"}) {
    std::string bytes = ReadAll(a.file(f));
    EXPECT_FALSE(bytes.empty()) << f;
    EXPECT_EQ(bytes, ReadAll(b.file(f))) << f;
    EXPECT_NE(bytes, ReadAll(c.file(f))) << f;
  }
}

TEST(WebShopGenerator, ManifestAddsUpToTheFiles) {
  TempDir dir;
  auto report = GenerateWebShop(SmallOptions(dir.path()));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->files.size(), 4u);
  simdjson::dom::parser parser;
  std::string manifest_text = ReadAll(dir.file("manifest.json"));
  simdjson::dom::element manifest;
  ASSERT_EQ(parser.parse(manifest_text).get(manifest), simdjson::SUCCESS) << manifest_text;
  for (const FileCounts& c : report->files) {
    std::string text = ReadAll(dir.file(c.file));
    int64_t newlines = std::count(text.begin(), text.end(), '\n');
    EXPECT_EQ(newlines, c.lines) << c.file;
    EXPECT_EQ(static_cast<int64_t>(text.size()), c.bytes) << c.file;
    EXPECT_EQ(c.records(), c.valid + c.duplicates + c.invalid_total()) << c.file;
    int64_t lines = 0, valid = 0, duplicates = 0, invalid_total = 0, invalid_sum = 0;
    simdjson::dom::object entry;
    ASSERT_EQ(manifest["files"][c.file].get(entry), simdjson::SUCCESS) << c.file;
    ASSERT_EQ(entry["lines"].get(lines), simdjson::SUCCESS);
    ASSERT_EQ(entry["valid"].get(valid), simdjson::SUCCESS);
    ASSERT_EQ(entry["duplicates"].get(duplicates), simdjson::SUCCESS);
    ASSERT_EQ(entry["invalid_total"].get(invalid_total), simdjson::SUCCESS);
    for (auto [kind, n] : entry["invalid"].get_object()) invalid_sum += n.get_int64().value();
    EXPECT_EQ(lines, c.lines);
    EXPECT_EQ(valid, c.valid);
    EXPECT_EQ(duplicates, c.duplicates);
    EXPECT_EQ(invalid_total, c.invalid_total());
    EXPECT_EQ(invalid_sum, invalid_total);
  }
}

TEST(WebShopGenerator, SharesAreRoughlyHonoured) {
  TempDir dir;
  auto report = GenerateWebShop(SmallOptions(dir.path()));
  ASSERT_TRUE(report.ok());
  const FileCounts& ev = Counts(*report, "clickstream.ndjson");
  // 20000 lines: 2% invalid = 400 (sd ~20), 5% duplicates = 1000 (sd ~31).
  EXPECT_GT(ev.invalid_total(), 300);
  EXPECT_LT(ev.invalid_total(), 500);
  EXPECT_GT(ev.duplicates, 850);
  EXPECT_LT(ev.duplicates, 1150);
  for (const auto& [kind, n] : ev.invalid) EXPECT_GT(n, 30) << kind;
  const FileCounts& orders = Counts(*report, "orders.ndjson");
  EXPECT_GT(orders.invalid_total(), 50);
  EXPECT_LT(orders.invalid_total(), 150);
  EXPECT_EQ(Counts(*report, "customers.csv").duplicates, 0);
  // No invalid or duplicate lines when the shares are zero.
  TempDir clean;
  GeneratorOptions o = SmallOptions(clean.path());
  o.invalid_share = 0;
  o.duplicate_share = 0;
  auto clean_report = GenerateWebShop(o);
  ASSERT_TRUE(clean_report.ok());
  for (const auto& f : clean_report->files) {
    EXPECT_EQ(f.valid, f.records()) << f.file;
  }
}

TEST(WebShopGenerator, EventBytesSetsTheAverageLineSize) {
  for (int target : {300, 600}) {
    TempDir dir;
    GeneratorOptions o = SmallOptions(dir.path());
    o.event_bytes = target;
    o.files = kGenEvents;
    auto report = GenerateWebShop(o);
    ASSERT_TRUE(report.ok());
    const FileCounts& ev = Counts(*report, "clickstream.ndjson");
    double avg = static_cast<double>(ev.bytes) / static_cast<double>(ev.lines);
    EXPECT_NEAR(avg, target, target * 0.03) << "target " << target;
    EXPECT_FALSE(fs::exists(dir.file("orders.ndjson")));
  }
}

// Every clickstream line is checked with a real JSON parser against the schema: the lines that
// pass are exactly the valid ones plus the duplicates, and the duplicates repeat earlier event ids.
TEST(WebShopGenerator, ClickstreamLinesAreWhatTheManifestSays) {
  TempDir dir;
  auto report = GenerateWebShop(SmallOptions(dir.path()));
  ASSERT_TRUE(report.ok());
  const FileCounts& c = Counts(*report, "clickstream.ndjson");
  simdjson::dom::parser parser;
  int64_t good = 0, repeated = 0, bad = 0;
  int64_t first_ts = INT64_MAX, last_ts = INT64_MIN;
  std::unordered_set<std::string> ids;
  std::unordered_map<std::string, int64_t> by_type;
  for (const std::string& line : Lines(ReadAll(dir.file("clickstream.ndjson")))) {
    simdjson::dom::element doc;
    std::string_view id, type, ts, action, page, session, source, version;
    int64_t user = 0;
    bool ok = parser.parse(line).get(doc) == simdjson::SUCCESS &&
              doc["event_id"].get(id) == simdjson::SUCCESS &&
              doc["event_type"].get(type) == simdjson::SUCCESS &&
              doc["timestamp"].get(ts) == simdjson::SUCCESS &&
              doc["user_id"].get(user) == simdjson::SUCCESS &&
              doc["data"]["action"].get(action) == simdjson::SUCCESS &&
              doc["data"]["page"].get(page) == simdjson::SUCCESS &&
              doc["data"]["session_id"].get(session) == simdjson::SUCCESS &&
              doc["metadata"]["source"].get(source) == simdjson::SUCCESS &&
              doc["metadata"]["version"].get(version) == simdjson::SUCCESS;
    if (!ok) {
      ++bad;
      continue;
    }
    std::optional<int64_t> t = ParseTimestamp(ts);
    ASSERT_TRUE(t.has_value()) << line;
    first_ts = std::min(first_ts, *t);
    last_ts = std::max(last_ts, *t);
    EXPECT_EQ(id.size(), 36u) << line;
    EXPECT_TRUE(page.starts_with("/")) << line;
    EXPECT_GT(user, 0) << line;
    ++good;
    if (!ids.insert(std::string(id)).second) {
      ++repeated;
    } else {
      ++by_type[std::string(type)];
    }
  }
  EXPECT_EQ(good, c.valid + c.duplicates);
  EXPECT_EQ(repeated, c.duplicates);
  EXPECT_EQ(bad, c.invalid_total());
  for (const auto& [type, n] : c.valid_by) EXPECT_EQ(by_type[type], n) << type;
  EXPECT_GE(first_ts, *ParseTimestamp("2026-11-01"));
  EXPECT_LT(last_ts, *ParseTimestamp("2026-11-08"));
}

// Orders: valid lines parse with the right types and a known status, and their amount is the
// product's price times the quantity (so joins against products.csv are exact).
TEST(WebShopGenerator, OrdersAreConsistentWithProducts) {
  TempDir dir;
  auto report = GenerateWebShop(SmallOptions(dir.path()));
  ASSERT_TRUE(report.ok());
  std::unordered_map<int64_t, int64_t> price_cents;
  std::vector<std::string> product_lines = Lines(ReadAll(dir.file("products.csv")));
  for (size_t i = 1; i < product_lines.size(); ++i) {
    auto fields = SplitCsv(product_lines[i]);
    if (!fields || fields->size() != 4 || !IsInt((*fields)[0])) continue;
    auto cents = ParseDecimal((*fields)[3], 10, 2);
    if (cents) price_cents[std::stoll((*fields)[0])] = *cents;
  }
  const std::set<std::string_view> statuses(std::begin(kOrderStatuses), std::end(kOrderStatuses));
  const FileCounts& c = Counts(*report, "orders.ndjson");
  simdjson::dom::parser parser;
  int64_t good = 0, repeated = 0;
  std::unordered_set<int64_t> ids;
  for (const std::string& line : Lines(ReadAll(dir.file("orders.ndjson")))) {
    simdjson::dom::element doc;
    int64_t order_id = 0, customer = 0, product = 0, quantity = 0;
    double amount = 0;
    std::string_view currency, status, ts;
    bool ok = parser.parse(line).get(doc) == simdjson::SUCCESS &&
              doc["order_id"].get(order_id) == simdjson::SUCCESS &&
              doc["customer_id"].get(customer) == simdjson::SUCCESS &&
              doc["product_id"].get(product) == simdjson::SUCCESS &&
              doc["quantity"].get(quantity) == simdjson::SUCCESS &&
              doc["amount"].get(amount) == simdjson::SUCCESS &&
              doc["currency"].get(currency) == simdjson::SUCCESS &&
              doc["status"].get(status) == simdjson::SUCCESS && doc["ts"].get(ts) == simdjson::SUCCESS &&
              amount >= 0 && statuses.count(status) && ParseTimestamp(ts).has_value();
    if (!ok) continue;
    ++good;
    if (!ids.insert(order_id).second) ++repeated;
    ASSERT_TRUE(price_cents.count(product)) << "order references an invalid product: " << line;
    EXPECT_EQ(std::llround(amount * 100), price_cents[product] * quantity) << line;
  }
  EXPECT_EQ(good, c.valid + c.duplicates);
  EXPECT_EQ(repeated, c.duplicates);
}

// CSV rows: a strict RFC 4180 reading with type checks accepts exactly the valid rows.
TEST(WebShopGenerator, CsvRowsAreWhatTheManifestSays) {
  TempDir dir;
  auto report = GenerateWebShop(SmallOptions(dir.path()));
  ASSERT_TRUE(report.ok());
  struct Case {
    std::string_view file;
    size_t fields;
  };
  for (Case k : {Case{"customers.csv", 6}, Case{"products.csv", 4}}) {
    std::vector<std::string> lines = Lines(ReadAll(dir.file(k.file)));
    ASSERT_FALSE(lines.empty());
    int64_t good = 0;
    for (size_t i = 1; i < lines.size(); ++i) {
      auto f = SplitCsv(lines[i]);
      bool ok = f && f->size() == k.fields && IsInt((*f)[0]) && IsValidUtf8(lines[i]);
      if (ok && k.file == "customers.csv") ok = ParseDate((*f)[5]).has_value();
      if (ok && k.file == "products.csv") ok = ParseDecimal((*f)[3], 10, 2).has_value();
      good += ok;
    }
    const FileCounts& c = Counts(*report, k.file);
    EXPECT_EQ(good, c.valid) << k.file;
    EXPECT_EQ(static_cast<int64_t>(lines.size()) - 1 - good, c.invalid_total()) << k.file;
  }
  // Some valid names need CSV quoting (commas, embedded quotes), so readers meet both forms.
  std::string customers = ReadAll(dir.file("customers.csv"));
  EXPECT_NE(customers.find(",\""), std::string::npos);
}

TEST(WebShopGenerator, ParsesTheCommandLine) {
  std::vector<std::string_view> args = {"--out", "/tmp/x", "--seed=9", "--events", "10", "--only",
                                        "events,orders", "--start", "2026-01-31", "--manifest"};
  auto o = ParseGeneratorArgs(args);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->out_dir, "/tmp/x");
  EXPECT_EQ(o->seed, 9u);
  EXPECT_EQ(o->events, 10);
  EXPECT_EQ(o->files, static_cast<unsigned>(kGenEvents | kGenOrders));
  EXPECT_EQ(o->start_day, *ParseDate("2026-01-31"));
  EXPECT_TRUE(o->manifest);

  auto error = [](std::vector<std::string_view> a) {
    auto r = ParseGeneratorArgs(a);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(error({"--seed", "1"}).find("--out"), std::string::npos);
  EXPECT_NE(error({"--out", "d", "--evnts", "5"}).find("did you mean"), std::string::npos);
  EXPECT_NE(error({"--out", "d", "--invalid-share", "1.5"}).find("between 0 and 1"), std::string::npos);
  EXPECT_NE(error({"--out", "d", "--events", "-3"}).find("non-negative"), std::string::npos);
  EXPECT_NE(error({"--out", "d", "--start", "2026-02-30"}).find("YYYY-MM-DD"), std::string::npos);
  EXPECT_NE(error({"--out", "d", "--only", "evnts"}).find("unknown file"), std::string::npos);
  EXPECT_NE(error({"--out", "d", "--days"}).find("needs a value"), std::string::npos);
}

}  // namespace
}  // namespace sluice::examples
