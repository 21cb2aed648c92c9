#include "sluice/engine/kernels/dedup_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <unordered_map>

#include "sluice/base/hash.h"
#include "sluice/columnar/batch.h"

namespace sluice::engine::kernels {
namespace {

// Runs Check over the active rows of `b` (all its columns are the key) and returns first[].
std::vector<uint8_t> CheckBatch(DedupSet& set, const Batch& b, const std::vector<int64_t>& times) {
  std::vector<const Column*> cols;
  for (const auto& c : b.columns()) cols.push_back(c.get());
  SelectionVector rows = b.ActiveSelection();
  std::vector<uint8_t> first(rows.size(), 7);
  set.Check(cols, rows.data(), rows.size(), times.data(), first.data());
  return first;
}

Batch MakeRows(const std::vector<Field>& fields, const std::vector<std::vector<Value>>& rows) {
  BatchBuilder b(std::make_shared<Schema>(fields));
  for (const auto& r : rows) b.AppendRow(r);
  return b.Finish();
}

// The key of physical row r as the reference set spells it: the real values, with the GROUP BY
// equalities (-0.0 = 0.0, NaN = NaN, NULL = NULL) applied.
std::string ReferenceKey(const Batch& b, uint32_t r) {
  std::string key;
  for (const auto& c : b.columns()) {
    Value v = c->GetValue(r);
    if (v.is_null()) {
      key += "N;";
    } else if (v.type().id == TypeId::kFloat64) {
      double d = v.double_value();
      key += std::isnan(d) ? "nan" : d == 0 ? "0" : std::to_string(std::bit_cast<uint64_t>(d));
      key += ';';
    } else if (v.type().is_variable_width()) {
      key += "s" + std::to_string(v.string_value().size()) + ":" + v.string_value() + ";";
    } else {
      key += "i" + std::to_string(v.int_value()) + ";";
    }
  }
  return key;
}

// A reference: the real key values and their first-seen times.
struct Reference {
  std::unordered_map<std::string, int64_t> seen;

  std::vector<uint8_t> Check(const Batch& b, const std::vector<int64_t>& times) {
    std::vector<uint8_t> first;
    size_t k = 0;
    b.ForEachActive([&](uint32_t r) {
      first.push_back(seen.emplace(ReferenceKey(b, r), times[k]).second ? 1 : 0);
      ++k;
    });
    return first;
  }
  size_t Expire(int64_t cutoff) {
    return std::erase_if(seen, [&](const auto& e) { return e.second < cutoff; });
  }
};

std::vector<Field> MultiKeyFields() {
  return {{"s", DataType::String()}, {"i", DataType::Int32()}, {"f", DataType::Float64()},
          {"d", DataType::Decimal(18, 3)}, {"bin", DataType::Binary()}};
}

std::vector<DataType> TypesOf(const std::vector<Field>& fields) {
  std::vector<DataType> t;
  for (const auto& f : fields) t.push_back(f.type);
  return t;
}

// Batches of multi-column keys drawn from a small domain (so keys repeat, within a batch too),
// with NULLs, empty strings, -0.0 and NaN; every other batch filtered. Times rise with jitter.
struct Workload {
  std::mt19937_64 rng;
  int64_t clock = 0;

  explicit Workload(uint64_t seed) : rng(seed) {}

  Value Maybe(Value v) { return rng() % 8 == 0 ? Value::Null(v.type()) : v; }

  std::pair<Batch, std::vector<int64_t>> Next(size_t rows) {
    const double floats[] = {0.0, -0.0, 2.5, std::numeric_limits<double>::quiet_NaN(), -1.0};
    const char* strings[] = {"", "a", "ab", "b", "\xe2\x82\xac"};
    BatchBuilder bb(std::make_shared<Schema>(MultiKeyFields()));
    for (size_t r = 0; r < rows; ++r) {
      bb.AppendRow({Maybe(Value::String(strings[rng() % 5])),
                    Maybe(Value::Int32(static_cast<int32_t>(rng() % 7) - 3)),
                    Maybe(Value::Float64(floats[rng() % 5])),
                    Maybe(Value::Decimal(static_cast<int64_t>(rng() % 5), 18, 3)),
                    Maybe(Value::Binary(std::string(rng() % 2, '\0')))});
    }
    Batch b = bb.Finish();
    if (rng() % 2) {
      SelectionVector sel;
      for (uint32_t r = 0; r < rows; ++r) {
        if (rng() % 3) sel.push_back(r);
      }
      b.set_selection(std::move(sel));
    }
    std::vector<int64_t> times(b.active_rows());
    for (auto& t : times) t = clock + static_cast<int64_t>(rng() % 50);
    clock += 20;
    return {std::move(b), std::move(times)};
  }
};

TEST(DedupSet, MultiColumnKeysMatchAReferenceSet) {
  Workload w(11);
  DedupSet set(TypesOf(MultiKeyFields()));
  Reference ref;
  size_t firsts = 0, dups = 0;
  for (int i = 0; i < 400; ++i) {
    auto [batch, times] = w.Next(1 + w.rng() % 300);
    std::vector<uint8_t> want = ref.Check(batch, times);
    ASSERT_EQ(CheckBatch(set, batch, times), want) << "batch " << i;
    ASSERT_EQ(set.size(), ref.seen.size());
    for (uint8_t f : want) (f ? firsts : dups) += 1;
    if (i % 25 == 24) {
      const int64_t cutoff = w.clock - 2000 + static_cast<int64_t>(w.rng() % 1000);
      ASSERT_EQ(set.Expire(cutoff), ref.Expire(cutoff)) << "batch " << i;
      ASSERT_EQ(set.size(), ref.seen.size());
    }
  }
  // The domain holds 6 * 8 * 5 * 6 * 3 = 4320 keys (NaN, -0.0/0.0 and NULL included): plenty of
  // both outcomes, and keys that come back after expiring.
  EXPECT_GT(firsts, 5000u);
  EXPECT_GT(dups, 20000u);
}

TEST(DedupSet, SingleColumnsOfEveryTypeUseGroupByEquality) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    DataType type;
    std::vector<Value> values;
    std::vector<uint8_t> first;
  };
  const std::vector<Case> cases = {
      {DataType::Bool(), {Value::Bool(true), Value::Bool(false), Value::Null(DataType::Bool()), Value::Bool(true),
                          Value::Null(DataType::Bool())}, {1, 1, 1, 0, 0}},
      {DataType::Int32(), {Value::Int32(-1), Value::Int32(0), Value::Int32(-1), Value::Null(DataType::Int32())},
       {1, 1, 0, 1}},
      {DataType::Int64(), {Value::Int64(INT64_MIN), Value::Int64(INT64_MAX), Value::Int64(INT64_MIN)}, {1, 1, 0}},
      {DataType::Date(), {Value::Date(0), Value::Date(1), Value::Date(0)}, {1, 1, 0}},
      {DataType::Timestamp(), {Value::Timestamp(5), Value::Timestamp(5), Value::Timestamp(6)}, {1, 0, 1}},
      {DataType::Decimal(10, 2), {Value::Decimal(100, 10, 2), Value::Decimal(10, 10, 2), Value::Decimal(100, 10, 2)},
       {1, 1, 0}},
      {DataType::Float64(), {Value::Float64(0.0), Value::Float64(-0.0), Value::Float64(nan), Value::Float64(-nan),
                             Value::Float64(1.0), Value::Null(DataType::Float64())}, {1, 0, 1, 0, 1, 1}},
      {DataType::String(), {Value::String(""), Value::Null(DataType::String()), Value::String("a"),
                            Value::String(""), Value::String("a\0b"), Value::String(std::string("a\0b", 3))},
       {1, 1, 1, 0, 0, 1}},
      {DataType::Binary(),
       {Value::Binary(std::string(1, '\0')), Value::Binary(""), Value::Binary(std::string(1, '\0'))},
       {1, 1, 0}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type.ToString());
    std::vector<std::vector<Value>> rows;
    for (const auto& v : c.values) rows.push_back({v});
    Batch b = MakeRows({{"k", c.type}}, rows);
    DedupSet set({c.type});
    std::vector<int64_t> times(c.values.size(), 0);
    EXPECT_EQ(CheckBatch(set, b, times), c.first);
    // A second pass finds every key.
    EXPECT_EQ(CheckBatch(set, b, times), std::vector<uint8_t>(c.values.size(), 0));
  }
}

TEST(DedupSet, AnInt32ColumnFindsKeysOfAnInt64One) {
  DedupSet set({DataType::Int64()});
  std::vector<int64_t> times = {0, 0};
  EXPECT_EQ(CheckBatch(set, MakeRows({{"k", DataType::Int64()}}, {{Value::Int64(-7)}, {Value::Int64(8)}}), times),
            (std::vector<uint8_t>{1, 1}));
  EXPECT_EQ(CheckBatch(set, MakeRows({{"k", DataType::Int32()}}, {{Value::Int32(-7)}, {Value::Int32(9)}}), times),
            (std::vector<uint8_t>{0, 1}));
}

TEST(DedupSet, TheTtlCountsFromTheFirstOccurrence) {
  DedupSet set({DataType::String()});
  auto rows = [](std::vector<std::string> keys) {
    std::vector<std::vector<Value>> r;
    for (auto& k : keys) r.push_back({Value::String(k)});
    return MakeRows({{"k", DataType::String()}}, r);
  };
  EXPECT_EQ(CheckBatch(set, rows({"a", "b", "a"}), {10, 20, 30}), (std::vector<uint8_t>{1, 1, 0}));
  EXPECT_EQ(CheckBatch(set, rows({"a"}), {100}), (std::vector<uint8_t>{0}));  // keeps time 10
  EXPECT_EQ(set.Expire(10), 0u);  // time < cutoff expires; 10 is not < 10
  EXPECT_EQ(set.Expire(11), 1u);  // "a", first seen at 10 (then at 30 and 100)
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(CheckBatch(set, rows({"a", "b"}), {120, 120}), (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(set.Expire(21), 1u);  // "b"
  EXPECT_EQ(set.Expire(INT64_MAX), 1u);
  EXPECT_EQ(set.size(), 0u);
  EXPECT_EQ(set.Expire(INT64_MAX), 0u);
}

// Many keys with clustered slots, expired in slices: survivors must stay findable after the
// in-place removal, and the table shrinks once mostly empty.
TEST(DedupSet, ExpiryKeepsSurvivorsAndShrinks) {
  const size_t n = 200000;
  Column keys(DataType::Int64());
  for (size_t i = 0; i < n; ++i) keys.Append<int64_t>(static_cast<int64_t>(i * 2654435761u));
  std::vector<uint32_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0u);
  std::vector<int64_t> times(n);
  std::mt19937_64 rng(5);
  for (auto& t : times) t = static_cast<int64_t>(rng() % 1000);
  DedupSet set({DataType::Int64()});
  std::vector<uint8_t> first(n);
  set.Check({&keys}, rows.data(), n, times.data(), first.data());
  EXPECT_EQ(set.size(), n);
  const size_t full = set.memory_bytes();
  auto older_than = [&](int64_t cutoff) {
    return static_cast<size_t>(std::count_if(times.begin(), times.end(), [&](int64_t t) { return t < cutoff; }));
  };
  int64_t previous = INT64_MIN;
  for (int64_t cutoff : {100, 250, 600, 900, 990}) {
    SCOPED_TRACE(cutoff);
    EXPECT_EQ(set.Expire(cutoff), older_than(cutoff) - older_than(previous));
    EXPECT_EQ(set.size(), n - older_than(cutoff));
    set.Check({&keys}, rows.data(), n, times.data(), first.data());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(first[i], times[i] < cutoff ? 1 : 0) << "key " << i;
    }
    // The re-check brought the expired keys back with their old times: expire them again.
    EXPECT_EQ(set.Expire(cutoff), older_than(cutoff));
    previous = cutoff;
  }
  EXPECT_LT(set.memory_bytes(), full / 3);
  const size_t left = set.size();
  EXPECT_EQ(set.Expire(INT64_MAX), left);
  EXPECT_EQ(set.size(), 0u);
  set.Check({&keys}, rows.data(), 10, times.data(), first.data());
  EXPECT_EQ(set.size(), 10u);
}

// Tables at their fullest (3/4), where clusters are long and wrap around the end: after a
// partial expiry exactly the surviving keys are found.
TEST(DedupSet, ExpiryInFullTablesKeepsExactlyTheSurvivors) {
  std::mt19937_64 rng(17);
  for (size_t n : {48, 768}) {
    for (int round = 0; round < 200; ++round) {
      Column keys(DataType::Int64());
      for (size_t i = 0; i < n; ++i) keys.Append<int64_t>(static_cast<int64_t>(rng()));
      std::vector<uint32_t> rows(n);
      std::iota(rows.begin(), rows.end(), 0u);
      std::vector<int64_t> times(n);
      for (auto& t : times) t = static_cast<int64_t>(rng() % 10);
      DedupSet set({DataType::Int64()});
      std::vector<uint8_t> first(n);
      set.Check({&keys}, rows.data(), n, times.data(), first.data());
      const size_t full = set.memory_bytes();
      const int64_t cutoff = static_cast<int64_t>(rng() % 11);
      size_t expired = 0;
      for (int64_t t : times) expired += t < cutoff;
      ASSERT_EQ(set.Expire(cutoff), expired);
      EXPECT_LE(set.memory_bytes(), full) << "removal is in place (or shrinks)";
      // Probing one key at a time: an expired key is new (and goes back in), a survivor is not.
      for (size_t i = 0; i < n; ++i) {
        uint8_t f;
        set.Check({&keys}, &rows[i], 1, &times[i], &f);
        ASSERT_EQ(f, times[i] < cutoff ? 1 : 0) << "n " << n << " round " << round << " key " << i;
      }
      ASSERT_EQ(set.size(), n);
    }
  }
}

std::string Save(const DedupSet& set) {
  std::string out;
  set.Save(out);
  return out;
}

TEST(DedupSet, SaveLoadKeepsEveryAnswer) {
  Workload w(21);
  DedupSet set(TypesOf(MultiKeyFields()));
  for (int i = 0; i < 100; ++i) {
    auto [batch, times] = w.Next(200);
    CheckBatch(set, batch, times);
  }
  set.Expire(w.clock - 500);
  std::string state = "xyz";  // Save appends
  set.Save(state);
  DedupSet restored(TypesOf(MultiKeyFields()));
  auto [junk, junk_times] = w.Next(50);
  CheckBatch(restored, junk, junk_times);  // Load replaces what was there
  Status st = restored.Load(std::string_view(state).substr(3));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(restored.size(), set.size());
  Workload w2 = w;  // the same future for both
  for (int i = 0; i < 100; ++i) {
    auto [batch, times] = w.Next(200);
    auto [batch2, times2] = w2.Next(200);
    ASSERT_EQ(CheckBatch(restored, batch2, times2), CheckBatch(set, batch, times)) << i;
    if (i % 10 == 9) {
      ASSERT_EQ(restored.Expire(w.clock - 700), set.Expire(w.clock - 700));
    }
  }
  EXPECT_EQ(restored.size(), set.size());
  DedupSet empty(TypesOf(MultiKeyFields()));
  ASSERT_TRUE(restored.Load(Save(empty)).ok());
  EXPECT_EQ(restored.size(), 0u);
}

TEST(DedupSet, BadSnapshotsAreDataErrorsAndLeaveTheSetEmpty) {
  DedupSet set({DataType::String(), DataType::Int64()});
  Batch b = MakeRows({{"s", DataType::String()}, {"i", DataType::Int64()}},
                     {{Value::String("a"), Value::Int64(1)}, {Value::Null(DataType::String()), Value::Int64(2)},
                      {Value::String("b"), Value::Null(DataType::Int64())}});
  CheckBatch(set, b, {1, 2, 3});
  const std::string state = Save(set);
  DedupSet other({DataType::String(), DataType::Int64()});
  auto expect_error = [&](std::string_view in, std::string_view message) {
    CheckBatch(other, b, {1, 2, 3});
    Status st = other.Load(in);
    ASSERT_EQ(st.code(), StatusCode::kDataError) << st.ToString();
    EXPECT_NE(st.message().find("dedup state: "), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(message), std::string::npos) << st.message();
    EXPECT_EQ(other.size(), 0u);
    EXPECT_EQ(CheckBatch(other, b, {1, 2, 3}), (std::vector<uint8_t>{1, 1, 1}));  // empty and usable
  };
  for (size_t len = 0; len < state.size(); ++len) expect_error(std::string_view(state).substr(0, len), "");
  expect_error(state + "!", "trailing bytes");
  for (size_t i = 0; i < state.size(); ++i) {
    std::string bad = state;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    expect_error(bad, "");
  }
  std::string bad = state;
  bad[30] ^= 4;
  expect_error(bad, "checksum mismatch");
  // Past the checksum (re-sealed: 13-byte header, 8-byte XXH3 trailer): the loader's own checks.
  auto reseal = [](std::string s) {
    s.resize(s.size() - 8);
    const uint64_t h = Hash64(s);
    s.append(reinterpret_cast<const char*>(&h), 8);
    return s;
  };
  bad = state;
  bad[4] = 9;
  expect_error(reseal(bad), "format version 9 is not supported");
  bad = state;
  std::memcpy(bad.data() + state.size() - 8 - 24, bad.data() + state.size() - 8 - 48, 24);  // one key twice
  expect_error(reseal(bad), "key 2 is listed twice");
  bad = state;
  std::memset(bad.data() + state.size() - 8 - 24, 0, 16);
  expect_error(reseal(bad), "reserved fingerprint");

  DedupSet one_column({DataType::String()});
  Status st = one_column.Load(state);
  EXPECT_NE(st.message().find("saved with 2 key columns, this set has 1"), std::string::npos) << st.message();
  DedupSet other_types({DataType::String(), DataType::Float64()});
  st = other_types.Load(state);
  EXPECT_NE(st.message().find("key column 1 was saved as int64, this set has float64"), std::string::npos)
      << st.message();
}

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kManyKeys = 1'000'000;  // instrumented memory access: keep the test short
#else
constexpr size_t kManyKeys = 10'000'000;
#endif

TEST(DedupSet, TenMillionKeysFitWellUnderAGibibyte) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); };
  const size_t batch = 8192;
  Column keys(DataType::Int64());
  keys.Resize(batch);
  std::vector<uint32_t> rows(batch);
  std::iota(rows.begin(), rows.end(), 0u);
  std::vector<int64_t> times(batch);
  std::vector<uint8_t> first(batch);
  DedupSet set({DataType::Int64()});
  // Pass 0 inserts kManyKeys distinct keys; pass 1 checks a tenth of them again (all duplicates).
  double insert_s = 0, recheck_s = 0;
  size_t firsts = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const size_t n = pass == 0 ? kManyKeys : kManyKeys / 10;
    const auto start = Clock::now();
    for (size_t base = 0; base < n; base += batch) {
      const size_t m = std::min(batch, n - base);
      for (size_t k = 0; k < m; ++k) {
        keys.mutable_data<int64_t>()[k] = static_cast<int64_t>(HashInt(base + k));  // distinct, scattered
        times[k] = static_cast<int64_t>(base + k);
      }
      set.Check({&keys}, rows.data(), m, times.data(), first.data());
      for (size_t k = 0; k < m; ++k) firsts += first[k];
    }
    (pass == 0 ? insert_s : recheck_s) = seconds(start);
  }
  EXPECT_EQ(firsts, kManyKeys);
  EXPECT_EQ(set.size(), kManyKeys);
  const size_t bytes = set.memory_bytes();
  EXPECT_LE(bytes, kManyKeys * 64 + (1u << 20));  // 24-byte slots, at worst 3/8 full
  if (kManyKeys == 10'000'000) {
    EXPECT_LT(bytes, size_t{512} << 20);
  }
  auto start = Clock::now();
  std::string state;
  set.Save(state);
  const double save_s = seconds(start);
  start = Clock::now();
  DedupSet restored({DataType::Int64()});
  ASSERT_TRUE(restored.Load(state).ok());
  const double load_s = seconds(start);
  EXPECT_EQ(restored.size(), kManyKeys);
  start = Clock::now();
  EXPECT_EQ(set.Expire(static_cast<int64_t>(kManyKeys / 100)), kManyKeys / 100);
  const double expire_little_s = seconds(start);
  start = Clock::now();
  EXPECT_EQ(set.Expire(static_cast<int64_t>(kManyKeys / 2)), kManyKeys / 2 - kManyKeys / 100);
  const double expire_s = seconds(start);
  std::printf("[ figures  ] %zu keys: memory_bytes %.1f MiB (%.1f B/key); Check %.0f ns/key new, %.0f ns/key seen; "
              "Save %.2f s (%.0f MiB), Load %.2f s, Expire of 1%% %.2f s, then of 49%% %.2f s\n",
              kManyKeys, bytes / 1048576.0, double(bytes) / kManyKeys, insert_s * 1e9 / kManyKeys,
              recheck_s * 1e9 / (kManyKeys / 10), save_s, state.size() / 1048576.0, load_s, expire_little_s, expire_s);
}

}  // namespace
}  // namespace sluice::engine::kernels
