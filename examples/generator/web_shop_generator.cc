#include "web_shop_generator.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <optional>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "sluice/base/strings.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::examples {

namespace {

namespace ik = invalid_kind;

// ---------------------------------------------------------------------------------------------
// Randomness. SplitMix64 is small, fast and statistically good enough for synthetic data; each
// line gets its own generator seeded from (seed, file, line, stream), which is what makes any
// line reproducible on its own (duplicates re-create an earlier line instead of storing it).

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// A bijection on 64-bit integers (the SplitMix64 finalizer).
constexpr uint64_t Mix64(uint64_t z) {
  z += kGolden;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t state) : state_(state) {}
  uint64_t Next() {
    state_ += kGolden;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the tiny bias does not matter here).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  int64_t Range(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

 private:
  uint64_t state_;
};

enum FileTag : uint64_t { kTagCustomers = 1, kTagProducts = 2, kTagOrders = 3, kTagEvents = 4 };
enum Stream : uint64_t { kStreamKind = 1, kStreamBody = 2, kStreamDup = 3, kStreamCountry = 4, kStreamName = 5 };

Rng LineRng(uint64_t seed, FileTag file, Stream stream, int64_t line) {
  uint64_t base = Mix64(seed ^ Mix64(static_cast<uint64_t>(file) * 0x100 + stream));
  return Rng(Mix64(base + static_cast<uint64_t>(line) * kGolden));
}

// Picks an index by integer weights.
template <size_t N>
size_t Weighted(Rng& rng, const int (&weights)[N]) {
  int total = 0;
  for (int w : weights) total += w;
  int r = static_cast<int>(rng.Below(static_cast<uint64_t>(total)));
  for (size_t i = 0; i < N; ++i) {
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  return N - 1;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.

constexpr std::string_view kFirstNames[] = {
    "Anna",  "Ben",    "Clara", "David", "Emma",   "Felix", "Grace",  "Hugo",  "Ines",  "Jonas",
    "Karin", "Liam",   "Maria", "Noah",  "Olivia", "Paul",  "Quinn",  "Rosa",  "Sam",   "Tara",
    "Umar",  "Vera",   "Wei",   "Xenia", "Yusuf",  "Zoe",   "José",   "Zoë",   "Søren", "Łukasz",
    "Amélie", "Björn", "Chloé", "Dmitri", "Elif",  "Fatima", "Giulia", "Hiro",  "Ivan",  "Julia"};
constexpr std::string_view kLastNames[] = {
    "Smith",  "Müller", "Garcia", "Rossi",  "Dubois",   "Jansen", "Kowalski", "Nilsson", "Tanaka",
    "Silva",  "Patel",  "Brown",  "Schmidt", "Martin",  "Bianchi", "de Vries", "Novak",   "Larsen",
    "Wagner", "López",  "Moreau", "Weber",  "Fischer", "Svensson", "Costa",   "Kim",      "Chen",
    "Singh",  "Okafor", "Walsh"};
// ASCII spellings for e-mail local parts, index-aligned with the names above.
constexpr std::string_view kFirstAscii[] = {
    "anna",  "ben",   "clara", "david",  "emma",   "felix",  "grace",  "hugo", "ines",  "jonas",
    "karin", "liam",  "maria", "noah",   "olivia", "paul",   "quinn",  "rosa", "sam",   "tara",
    "umar",  "vera",  "wei",   "xenia",  "yusuf",  "zoe",    "jose",   "zoe",  "soren", "lukasz",
    "amelie", "bjorn", "chloe", "dmitri", "elif",  "fatima", "giulia", "hiro", "ivan",  "julia"};
constexpr std::string_view kLastAscii[] = {
    "smith",  "muller", "garcia", "rossi",   "dubois",  "jansen",  "kowalski", "nilsson", "tanaka",
    "silva",  "patel",  "brown",  "schmidt", "martin",  "bianchi", "devries",  "novak",   "larsen",
    "wagner", "lopez",  "moreau", "weber",   "fischer", "svensson", "costa",   "kim",     "chen",
    "singh",  "okafor", "walsh"};
static_assert(std::size(kFirstNames) == std::size(kFirstAscii));
static_assert(std::size(kLastNames) == std::size(kLastAscii));

constexpr std::string_view kMailDomains[] = {"example.com", "example.org", "example.net",
                                             "mail.example.com", "shop-customer.example"};
constexpr std::string_view kSegments[] = {"consumer", "small_business", "enterprise", "vip"};
constexpr int kSegmentWeights[] = {70, 18, 7, 5};
constexpr std::string_view kCountries[] = {"DE", "US", "FR", "GB", "NL", "ES",
                                           "IT", "PL", "SE", "JP", "BR", "IN"};
constexpr int kCountryWeights[] = {22, 20, 10, 10, 6, 6, 6, 5, 4, 4, 4, 3};
constexpr std::string_view kCurrencies[] = {"EUR", "USD", "EUR", "GBP", "EUR", "EUR",
                                            "EUR", "PLN", "SEK", "JPY", "BRL", "INR"};
static_assert(std::size(kCountries) == std::size(kCurrencies));

constexpr std::string_view kCategories[] = {"electronics", "apparel", "home",   "sports",
                                            "books",       "beauty",  "toys",   "grocery"};
constexpr std::string_view kAdjectives[] = {"Classic", "Ultra",  "Eco",    "Smart",  "Compact",
                                            "Deluxe",  "Vintage", "Pro",   "Organic", "Wireless",
                                            "Oak",     "Linen",  "Merino", "Carbon", "Everyday"};
constexpr std::string_view kNouns[8][5] = {
    {"Headphones", "Speaker", "Charger", "Monitor", "Keyboard"},
    {"T-Shirt", "Hoodie", "Sneakers", "Jacket", "Socks"},
    {"Desk Chair", "Lamp", "Blanket", "Kettle", "Shelf"},
    {"Yoga Mat", "Running Shoes", "Water Bottle", "Tennis Racket", "Backpack"},
    {"Novel", "Cookbook", "Atlas", "Notebook", "Comic"},
    {"Face Cream", "Shampoo", "Perfume", "Lip Balm", "Soap"},
    {"Puzzle", "Building Blocks", "Plush Bear", "Board Game", "Kite"},
    {"Coffee Beans", "Olive Oil", "Green Tea", "Dark Chocolate", "Pasta"}};
// Price range per category, in cents.
constexpr int64_t kPriceLo[] = {1999, 799, 1499, 999, 599, 399, 999, 199};
constexpr int64_t kPriceHi[] = {149999, 19999, 79999, 29999, 4999, 12999, 14999, 3999};

constexpr std::string_view kEventTypes[] = {"page_view", "search",         "add_to_cart", "remove_from_cart",
                                            "begin_checkout", "purchase", "login",       "logout"};
constexpr int kEventTypeWeights[] = {55, 10, 12, 3, 6, 4, 6, 4};
constexpr std::string_view kEventActions[] = {"view",     "search",   "add",   "remove",
                                              "checkout", "purchase", "login", "logout"};
constexpr std::string_view kSources[] = {"web", "ios", "android"};
constexpr int kSourceWeights[] = {60, 25, 15};
constexpr std::string_view kVersions[3][3] = {
    {"2.3.1", "2.4.0", "2.4.1"}, {"5.12.0", "5.13.2", "6.0.0"}, {"5.12.1", "5.13.0", "6.0.0-beta.2"}};
constexpr std::string_view kSearchTerms[] = {"running+shoes", "headphones", "coffee", "yoga+mat",
                                             "gift+ideas",    "lamp",       "hoodie", "board+game",
                                             "olive+oil",     "charger",    "sale",   "backpack"};
constexpr std::string_view kUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "ShopApp/5.13.2 (iOS 18.1; iPhone15,2)",
    "ShopApp/5.13.0 (Android 14; SM-S918B)"};
constexpr std::string_view kReferrers[] = {
    "https://search.example.com/search?q=", "https://social.example.net/feed?ref=",
    "https://news.example.org/deals?utm_source=", "https://mail.example.com/campaign?id=",
    "https://partner.example.com/ad?click="};
// Latin-1 bytes where UTF-8 is expected: the usual way invalid UTF-8 reaches a pipeline.
constexpr std::string_view kLatin1Words[] = {"caf\xE9", "na\xEFve", "M\xFCller", "Jos\xE9",
                                             "\xC3\x28\xA0", "gr\xFC\xDF"};
constexpr std::string_view kBadUserIds[] = {"abc", "guest", "n/a", "user-17"};
constexpr std::string_view kUnknownStatuses[] = {"pending_review", "SHIPPED", "unknown", "",
                                                 "paid?"};
constexpr int kOrderStatusWeights[] = {10, 25, 25, 30, 6, 3, 1};
static_assert(std::size(kOrderStatusWeights) == std::size(kOrderStatuses));

// ---------------------------------------------------------------------------------------------
// Output.

constexpr size_t kFlushBytes = 4 << 20;

// Appends lines to a buffer and writes it out in large chunks.
class FileWriter {
 public:
  Status Open(const std::string& path) {
    path_ = path;
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) return Status::IoError("cannot create {}: {}", path, std::strerror(errno));
    std::setvbuf(file_, nullptr, _IONBF, 0);
    buf_.reserve(kFlushBytes + (1 << 16));
    return Status::OK();
  }
  ~FileWriter() {
    if (file_) std::fclose(file_);
  }
  std::string& buf() { return buf_; }
  Status MaybeFlush() { return buf_.size() >= kFlushBytes ? Flush() : Status::OK(); }
  Status Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
      return Status::IoError("cannot write {}: {}", path_, std::strerror(errno));
    }
    bytes_ += static_cast<int64_t>(buf_.size());
    buf_.clear();
    return Status::OK();
  }
  Status Close() {
    SLUICE_RETURN_IF_ERROR(Flush());
    int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) return Status::IoError("cannot close {}: {}", path_, std::strerror(errno));
    return Status::OK();
  }
  int64_t bytes() const { return bytes_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buf_;
  int64_t bytes_ = 0;
};

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendHex(std::string& out, uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out += kHex[(v >> (i * 4)) & 0xF];
}

// A UUID-shaped id (version nibble 4). The low 64 bits are a bijection of the line number, so two
// lines of one file never share an id.
void AppendUuid(std::string& out, uint64_t seed, FileTag tag, int64_t line) {
  uint64_t key = Mix64(seed ^ (static_cast<uint64_t>(tag) << 56));
  uint64_t lo = Mix64(static_cast<uint64_t>(line) ^ key);
  uint64_t hi = (Mix64(lo ^ key) & ~0xF000ULL) | 0x4000ULL;
  AppendHex(out, hi >> 32, 8);
  out += '-';
  AppendHex(out, (hi >> 16) & 0xFFFF, 4);
  out += '-';
  AppendHex(out, hi & 0xFFFF, 4);
  out += '-';
  AppendHex(out, lo >> 48, 4);
  out += '-';
  AppendHex(out, lo & 0xFFFFFFFFFFFFULL, 12);
}

// Appends s as CSV field content, quoting when needed.
void AppendCsvField(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(s);
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// ---------------------------------------------------------------------------------------------
// Line kinds.

enum class Kind { kValid, kDuplicate, kInvalid };

Kind LineKind(const GeneratorOptions& o, FileTag tag, int64_t line, bool duplicates_allowed) {
  Rng rng = LineRng(o.seed, tag, kStreamKind, line);
  double u = rng.Unit();
  if (u < o.invalid_share) return Kind::kInvalid;
  if (duplicates_allowed && u < o.invalid_share + o.duplicate_share) return Kind::kDuplicate;
  return Kind::kValid;
}

// The earlier line a duplicate re-emits, or -1 when none of a few candidates is a valid line.
int64_t DuplicateSource(const GeneratorOptions& o, FileTag tag, int64_t line) {
  constexpr int64_t kWindow = 2000;  // duplicates are recent re-sends (retries, replays)
  if (line == 0) return -1;
  Rng rng = LineRng(o.seed, tag, kStreamDup, line);
  for (int attempt = 0; attempt < 16; ++attempt) {
    int64_t back = 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(std::min(line, kWindow))));
    if (LineKind(o, tag, line - back, true) == Kind::kValid) return line - back;
  }
  return -1;
}

// Dimension rows that are valid (orders only reference those, so joins are clean).
bool CustomerValid(const GeneratorOptions& o, int64_t id) {
  return LineKind(o, kTagCustomers, id - 1, false) == Kind::kValid;
}
bool ProductValid(const GeneratorOptions& o, int64_t id) {
  return LineKind(o, kTagProducts, id - 1, false) == Kind::kValid;
}

// A customer's country index, from its own stream so orders can look it up cheaply.
size_t CustomerCountry(const GeneratorOptions& o, int64_t id) {
  Rng rng = LineRng(o.seed, kTagCustomers, kStreamCountry, id - 1);
  return Weighted(rng, kCountryWeights);
}

int64_t SpanMicros(const GeneratorOptions& o) { return static_cast<int64_t>(o.days) * kMicrosPerDay; }
int64_t StartMicros(const GeneratorOptions& o) { return static_cast<int64_t>(o.start_day) * kMicrosPerDay; }

// A time for line `line` of `total`: increasing with the line number, plus disorder — most lines
// within the same second, ~10% up to 5 s earlier, ~0.5% up to 10 min earlier (late data).
int64_t LineTime(const GeneratorOptions& o, Rng& rng, int64_t line, int64_t total) {
  int64_t span = SpanMicros(o);
  int64_t base = StartMicros(o) +
                 static_cast<int64_t>(static_cast<__int128>(span) * line / std::max<int64_t>(total, 1));
  base += rng.Range(0, 999999);
  double u = rng.Unit();
  if (u < 0.005) {
    base -= rng.Range(5 * kMicrosPerSecond, 600 * kMicrosPerSecond);
  } else if (u < 0.105) {
    base -= rng.Range(0, 5 * kMicrosPerSecond);
  }
  return std::max(base, StartMicros(o));
}

int64_t ProductPriceCents(const GeneratorOptions& o, int64_t id, int* category = nullptr) {
  Rng rng = LineRng(o.seed, kTagProducts, kStreamBody, id - 1);
  int cat = static_cast<int>(rng.Below(std::size(kCategories)));
  if (category) *category = cat;
  int64_t cents = rng.Range(kPriceLo[cat], kPriceHi[cat]);
  return cents / 100 * 100 + 99 - (rng.Chance(0.3) ? 49 : 0);  // shop prices end in .99 / .50
}

// Picks a customer id: a skewed draw (a few customers are very active) among valid rows.
int64_t PickCustomer(const GeneratorOptions& o, Rng& rng, bool valid_only) {
  int64_t n = std::max<int64_t>(o.customers, 1);
  int64_t id = 1;
  for (int attempt = 0; attempt < 16; ++attempt) {
    id = rng.Chance(0.3) ? 1 + static_cast<int64_t>(rng.Below(std::max<int64_t>(n / 20, 1)))
                         : 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n)));
    if (!valid_only || CustomerValid(o, id)) break;
  }
  return id;
}

int64_t PickProduct(const GeneratorOptions& o, Rng& rng) {
  int64_t n = std::max<int64_t>(o.products, 1);
  int64_t id = 1;
  for (int attempt = 0; attempt < 16; ++attempt) {
    id = 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n)));
    if (ProductValid(o, id)) break;
  }
  return id;
}

// ---------------------------------------------------------------------------------------------
// customers.csv

int AppendCustomer(std::string& out, const GeneratorOptions& o, int64_t line, std::string_view bad) {
  Rng rng = LineRng(o.seed, kTagCustomers, kStreamBody, line);
  int64_t id = line + 1;
  size_t fi = rng.Below(std::size(kFirstNames));
  size_t li = rng.Below(std::size(kLastNames));
  std::string name;
  if (rng.Chance(0.04)) {  // "Last, First" needs quoting
    name = fmt::format("{}, {}", kLastNames[li], kFirstNames[fi]);
  } else if (rng.Chance(0.02)) {  // a nickname in quotes needs escaping
    name = fmt::format("{} \"{}\" {}", kFirstNames[fi], kFirstNames[rng.Below(std::size(kFirstNames))],
                       kLastNames[li]);
  } else {
    name = fmt::format("{} {}", kFirstNames[fi], kLastNames[li]);
  }
  size_t seg = Weighted(rng, kSegmentWeights);
  size_t country = CustomerCountry(o, id);
  int32_t signup = o.start_day - static_cast<int32_t>(rng.Range(1, 3 * 365));
  std::string_view domain = rng.Pick(kMailDomains);

  if (bad == ik::kWrongType) {
    out += rng.Chance(0.5) ? "abc" : "12.5";
  } else {
    AppendInt(out, id);
  }
  out += ',';
  if (bad == ik::kStrayQuote) {
    // A quote inside an unquoted field (RFC 4180 violation); the row stays on one line.
    out.append(kFirstNames[fi]).append(" O\"").append(kLastNames[li]);
  } else if (bad == ik::kInvalidUtf8) {
    out.append(rng.Pick(kLatin1Words)).append(" ").append(kLastNames[li]);
  } else {
    AppendCsvField(out, name);
  }
  out += ',';
  out.append(kFirstAscii[fi]).append(".").append(kLastAscii[li]);
  AppendInt(out, id);
  out.append("@").append(domain).append(",");
  out.append(kSegments[seg]).append(",").append(kCountries[country]);
  if (bad == ik::kWrongFieldCount && rng.Chance(0.5)) return -1;  // one field short
  out += ',';
  AppendDate(out, signup);
  if (bad == ik::kWrongFieldCount) out.append(",extra");
  return -1;
}

// ---------------------------------------------------------------------------------------------
// products.csv

int AppendProduct(std::string& out, const GeneratorOptions& o, int64_t line, std::string_view bad) {
  int64_t id = line + 1;
  int cat = 0;
  int64_t cents = ProductPriceCents(o, id, &cat);
  Rng rng = LineRng(o.seed, kTagProducts, kStreamName, line);
  std::string name = fmt::format("{} {}", rng.Pick(kAdjectives), kNouns[cat][rng.Below(5)]);
  if (cat == 0 && rng.Chance(0.2)) name += fmt::format(" {}\"", rng.Range(10, 34));  // inches
  if (rng.Chance(0.05)) name += ", 2-pack";

  AppendInt(out, id);
  out += ',';
  if (bad == ik::kStrayQuote) {
    out.append(name.substr(0, name.find('"'))).append(" 12\" wide");
  } else if (bad == ik::kInvalidUtf8) {
    out.append(rng.Pick(kAdjectives)).append(" ").append(rng.Pick(kLatin1Words));
  } else {
    AppendCsvField(out, name);
  }
  out.append(",").append(kCategories[cat]);
  if (bad == ik::kWrongFieldCount && rng.Chance(0.5)) return -1;
  out += ',';
  if (bad == ik::kWrongType) {
    out += rng.Chance(0.5) ? "n/a" : "free";
  } else {
    AppendDecimal(out, cents, 2);
  }
  if (bad == ik::kWrongFieldCount) out.append(",EUR");
  return -1;
}

// ---------------------------------------------------------------------------------------------
// orders.ndjson

int AppendOrder(std::string& out, const GeneratorOptions& o, int64_t line, std::string_view bad) {
  Rng rng = LineRng(o.seed, kTagOrders, kStreamBody, line);
  int64_t order_id = line + 1;
  int64_t customer = PickCustomer(o, rng, true);
  int64_t product = PickProduct(o, rng);
  int64_t quantity = rng.Chance(0.7) ? 1 : rng.Range(2, 5);
  int64_t amount = ProductPriceCents(o, product) * quantity;
  // The customer's country decides the currency.
  std::string_view currency = kCurrencies[CustomerCountry(o, customer)];
  size_t status = Weighted(rng, kOrderStatusWeights);
  int64_t ts = LineTime(o, rng, line, o.orders);

  size_t start = out.size();
  if (bad != ik::kMissingOrderId) {
    out += "{\"order_id\":";
    AppendInt(out, order_id);
    out += ",\"customer_id\":";
  } else {
    out += "{\"customer_id\":";
  }
  AppendInt(out, customer);
  out += ",\"product_id\":";
  AppendInt(out, product);
  out += ",\"quantity\":";
  if (bad == ik::kWrongType) {
    out += rng.Chance(0.5) ? "\"two\"" : "\"1\"";
  } else {
    AppendInt(out, quantity);
  }
  out += ",\"amount\":";
  AppendDecimal(out, bad == ik::kNegativeAmount ? -amount : amount, 2);
  out += ",\"currency\":\"";
  out += currency;
  out += "\",\"status\":\"";
  out += bad == ik::kUnknownStatus ? rng.Pick(kUnknownStatuses) : kOrderStatuses[status];
  out += "\",\"ts\":\"";
  AppendTimestamp(out, ts);
  out += "\"}";
  if (bad == ik::kMalformedJson) {
    size_t len = out.size() - start;
    out.resize(start + 5 + rng.Below(len - 10));  // a torn write
  }
  return static_cast<int>(status);
}

// ---------------------------------------------------------------------------------------------
// clickstream.ndjson

int AppendEvent(std::string& out, const GeneratorOptions& o, int64_t line, std::string_view bad) {
  Rng rng = LineRng(o.seed, kTagEvents, kStreamBody, line);
  size_t start = out.size();
  size_t type = Weighted(rng, kEventTypeWeights);
  int64_t ts = LineTime(o, rng, line, o.events);
  int64_t user = PickCustomer(o, rng, false);
  size_t source = Weighted(rng, kSourceWeights);
  std::string_view version = kVersions[source][rng.Below(3)];
  int32_t target = 0;
  if (o.event_bytes > 0) {
    int32_t jitter = o.event_bytes / 8;
    target = o.event_bytes + static_cast<int32_t>(rng.Range(-jitter, jitter));
  }

  out += '{';
  if (bad != ik::kMissingEventId) {
    out += "\"event_id\":\"";
    AppendUuid(out, o.seed, kTagEvents, line);
    out += "\",";
  }
  out += "\"event_type\":\"";
  out += kEventTypes[type];
  out += '"';
  if (bad != ik::kMissingTimestamp) {
    out += ",\"timestamp\":\"";
    AppendTimestamp(out, ts);
    out += '"';
  }
  out += ",\"user_id\":";
  if (bad == ik::kWrongType) {
    out += '"';
    out += rng.Pick(kBadUserIds);
    out += '"';
  } else {
    AppendInt(out, user);
  }
  out += ",\"data\":{\"action\":\"";
  out += kEventActions[type];
  out += "\",\"page\":\"";
  switch (type) {
    case 0: {  // page_view
      uint64_t r = rng.Below(100);
      if (r < 45) {
        out += "/product/";
        AppendInt(out, 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(std::max<int64_t>(o.products, 1)))));
      } else if (r < 60) {
        out += "/";
      } else if (r < 75) {
        out += "/category/";
        out += rng.Pick(kCategories);
      } else if (r < 85) {
        out += "/cart";
      } else if (r < 92) {
        out += "/deals";
      } else {
        out += "/account";
      }
      break;
    }
    case 1:
      out += "/search?q=";
      out += bad == ik::kInvalidUtf8 ? rng.Pick(kLatin1Words) : rng.Pick(kSearchTerms);
      break;
    case 2:
      out += "/product/";
      AppendInt(out, 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(std::max<int64_t>(o.products, 1)))));
      break;
    case 3: out += "/cart"; break;
    case 4: out += "/checkout"; break;
    case 5: out += "/checkout/confirm"; break;
    case 6: out += "/login"; break;
    default: out += "/account"; break;
  }
  if (bad == ik::kInvalidUtf8 && type != 1) {
    out += "?q=";
    out += rng.Pick(kLatin1Words);
  }
  out += "\",\"session_id\":\"s-";
  AppendHex(out, Mix64(o.seed ^ Mix64(static_cast<uint64_t>(user)) ^
                       static_cast<uint64_t>(ts / (30 * 60 * kMicrosPerSecond))),
            12);
  out += '"';

  // Padding to the requested average size: a user agent when it fits, then a referrer whose
  // tracking parameter fills the rest exactly.
  std::string_view source_name = kSources[source];
  if (target > 0) {
    constexpr size_t kMetaFixed = std::string_view("},\"metadata\":{\"source\":\"\",\"version\":\"\"}}\n").size();
    size_t tail = kMetaFixed + source_name.size() + version.size();
    auto room = [&]() -> int64_t {
      return static_cast<int64_t>(target) - static_cast<int64_t>(out.size() - start) - static_cast<int64_t>(tail);
    };
    constexpr int64_t kRefOverhead = std::string_view(",\"referrer\":\"\"").size();
    std::string_view ua = kUserAgents[source == 0 ? rng.Below(5) : 3 + rng.Below(4)];
    constexpr int64_t kUaOverhead = std::string_view(",\"user_agent\":\"\"").size();
    if (room() >= kUaOverhead + static_cast<int64_t>(ua.size()) + kRefOverhead + 48) {
      out += ",\"user_agent\":\"";
      out += ua;
      out += '"';
    }
    std::string_view ref = rng.Pick(kReferrers);
    int64_t fill = room() - kRefOverhead - static_cast<int64_t>(ref.size());
    if (fill <= 0) {
      ref = "/?ref=";  // an internal referrer when an external one does not fit
      fill = room() - kRefOverhead - static_cast<int64_t>(ref.size());
    }
    if (fill > 0) {
      out += ",\"referrer\":\"";
      out += ref;
      static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
      uint64_t bits = 0;
      for (int64_t i = 0; i < fill; ++i) {
        if (i % 10 == 0) bits = rng.Next();
        out += kAlnum[bits % 36];
        bits /= 36;
      }
      out += '"';
    }
  }
  out += "},\"metadata\":{\"source\":\"";
  out += source_name;
  out += "\",\"version\":\"";
  out += version;
  out += "\"}}";
  if (bad == ik::kMalformedJson) {
    size_t len = out.size() - start;
    if (rng.Chance(0.8)) {
      out.resize(start + 5 + rng.Below(len - 10));  // a torn write
    } else {
      out.insert(out.size() - 2, ",");  // a trailing comma
    }
  }
  return static_cast<int>(type);
}

// ---------------------------------------------------------------------------------------------
// Driver.

// Appends one line (no newline) and returns its group index for FileCounts::valid_by, or -1.
using AppendFn = int (*)(std::string&, const GeneratorOptions&, int64_t, std::string_view);

struct FileSpec {
  std::string_view name;
  FileTag tag;
  int64_t records;
  std::string_view header;  // empty for NDJSON
  bool duplicates;
  std::span<const std::string_view> invalid_kinds;
  std::span<const std::string_view> group_names;
  AppendFn append;
  unsigned selector;
};

constexpr std::string_view kCsvInvalid[] = {ik::kStrayQuote, ik::kWrongFieldCount, ik::kWrongType,
                                            ik::kInvalidUtf8};
constexpr std::string_view kOrderInvalid[] = {ik::kMalformedJson, ik::kWrongType, ik::kMissingOrderId,
                                              ik::kNegativeAmount, ik::kUnknownStatus};
constexpr std::string_view kEventInvalid[] = {ik::kMalformedJson, ik::kWrongType, ik::kMissingEventId,
                                              ik::kMissingTimestamp, ik::kInvalidUtf8};

// Writes one file and counts what went into it.
Result<FileCounts> WriteOne(const GeneratorOptions& o, const FileSpec& spec) {
  FileCounts c;
  c.file = std::string(spec.name);
  std::vector<int64_t> invalid(spec.invalid_kinds.size(), 0);
  std::vector<int64_t> groups(spec.group_names.size(), 0);
  FileWriter w;
  SLUICE_RETURN_IF_ERROR(w.Open((std::filesystem::path(o.out_dir) / spec.name).string()));
  std::string& buf = w.buf();
  if (!spec.header.empty()) {
    buf.append(spec.header).append("\n");
    c.header_lines = 1;
  }
  for (int64_t i = 0; i < spec.records; ++i) {
    Kind kind = LineKind(o, spec.tag, i, spec.duplicates);
    if (kind == Kind::kDuplicate) {
      int64_t source = DuplicateSource(o, spec.tag, i);
      if (source >= 0) {
        spec.append(buf, o, source, {});
        buf += '\n';
        ++c.duplicates;
        SLUICE_RETURN_IF_ERROR(w.MaybeFlush());
        continue;
      }
      kind = Kind::kValid;  // nothing valid to repeat yet (the first lines)
    }
    std::string_view bad;
    if (kind == Kind::kInvalid) {
      Rng rng = LineRng(o.seed, spec.tag, kStreamKind, i);
      rng.Next();  // the draw LineKind used
      size_t k = rng.Below(spec.invalid_kinds.size());
      bad = spec.invalid_kinds[k];
      ++invalid[k];
    }
    int group = spec.append(buf, o, i, bad);
    if (kind == Kind::kValid) {
      ++c.valid;
      if (group >= 0 && static_cast<size_t>(group) < groups.size()) ++groups[group];
    }
    buf += '\n';
    SLUICE_RETURN_IF_ERROR(w.MaybeFlush());
  }
  SLUICE_RETURN_IF_ERROR(w.Close());
  c.lines = c.header_lines + spec.records;
  c.bytes = w.bytes();
  for (size_t k = 0; k < invalid.size(); ++k) c.invalid[std::string(spec.invalid_kinds[k])] = invalid[k];
  for (size_t g = 0; g < groups.size(); ++g) c.valid_by[std::string(spec.group_names[g])] = groups[g];
  return c;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(ch));
      continue;
    }
    out += ch;
  }
  out += '"';
}

std::string FilesList(unsigned files) {
  std::vector<std::string> names;
  if (files & kGenCustomers) names.push_back("customers");
  if (files & kGenProducts) names.push_back("products");
  if (files & kGenOrders) names.push_back("orders");
  if (files & kGenEvents) names.push_back("events");
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + names[i];
  return out;
}

// Parses a non-negative integer flag value.
Result<int64_t> ParseCount(std::string_view flag, std::string_view v) {
  int64_t n = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n < 0) {
    return Status::InvalidArgument("{} expects a non-negative integer, got '{}'", flag, v);
  }
  return n;
}

Result<double> ParseShare(std::string_view flag, std::string_view v) {
  std::string s(v);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(d >= 0.0 && d <= 1.0)) {
    return Status::InvalidArgument("{} expects a share between 0 and 1, got '{}'", flag, v);
  }
  return d;
}

}  // namespace

int64_t FileCounts::invalid_total() const {
  int64_t n = 0;
  for (const auto& [kind, count] : invalid) n += count;
  return n;
}

Result<GeneratorReport> GenerateWebShop(const GeneratorOptions& o) {
  if (o.out_dir.empty()) return Status::InvalidArgument("--out is required");
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) return Status::IoError("cannot create {}: {}", o.out_dir, ec.message());

  const FileSpec specs[] = {
      {"customers.csv", kTagCustomers, o.customers, "customer_id,name,email,segment,country,signup_date",
       false, kCsvInvalid, {}, AppendCustomer, kGenCustomers},
      {"products.csv", kTagProducts, o.products, "product_id,name,category,price", false, kCsvInvalid, {},
       AppendProduct, kGenProducts},
      {"orders.ndjson", kTagOrders, o.orders, "", true, kOrderInvalid, kOrderStatuses, AppendOrder,
       kGenOrders},
      {"clickstream.ndjson", kTagEvents, o.events, "", true, kEventInvalid, kEventTypes, AppendEvent,
       kGenEvents},
  };
  GeneratorReport report;
  for (const FileSpec& spec : specs) {
    if (!(o.files & spec.selector)) continue;
    SLUICE_ASSIGN_OR_RETURN(FileCounts counts, WriteOne(o, spec));
    report.files.push_back(std::move(counts));
  }
  if (o.manifest) {
    std::string json = report.ToJson(o);
    std::string path = (std::filesystem::path(o.out_dir) / "manifest.json").string();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return Status::IoError("cannot create {}: {}", path, std::strerror(errno));
    bool ok = std::fwrite(json.data(), 1, json.size(), f) == json.size();
    ok = std::fclose(f) == 0 && ok;
    if (!ok) return Status::IoError("cannot write {}", path);
  }
  return report;
}

std::string GeneratorReport::ToJson(const GeneratorOptions& o) const {
  std::string out = "{\n  \"generator\": \"sluice-gen\",\n  \"format_version\": 1,\n  \"options\": {";
  out += fmt::format(
      "\"seed\": {}, \"customers\": {}, \"products\": {}, \"orders\": {}, \"events\": {}, "
      "\"invalid_share\": {}, \"duplicate_share\": {}, \"start\": \"{}\", \"days\": {}, "
      "\"event_bytes\": {}, \"only\": \"{}\"}},\n  \"files\": {{",
      o.seed, o.customers, o.products, o.orders, o.events, o.invalid_share, o.duplicate_share,
      FormatDate(o.start_day), o.days, o.event_bytes, FilesList(o.files));
  for (size_t i = 0; i < files.size(); ++i) {
    const FileCounts& c = files[i];
    out += i ? ",\n    " : "\n    ";
    AppendJsonString(out, c.file);
    out += fmt::format(
        ": {{\"lines\": {}, \"header_lines\": {}, \"records\": {}, \"valid\": {}, \"duplicates\": {}, "
        "\"invalid_total\": {}, \"bytes\": {}, \"invalid\": {{",
        c.lines, c.header_lines, c.records(), c.valid, c.duplicates, c.invalid_total(), c.bytes);
    bool first = true;
    for (const auto& [kind, n] : c.invalid) {
      if (!first) out += ", ";
      first = false;
      AppendJsonString(out, kind);
      out += fmt::format(": {}", n);
    }
    out += "}";
    if (!c.valid_by.empty()) {
      out += c.file == "orders.ndjson" ? ", \"valid_by_status\": {" : ", \"valid_by_event_type\": {";
      first = true;
      for (const auto& [group, n] : c.valid_by) {
        if (!first) out += ", ";
        first = false;
        AppendJsonString(out, group);
        out += fmt::format(": {}", n);
      }
      out += "}";
    }
    out += "}";
  }
  out += "\n  }\n}\n";
  return out;
}

std::string GeneratorUsage() {
  return R"(sluice-gen: seeded, deterministic web-shop data for tests, benchmarks and the demo.

Usage: sluice-gen --out DIR [options]

Writes DIR/customers.csv, DIR/products.csv, DIR/orders.ndjson and DIR/clickstream.ndjson.
The same options always produce the same bytes.

Options:
  --out DIR                output directory (created if missing)            [required]
  --seed N                 random seed                                       [42]
  --customers N            rows of customers.csv                             [1000]
  --products N             rows of products.csv                              [200]
  --orders N               lines of orders.ndjson                            [10000]
  --events N               lines of clickstream.ndjson                       [100000]
  --invalid-share X        share of invalid lines in every file, 0..1        [0.02]
  --duplicate-share X      share of exact duplicate lines (NDJSON files)     [0.05]
  --start YYYY-MM-DD       first day of order and event times (UTC)          [2026-11-01]
  --days N                 days that order and event times span              [7]
  --event-bytes N          pad clickstream lines to this average size, incl.
                           the newline (user agent + referrer); 0 = unpadded [0]
  --only LIST              comma list of customers,products,orders,events    [all]
  --manifest               also write DIR/manifest.json (counts per file)
  --help                   this text

Counts are lines including invalid and duplicate ones. Counts per file in the manifest satisfy
records = valid + duplicates + invalid_total.
)";
}

Result<GeneratorOptions> ParseGeneratorArgs(std::span<const std::string_view> args) {
  GeneratorOptions o;
  static const std::vector<std::string> kFlags = {
      "--out",   "--seed",          "--customers",         "--products", "--orders",
      "--events", "--invalid-share", "--duplicate-share",  "--start",    "--days",
      "--event-bytes", "--only",    "--manifest",          "--help"};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view value;
    bool has_value = false;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "--manifest") {
      if (has_value) return Status::InvalidArgument("--manifest takes no value");
      o.manifest = true;
      continue;
    }
    if (std::find(kFlags.begin(), kFlags.end(), arg) == kFlags.end() || arg == "--help") {
      return Status::InvalidArgument("unknown option '{}'{}", arg, DidYouMeanSuffix(std::string(arg), kFlags));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return Status::InvalidArgument("{} needs a value", arg);
      value = args[++i];
    }
    if (arg == "--out") {
      o.out_dir = std::string(value);
    } else if (arg == "--seed") {
      uint64_t seed = 0;
      auto r = std::from_chars(value.data(), value.data() + value.size(), seed);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size()) {
        return Status::InvalidArgument("--seed expects an unsigned integer, got '{}'", value);
      }
      o.seed = seed;
    } else if (arg == "--customers") {
      SLUICE_ASSIGN_OR_RETURN(o.customers, ParseCount(arg, value));
    } else if (arg == "--products") {
      SLUICE_ASSIGN_OR_RETURN(o.products, ParseCount(arg, value));
    } else if (arg == "--orders") {
      SLUICE_ASSIGN_OR_RETURN(o.orders, ParseCount(arg, value));
    } else if (arg == "--events") {
      SLUICE_ASSIGN_OR_RETURN(o.events, ParseCount(arg, value));
    } else if (arg == "--invalid-share") {
      SLUICE_ASSIGN_OR_RETURN(o.invalid_share, ParseShare(arg, value));
    } else if (arg == "--duplicate-share") {
      SLUICE_ASSIGN_OR_RETURN(o.duplicate_share, ParseShare(arg, value));
    } else if (arg == "--start") {
      std::optional<int32_t> day = ParseDate(value);
      if (!day) return Status::InvalidArgument("--start expects YYYY-MM-DD, got '{}'", value);
      o.start_day = *day;
    } else if (arg == "--days") {
      SLUICE_ASSIGN_OR_RETURN(int64_t days, ParseCount(arg, value));
      if (days < 1 || days > 3650) return Status::InvalidArgument("--days must be 1..3650, got {}", days);
      o.days = static_cast<int32_t>(days);
    } else if (arg == "--event-bytes") {
      SLUICE_ASSIGN_OR_RETURN(int64_t bytes, ParseCount(arg, value));
      if (bytes > 1 << 20) return Status::InvalidArgument("--event-bytes must be at most 1048576");
      o.event_bytes = static_cast<int32_t>(bytes);
    } else if (arg == "--only") {
      o.files = 0;
      std::string_view rest = value;
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view name = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (name == "customers") o.files |= kGenCustomers;
        else if (name == "products") o.files |= kGenProducts;
        else if (name == "orders") o.files |= kGenOrders;
        else if (name == "events" || name == "clickstream") o.files |= kGenEvents;
        else {
          return Status::InvalidArgument(
              "--only: unknown file '{}'{} (customers, products, orders, events)", name,
              DidYouMeanSuffix(std::string(name), {"customers", "products", "orders", "events"}));
        }
      }
      if (o.files == 0) return Status::InvalidArgument("--only needs at least one file");
    }
  }
  if (o.out_dir.empty()) return Status::InvalidArgument("--out DIR is required (see --help)");
  if (o.invalid_share + o.duplicate_share > 1.0) {
    return Status::InvalidArgument("--invalid-share + --duplicate-share must not exceed 1");
  }
  return o;
}

}  // namespace sluice::examples
