// Warehouse load benchmark (bench/README.md): N fact rows (8 columns) into PostgreSQL through the
// warehouse's COPY BINARY commit path, against `psql \copy` of the same rows from CSV — same
// server, same run, same table layout. Prints rows/s for both and their ratio.
//
//   warehouse_load [--rows N] [--url postgresql://...] [--repeat R] [--batch-rows B]
//
// Without --url it starts a throwaway PostgreSQL (tests/support/postgres_server) on loopback with
// default durability settings (fsync on) and max_wal_size=4GB so no checkpoint lands mid-load.
// Each repeat truncates both tables and loads them again (psql first, then Sluice); the best
// repeat of each is reported. Building the batches and writing the CSV are not timed.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "sluice/connectors/warehouse/warehouse.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"
#include "support/postgres_server.h"

using namespace sluice;
using namespace sluice::warehouse;

namespace {

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "warehouse_load: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1'000'000;
  int repeat = 2;
  size_t batch_rows = 4096;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--rows") rows = std::stoll(next());
    else if (a == "--url") url = next();
    else if (a == "--repeat") repeat = std::stoi(next());
    else if (a == "--batch-rows") batch_rows = std::stoul(next());
    else return Fail("usage: warehouse_load [--rows N] [--url URL] [--repeat R] [--batch-rows B]");
  }

  std::unique_ptr<testing::PostgresServer> server;
  if (url.empty()) {
    std::string error;
    server = testing::PostgresServer::Start(&error, {"max_wal_size=4GB"});
    if (!server) return Fail(error);
    url = server->url();
  }

  // The fact rows, as batches (ours) and as CSV (psql).
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"order_id", DataType::Int64()},      {"customer_id", DataType::Int64()},
      {"product_id", DataType::Int32()},    {"order_date", DataType::Date()},
      {"ordered_at", DataType::Timestamp()}, {"quantity", DataType::Int32()},
      {"amount", DataType::Decimal(18, 2)}, {"status", DataType::String()}});
  const char* statuses[] = {"new", "paid", "shipped", "delivered", "returned"};
  std::mt19937_64 rng(1);
  std::vector<Batch> batches;
  const std::string csv_path = std::string(server ? "/tmp" : "/tmp") + "/sluice-warehouse-load-" +
                               std::to_string(getpid()) + ".csv";
  {
    std::ofstream csv(csv_path, std::ios::binary);
    std::string line;
    BatchBuilder b(schema, batch_rows);
    const int64_t t0 = 1'767'225'600'000'000;
    for (int64_t i = 0; i < rows; ++i) {
      int64_t customer = static_cast<int64_t>(rng() % 100000);
      int32_t product = static_cast<int32_t>(rng() % 5000);
      int64_t ts = t0 + static_cast<int64_t>(rng() % (86400LL * 365)) * 1'000'000 + static_cast<int64_t>(rng() % 1000000);
      int32_t day = TimestampToDays(ts);
      int32_t qty = static_cast<int32_t>(1 + rng() % 10);
      int64_t amount = static_cast<int64_t>(rng() % 5'000'000);
      const char* status = statuses[rng() % 5];
      b.column(0).Append<int64_t>(i);
      b.column(1).Append<int64_t>(customer);
      b.column(2).Append<int32_t>(product);
      b.column(3).Append<int32_t>(day);
      b.column(4).Append<int64_t>(ts);
      b.column(5).Append<int32_t>(qty);
      b.column(6).Append<int64_t>(amount);
      b.column(7).AppendString(status);
      b.CommitRow(i);
      if (b.num_rows() == batch_rows) batches.push_back(b.Finish());
      line.clear();
      line += std::to_string(i) + "," + std::to_string(customer) + "," + std::to_string(product) + "," +
              FormatDate(day) + ",";
      AppendTimestamp(line, ts);
      line += "," + std::to_string(qty) + "," + FormatDecimal(amount, 2) + "," + status + "\n";
      csv << line;
    }
    if (b.num_rows() > 0) batches.push_back(b.Finish());
  }
  std::error_code ec;
  const double csv_mb = static_cast<double>(std::filesystem::file_size(csv_path, ec)) / 1e6;

  auto wh = Warehouse::Open(url);
  if (!wh.ok()) return Fail(wh.status().ToString());
  for (const char* t : {"fact_orders_sluice", "fact_orders_psql"}) {
    Status st = (*wh)->EnsureTable("bench", t, *schema, {}, WriteMode::kAppend);
    if (!st.ok()) return Fail(st.ToString());
  }
  const std::string psql = server ? server->bin_dir() + "/psql" : "psql";

  double best_ours = 1e9, best_psql = 1e9;
  for (int r = 0; r < repeat; ++r) {
    Status st = (*wh)->RunSql("TRUNCATE bench.fact_orders_sluice, bench.fact_orders_psql; DELETE FROM public.sluice_commits "
                              "WHERE pipeline = 'bench'; CHECKPOINT");
    if (!st.ok()) return Fail(st.ToString());

    std::string cmd = "'" + psql + "' -X -q -v ON_ERROR_STOP=1 '" + url + "' -c \"\\copy bench.fact_orders_psql FROM '" +
                      csv_path + "' WITH (FORMAT csv)\"";
    auto a = std::chrono::steady_clock::now();
    if (std::system(cmd.c_str()) != 0) return Fail("psql \\copy failed: " + cmd);
    auto b = std::chrono::steady_clock::now();
    best_psql = std::min(best_psql, Seconds(a, b));

    CommitBatch commit{"bench", "warehouse_load", r, "{}", 0,
                       {{"bench", "fact_orders_sluice", WriteMode::kAppend, {}, batches}}};
    a = std::chrono::steady_clock::now();
    auto res = (*wh)->Commit(commit);
    b = std::chrono::steady_clock::now();
    if (!res.ok()) return Fail(res.status().ToString());
    if (res->rows_written != rows) return Fail("wrote " + std::to_string(res->rows_written) + " rows");
    best_ours = std::min(best_ours, Seconds(a, b));
  }
  // Both tables must hold the same data.
  auto check = (*wh)->Query(
      "SELECT (SELECT count(*)::text || '/' || sum(amount)::text || '/' || sum(extract(epoch FROM ordered_at))::text "
      "FROM bench.fact_orders_sluice), (SELECT count(*)::text || '/' || sum(amount)::text || '/' || "
      "sum(extract(epoch FROM ordered_at))::text FROM bench.fact_orders_psql)");
  if (!check.ok()) return Fail(check.status().ToString());
  std::string ours_sum(check->front().column(0)->GetString(0)), psql_sum(check->front().column(1)->GetString(0));
  if (ours_sum != psql_sum) return Fail("tables differ: sluice " + ours_sum + " vs psql " + psql_sum);
  std::remove(csv_path.c_str());

  const double ours_rps = static_cast<double>(rows) / best_ours, psql_rps = static_cast<double>(rows) / best_psql;
  std::printf("warehouse load, %lld rows x 8 columns (CSV %.0f MB), best of %d, PostgreSQL %s\n",
              static_cast<long long>(rows), csv_mb, repeat, server ? "15 on loopback (throwaway cluster)" : url.c_str());
  std::printf("  sluice COPY BINARY commit : %.3f s  %10.0f rows/s\n", best_ours, ours_rps);
  std::printf("  psql \\copy CSV           : %.3f s  %10.0f rows/s\n", best_psql, psql_rps);
  std::printf("  ratio sluice / psql       : %.2fx   (targets: >= 500000 rows/s, >= 0.8x psql)\n", ours_rps / psql_rps);
  std::printf("{\"rows\":%lld,\"sluice_seconds\":%.4f,\"sluice_rows_per_second\":%.0f,\"psql_seconds\":%.4f,"
              "\"psql_rows_per_second\":%.0f,\"ratio\":%.3f,\"tables_equal\":true}\n",
              static_cast<long long>(rows), best_ours, ours_rps, best_psql, psql_rps, ours_rps / psql_rps);
  return 0;
}
