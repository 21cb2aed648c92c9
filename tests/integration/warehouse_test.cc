// The warehouse contract, run against SQLite and a real PostgreSQL 15 (started per suite on
// 127.0.0.1 on a free port by tests/support/postgres_server): append, upsert and scd2 writes,
// exactly-once epochs, schema evolution and refusal, names that try to inject SQL, and — for
// PostgreSQL — the server stopping in the middle of a load.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "../e2e/process.h"
#include "../support/postgres_server.h"
#include "sluice/connectors/warehouse/warehouse.h"

namespace sluice::warehouse {
namespace {

using sluice::testing::PostgresServer;
using sluice::testing::TempDir;

constexpr int64_t kT1 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kT2 = kT1 + 86'400'000'000;   // a day later

Batch MakeBatch(std::vector<Field> fields, const std::vector<std::vector<Value>>& rows) {
  BatchBuilder b(std::make_shared<Schema>(std::move(fields)));
  for (const auto& r : rows) b.AppendRow(r);
  return b.Finish();
}

std::string Show(const Value& v) { return v.is_null() ? "NULL" : v.ToString(); }

class WarehouseSuite : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    static std::atomic<int> counter{0};
    if (GetParam() == "sqlite") {
      dir_ = std::make_unique<TempDir>();
      url_ = "sqlite:" + *dir_ / "warehouse.db";
    } else {
      if (!server_) {
        std::string error;
        server_ = PostgresServer::Start(&error).release();
        ASSERT_NE(server_, nullptr) << error;
      }
      if (!server_->running()) {
        std::string error;
        ASSERT_TRUE(server_->Restart(&error)) << error;
      }
      std::string db = "wh" + std::to_string(counter++);
      std::string error;
      ASSERT_TRUE(server_->CreateDatabase(db, &error)) << error;
      url_ = server_->url(db);
    }
    wh_ = Open();
    ASSERT_NE(wh_, nullptr);
  }

  std::unique_ptr<Warehouse> Open(WarehouseOptions options = {}) {
    auto wh = Warehouse::Open(url_, std::move(options));
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    return wh.ok() ? std::move(wh).value() : nullptr;
  }

  // Rows of a query as "a|b|c" strings.
  std::vector<std::string> Rows(const std::string& sql, Warehouse* wh = nullptr) {
    auto r = (wh ? wh : wh_.get())->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const auto& b : *r) {
      for (size_t i = 0; i < b.num_rows(); ++i) {
        std::string row;
        for (size_t c = 0; c < b.num_columns(); ++c) row += (c ? "|" : "") + Show(b.column(c)->GetValue(i));
        out.push_back(row);
      }
    }
    return out;
  }

  static std::vector<Field> CustomerFields() {
    return {{"customer_id", DataType::Int64()}, {"segment", DataType::String()}, {"country", DataType::String()}};
  }
  static std::vector<Value> Customer(int64_t id, const std::string& segment, const std::string& country) {
    return {Value::Int64(id), Value::String(segment), Value::String(country)};
  }

  static PostgresServer* server_;
  std::unique_ptr<TempDir> dir_;
  std::string url_;
  std::unique_ptr<Warehouse> wh_;
};
PostgresServer* WarehouseSuite::server_ = nullptr;

TEST_P(WarehouseSuite, EveryTypeRoundTrips) {
  std::vector<Field> fields = {{"id", DataType::Int64()},      {"flag", DataType::Bool()},
                               {"small", DataType::Int32()},   {"ratio", DataType::Float64()},
                               {"amount", DataType::Decimal(18, 2)}, {"whole", DataType::Decimal(18, 0)},
                               {"note", DataType::String()},   {"blob", DataType::Binary()},
                               {"day", DataType::Date()},      {"ts", DataType::Timestamp()}};
  ASSERT_TRUE(wh_->EnsureTable("silver", "all_types", Schema(fields), {}, WriteMode::kAppend).ok());
  Batch b = MakeBatch(fields, {
      {Value::Int64(1), Value::Bool(true), Value::Int32(-7), Value::Float64(0.1), Value::Decimal(-123456789012345, 18, 2),
       Value::Decimal(999999999999999999, 18, 0), Value::String("it's \"quoted\"; DROP TABLE x; -- é"),
       Value::Binary(std::string("\0\x01\xff", 3)), Value::Date(-1), Value::Timestamp(kT1 + 123456)},
      {Value::Int64(2), Value::Null(DataType::Bool()), Value::Null(DataType::Int32()), Value::Null(DataType::Float64()),
       Value::Null(DataType::Decimal(18, 2)), Value::Null(DataType::Decimal(18, 0)), Value::Null(DataType::String()),
       Value::Null(DataType::Binary()), Value::Null(DataType::Date()), Value::Null(DataType::Timestamp())},
  });
  auto r = wh_->Commit({"p", "s", 1, "{}", 0, {{"silver", "all_types", WriteMode::kAppend, {}, {b}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto got = wh_->Query("SELECT * FROM silver.all_types ORDER BY id");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const Batch& out = got->front();
  EXPECT_EQ(*out.schema(), *b.schema());
  ASSERT_EQ(out.num_rows(), 2u);
  for (size_t c = 0; c < fields.size(); ++c) {
    for (size_t row = 0; row < 2; ++row) {
      EXPECT_EQ(out.column(c)->GetValue(row), b.column(c)->GetValue(row)) << fields[c].name << " row " << row;
    }
  }
}

TEST_P(WarehouseSuite, UpsertKeepsTheLastRowPerKey) {
  std::vector<Field> f = {{"order_id", DataType::String()}, {"amount", DataType::Decimal(18, 2)}, {"status", DataType::String()}};
  ASSERT_TRUE(wh_->EnsureTable("silver", "fact_orders", Schema(f), {"order_id"}, WriteMode::kUpsert).ok());
  Batch e1 = MakeBatch(f, {{Value::String("o1"), Value::Decimal(1000, 18, 2), Value::String("new")},
                           {Value::String("o2"), Value::Decimal(2000, 18, 2), Value::String("new")},
                           {Value::String("o2"), Value::Decimal(2500, 18, 2), Value::String("paid")}});
  ASSERT_TRUE(wh_->Commit({"orders", "silver", 1, "{\"p0\":3}", 0, {{"silver", "fact_orders", WriteMode::kUpsert, {"order_id"}, {e1}}}}).ok());
  Batch e2 = MakeBatch(f, {{Value::String("o1"), Value::Decimal(1000, 18, 2), Value::String("shipped")},
                           {Value::String("o3"), Value::Null(DataType::Decimal(18, 2)), Value::String("new")}});
  ASSERT_TRUE(wh_->Commit({"orders", "silver", 2, "{\"p0\":5}", 0, {{"silver", "fact_orders", WriteMode::kUpsert, {"order_id"}, {e2}}}}).ok());
  EXPECT_EQ(Rows("SELECT order_id, amount, status FROM silver.fact_orders ORDER BY order_id"),
            (std::vector<std::string>{"o1|10.00|shipped", "o2|25.00|paid", "o3|NULL|new"}));
  // A NULL key is refused before anything is written.
  Batch bad = MakeBatch(f, {{Value::Null(DataType::String()), Value::Decimal(1, 18, 2), Value::String("x")}});
  auto r = wh_->Commit({"orders", "silver", 3, "{}", 0, {{"silver", "fact_orders", WriteMode::kUpsert, {"order_id"}, {bad}}}});
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_EQ(Rows("SELECT count(*) FROM sluice_commits WHERE epoch = 3" ).front(), "0");
}

TEST_P(WarehouseSuite, Scd2KeepsHistoryWithStableSurrogateKeys) {
  ASSERT_TRUE(wh_->EnsureTable("silver", "dim_customer", Schema(CustomerFields()), {"customer_id"}, WriteMode::kScd2).ok());
  Batch run1 = MakeBatch(CustomerFields(), {Customer(1, "retail", "DE"), Customer(2, "b2b", "FR")});
  ASSERT_TRUE(wh_->Commit({"customers", "dim", 1, "{}", kT1, {{"silver", "dim_customer", WriteMode::kScd2, {"customer_id"}, {run1}}}}).ok());
  // Next run: customer 1 changes segment, customer 2 is unchanged, customer 3 is new.
  Batch run2 = MakeBatch(CustomerFields(), {Customer(1, "vip", "DE"), Customer(2, "b2b", "FR"), Customer(3, "retail", "NL")});
  ASSERT_TRUE(wh_->Commit({"customers", "dim", 2, "{}", kT2, {{"silver", "dim_customer", WriteMode::kScd2, {"customer_id"}, {run2}}}}).ok());
  EXPECT_EQ(Rows("SELECT customer_id, segment, valid_from, valid_to, is_current FROM silver.dim_customer "
                 "ORDER BY customer_id, valid_from"),
            (std::vector<std::string>{
                "1|retail|2026-01-01T00:00:00Z|2026-01-02T00:00:00Z|false",
                "1|vip|2026-01-02T00:00:00Z|NULL|true",
                "2|b2b|2026-01-01T00:00:00Z|NULL|true",
                "3|retail|2026-01-02T00:00:00Z|NULL|true",
            }));
  // Surrogate keys are a function of (business key, valid_from): the same in every run and backend.
  auto ids = MakeBatch({{"customer_id", DataType::Int64()}}, {{Value::Int64(1)}});
  std::vector<const Column*> key{ids.column(0).get()};
  EXPECT_EQ(Rows("SELECT surrogate_key FROM silver.dim_customer WHERE customer_id = 1 ORDER BY valid_from"),
            (std::vector<std::string>{std::to_string(Scd2SurrogateKey(key, 0, kT1)),
                                      std::to_string(Scd2SurrogateKey(key, 0, kT2))}));
  // A lookup reads the current version.
  auto current = wh_->Query("SELECT segment FROM silver.dim_customer WHERE customer_id = $1 AND is_current",
                            {Value::Int64(1)});
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_EQ(current->front().column(0)->GetValue(0), Value::String("vip"));
}

TEST_P(WarehouseSuite, EachEpochIsCommittedExactlyOnce) {
  std::vector<Field> f = {{"id", DataType::Int64()}, {"v", DataType::Int32()}};
  ASSERT_TRUE(wh_->EnsureTable("gold", "events", Schema(f), {}, WriteMode::kAppend).ok());
  Batch b = MakeBatch(f, {{Value::Int64(1), Value::Int32(10)}, {Value::Int64(2), Value::Int32(20)}});
  CommitBatch c{"p", "gold_sink", 5, "{\"topic/0\":42}", 0, {{"gold", "events", WriteMode::kAppend, {}, {b}}}};
  auto first = wh_->Commit(c);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->already_committed);
  // A replay after a crash, even from another connection, writes nothing.
  auto other = Open();
  auto again = other->Commit(c);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_committed);
  EXPECT_EQ(again->rows_written, 0);
  EXPECT_EQ(Rows("SELECT count(*), sum(v) FROM gold.events").front(), "2|30");
  // Another sink's epoch 5 is its own.
  c.sink = "other_sink";
  ASSERT_FALSE(wh_->Commit(c)->already_committed);
  auto last = wh_->LastCommittedEpoch("p", "gold_sink");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->epoch, 5);
  EXPECT_EQ((*last)->offsets, "{\"topic/0\":42}");
  EXPECT_FALSE(wh_->LastCommittedEpoch("p", "nobody")->has_value());
}

// A worker that lost its lease (generation 5) cannot commit once the worker that took its run
// over (generation 6) has: the refusal happens in the commit's transaction, with nothing written.
TEST_P(WarehouseSuite, ACommitOfAnOlderLeaseGenerationIsRefused) {
  std::vector<Field> f = {{"id", DataType::Int64()}, {"v", DataType::Int32()}};
  ASSERT_TRUE(wh_->EnsureTable("gold", "events", Schema(f), {}, WriteMode::kAppend).ok());
  auto epoch = [&](int64_t e, int64_t fence) {
    Batch b = MakeBatch(f, {{Value::Int64(e), Value::Int32(static_cast<int32_t>(e * 10))}});
    CommitBatch c{"p", "gold_sink", e, "{}", 0, {{"gold", "events", WriteMode::kAppend, {}, {b}}}};
    c.fence = fence;
    return c;
  };
  auto old_worker = Open();
  ASSERT_FALSE(old_worker->Commit(epoch(1, 5))->already_committed);
  ASSERT_FALSE(wh_->Commit(epoch(2, 6))->already_committed);
  auto refused = old_worker->Commit(epoch(3, 5));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("lease"), std::string::npos) << refused.status().ToString();
  // An epoch already there is answered as before; the new generation goes on; no fence, no check.
  EXPECT_TRUE(old_worker->Commit(epoch(2, 5))->already_committed);
  ASSERT_FALSE(wh_->Commit(epoch(3, 6))->already_committed);
  ASSERT_FALSE(old_worker->Commit(epoch(4, 0))->already_committed);
  EXPECT_EQ(Rows("SELECT count(*), sum(v) FROM gold.events").front(), "4|100");
  // The connection that was refused still works (its transaction was rolled back).
  EXPECT_FALSE(old_worker->Commit(epoch(5, 7))->already_committed);
  EXPECT_FALSE(wh_->Commit(epoch(6, 6)).ok());
}

TEST_P(WarehouseSuite, SchemaEvolvesByAddingColumnsAndRefusesTypeChanges) {
  Schema v1({{"id", DataType::Int64()}, {"amount", DataType::Decimal(18, 2)}});
  ASSERT_TRUE(wh_->EnsureTable("silver", "facts", v1, {"id"}, WriteMode::kUpsert).ok());
  Batch b1 = MakeBatch(v1.fields(), {{Value::Int64(1), Value::Decimal(150, 18, 2)}});
  ASSERT_TRUE(wh_->Commit({"p", "s", 1, "", 0, {{"silver", "facts", WriteMode::kUpsert, {"id"}, {b1}}}}).ok());

  Schema v2({{"id", DataType::Int64()}, {"amount", DataType::Decimal(18, 2)}, {"note", DataType::String()}});
  ASSERT_TRUE(wh_->EnsureTable("silver", "facts", v2, {"id"}, WriteMode::kUpsert).ok());
  Batch b2 = MakeBatch(v2.fields(), {{Value::Int64(2), Value::Decimal(250, 18, 2), Value::String("new column")}});
  ASSERT_TRUE(wh_->Commit({"p", "s", 2, "", 0, {{"silver", "facts", WriteMode::kUpsert, {"id"}, {b2}}}}).ok());
  EXPECT_EQ(Rows("SELECT id, amount, note FROM silver.facts ORDER BY id"),
            (std::vector<std::string>{"1|1.50|NULL", "2|2.50|new column"}));

  Schema narrower({{"id", DataType::Int32()}, {"amount", DataType::Decimal(10, 2)}});  // fits: no change
  EXPECT_TRUE(wh_->EnsureTable("silver", "facts", narrower, {"id"}, WriteMode::kUpsert).ok());
  Schema v3({{"id", DataType::Int64()}, {"amount", DataType::Decimal(18, 4)}});
  Status st = wh_->EnsureTable("silver", "facts", v3, {"id"}, WriteMode::kUpsert);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("column 'amount' of silver.facts is decimal(18,2) in the warehouse but decimal(18,4)"),
            std::string::npos)
      << st.message();
  Schema v4({{"id", DataType::String()}});
  st = wh_->EnsureTable("silver", "facts", v4, {"id"}, WriteMode::kUpsert);
  EXPECT_NE(st.message().find("'id' of silver.facts is int64 in the warehouse but string"), std::string::npos) << st.message();
  // Writing a type the table cannot hold is refused too, without touching the table.
  Batch wrong = MakeBatch(v3.fields(), {{Value::Int64(3), Value::Decimal(1, 18, 4)}});
  EXPECT_EQ(wh_->Commit({"p", "s", 3, "", 0, {{"silver", "facts", WriteMode::kUpsert, {"id"}, {wrong}}}}).status().code(),
            StatusCode::kInvalidArgument);
  // A table that was never ensured is a clear precondition failure.
  EXPECT_EQ(wh_->Commit({"p", "s", 4, "", 0, {{"silver", "nope", WriteMode::kAppend, {}, {wrong}}}}).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(WarehouseSuite, InjectionAttemptsAreRefusedBeforeAnyStatement) {
  Schema ok({{"id", DataType::Int64()}});
  const int64_t before = wh_->stats().statements;
  const std::vector<std::string> attacks = {"x\"; DROP TABLE sluice_commits; --", "x; DROP TABLE y", "Robert'); --",
                                            "a.b", "UPPER", "", std::string(64, 'a')};
  for (const auto& bad : attacks) {
    EXPECT_EQ(wh_->EnsureTable("silver", bad, ok, {}, WriteMode::kAppend).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(wh_->EnsureTable(bad, "t", ok, {}, WriteMode::kAppend).code(), StatusCode::kInvalidArgument) << bad;
    Schema bad_col({{bad, DataType::Int64()}});
    EXPECT_EQ(wh_->EnsureTable("silver", "t", bad_col, {}, WriteMode::kAppend).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(wh_->EnsureTable("silver", "t", ok, {bad}, WriteMode::kUpsert).code(), StatusCode::kInvalidArgument) << bad;
    Batch b = MakeBatch({{bad, DataType::Int64()}}, {{Value::Int64(1)}});
    EXPECT_EQ(wh_->Commit({"p", "s", 1, "", 0, {{"silver", "t", WriteMode::kAppend, {}, {b}}}}).status().code(),
              StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(wh_->DescribeTable("silver", bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(wh_->EnsureTable("silver", "sluice_commits", ok, {}, WriteMode::kAppend).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(wh_->stats().statements, before);
  EXPECT_EQ(wh_->DescribeTable("silver", "t").status().code(), StatusCode::kNotFound);
  // Values are bound, never spliced: a hostile string is just data.
  ASSERT_TRUE(wh_->EnsureTable("silver", "t", Schema({{"name", DataType::String()}}), {}, WriteMode::kAppend).ok());
  Batch hostile = MakeBatch({{"name", DataType::String()}}, {{Value::String("'); DROP TABLE silver.t; --")}});
  ASSERT_TRUE(wh_->Commit({"p' OR '1'='1", "s", 1, "'); --", 0, {{"silver", "t", WriteMode::kAppend, {}, {hostile}}}}).ok());
  EXPECT_EQ(Rows("SELECT name FROM silver.t"), (std::vector<std::string>{"'); DROP TABLE silver.t; --"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, WarehouseSuite, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// PostgreSQL stopped in the middle of a load: the commit retries, then fails clearly, and after a
// restart nothing of it is visible; a later commit of the same epoch succeeds exactly once.
class PostgresFaults : public WarehouseSuite {};

std::vector<Field> FactFields() { return {{"id", DataType::Int64()}, {"amount", DataType::Decimal(18, 2)}}; }

Batch Facts(int n) {
  BatchBuilder b(std::make_shared<Schema>(FactFields()));
  for (int i = 0; i < n; ++i) b.AppendRow({Value::Int64(i), Value::Decimal(i * 7, 18, 2)});
  return b.Finish();
}

TEST_P(PostgresFaults, StoppedMidLoadRetriesThenFailsWithNothingVisible) {
  for (WriteMode mode : {WriteMode::kAppend, WriteMode::kUpsert}) {
    if (!server_->running()) {
      ASSERT_TRUE(server_->Restart());
    }
    std::string table = mode == WriteMode::kAppend ? "fact_append" : "fact_upsert";
    std::vector<std::string> key = mode == WriteMode::kAppend ? std::vector<std::string>{} : std::vector<std::string>{"id"};
    ASSERT_TRUE(wh_->EnsureTable("silver", table, Schema(FactFields()), key, mode).ok());
    int stops = 0;
    WarehouseOptions options;
    options.max_attempts = 3;
    options.initial_backoff_micros = 20'000;
    options.test_hook = [&](std::string_view point) {
      if (point == "rows_sent" && server_->running()) {
        ++stops;
        EXPECT_TRUE(server_->Stop("immediate")) << server_->ServerLog();
      }
    };
    auto wh = Open(options);
    ASSERT_NE(wh, nullptr);
    auto r = wh->Commit({"p", table, 1, "{}", 0, {{"silver", table, mode, key, {Facts(20000)}}}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("failed after 3 attempts"), std::string::npos) << r.status().message();
    EXPECT_EQ(stops, 1);
    EXPECT_EQ(wh->stats().retries, 2);

    std::string error;
    ASSERT_TRUE(server_->Restart(&error)) << error;
    auto fresh = Open();
    EXPECT_EQ(Rows("SELECT count(*) FROM silver." + table, fresh.get()).front(), "0");
    EXPECT_EQ(Rows("SELECT count(*) FROM sluice_commits WHERE sink = '" + table + "'", fresh.get()).front(), "0");
    auto ok = fresh->Commit({"p", table, 1, "{}", 0, {{"silver", table, mode, key, {Facts(20000)}}}});
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_EQ(Rows("SELECT count(*), sum(amount) FROM silver." + table, fresh.get()).front(), "20000|13999300.00");
    wh_ = std::move(fresh);
  }
}

TEST_P(PostgresFaults, ServerBackDuringRetriesCommitsOnce) {
  ASSERT_TRUE(wh_->EnsureTable("silver", "facts", Schema(FactFields()), {"id"}, WriteMode::kUpsert).ok());
  bool stopped = false;
  WarehouseOptions options;
  options.max_attempts = 5;
  options.initial_backoff_micros = 20'000;
  options.test_hook = [&](std::string_view point) {
    if (point == "before_commit" && !stopped) {
      stopped = true;
      server_->Stop("fast");
    } else if (point == "retry" && !server_->running()) {
      ASSERT_TRUE(server_->Restart());
    }
  };
  auto wh = Open(options);
  auto r = wh->Commit({"p", "s", 9, "{\"o\":1}", 0, {{"silver", "facts", WriteMode::kUpsert, {"id"}, {Facts(5000)}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->attempts, 2);
  EXPECT_FALSE(r->already_committed);
  EXPECT_EQ(Rows("SELECT count(*), count(DISTINCT id) FROM silver.facts", wh.get()).front(), "5000|5000");
  EXPECT_EQ(Rows("SELECT epoch FROM sluice_commits", wh.get()), (std::vector<std::string>{"9"}));
}

// What the server reports, classed by SQLSTATE (sluice/sql/postgres.h, users' statements):
// 23505 AlreadyExists, other 22xxx/23xxx DataError, 42xxx InvalidArgument, and a deadlock (40P01)
// outside a commit Aborted.
TEST_P(PostgresFaults, ServerErrorsAreClassedBySqlstate) {
  ASSERT_TRUE(wh_->EnsureSchema("silver").ok());
  ASSERT_TRUE(wh_->RunSql("CREATE TABLE silver.u (id bigint PRIMARY KEY, n int NOT NULL)").ok());
  ASSERT_TRUE(wh_->RunSql("INSERT INTO silver.u VALUES (1, 1), (2, 2)").ok());
  EXPECT_EQ(wh_->RunSql("INSERT INTO silver.u VALUES (1, 3)").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(wh_->RunSql("INSERT INTO silver.u VALUES (3, NULL)").code(), StatusCode::kDataError);
  EXPECT_EQ(wh_->RunSql("INSERT INTO silver.u VALUES (3, 99999999999)").code(), StatusCode::kDataError);
  EXPECT_EQ(wh_->RunSql("SELEC 1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wh_->Query("SELECT * FROM silver.nope").status().code(), StatusCode::kInvalidArgument);

  // A deadlock: a locks row 1, b row 2, then a waits for row 2 and b asks for row 1.
  auto a = Open(), b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->RunSql("BEGIN; UPDATE silver.u SET n = n + 1 WHERE id = 1").ok());
  ASSERT_TRUE(b->RunSql("BEGIN; UPDATE silver.u SET n = n + 1 WHERE id = 2").ok());
  Status a_second;
  std::thread waiter([&] { a_second = a->RunSql("UPDATE silver.u SET n = n + 1 WHERE id = 2"); });
  // Until a waits for b's lock (bounded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (Rows("SELECT count(*) FROM pg_locks WHERE NOT granted").front() == "0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  Status b_second = b->RunSql("UPDATE silver.u SET n = n + 1 WHERE id = 1");
  waiter.join();
  // The server picks one victim; the other statement goes through.
  EXPECT_NE(a_second.ok(), b_second.ok()) << a_second.ToString() << " / " << b_second.ToString();
  const Status& victim = a_second.ok() ? b_second : a_second;
  EXPECT_EQ(victim.code(), StatusCode::kAborted) << victim.ToString();
  EXPECT_NE(victim.message().find("deadlock"), std::string::npos) << victim.message();
  (void)a->RunSql("ROLLBACK");
  (void)b->RunSql("ROLLBACK");
}

INSTANTIATE_TEST_SUITE_P(Backends, PostgresFaults, ::testing::Values("postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sluice::warehouse
