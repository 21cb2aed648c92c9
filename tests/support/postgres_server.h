// A real PostgreSQL for tests and benchmarks (docs/testing.md): a fresh cluster in a temp dir
// (initdb, trust auth, UTF8), started with pg_ctl on 127.0.0.1 on a free port, and stopped and
// removed by the destructor. As root, every PostgreSQL program runs as the `postgres` user
// (initdb refuses root) through runuser, and the temp dir is owned by postgres.
// Readiness is polled with pg_isready against a deadline; nothing sleeps to synchronize.
// Thread-safety: none; one test owns a server.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sluice::testing {

class PostgresServer {
 public:
  // Starts a cluster; `settings` are extra `-c name=value` server settings. nullptr and *error
  // on failure (e.g. PostgreSQL is not installed: scripts/install-deps).
  static std::unique_ptr<PostgresServer> Start(std::string* error, const std::vector<std::string>& settings = {});
  ~PostgresServer();

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:<port>/<db>
  std::string url(const std::string& db = "postgres") const;
  const std::string& bin_dir() const { return bin_; }

  // pg_ctl stop -m <mode> (smart | fast | immediate); true when the server is down.
  bool Stop(const std::string& mode = "fast");
  // Starts the same cluster again on the same port; true once it accepts connections.
  bool Restart(std::string* error = nullptr);
  bool running() const { return running_; }
  // Runs SQL with psql as the postgres user (ON_ERROR_STOP); returns psql's stdout, or "" and
  // *error on failure.
  std::string Psql(const std::string& sql, const std::string& db = "postgres", std::string* error = nullptr) const;
  bool CreateDatabase(const std::string& name, std::string* error = nullptr) const;
  std::string ServerLog() const;

 private:
  PostgresServer() = default;
  // argv run as the postgres user when we are root.
  std::vector<std::string> AsPostgres(std::vector<std::string> argv) const;
  bool StartServer(std::string* error);
  bool WaitReady(int timeout_ms) const;

  std::string bin_;
  std::string dir_;
  std::string data_;
  std::vector<std::string> settings_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace sluice::testing
