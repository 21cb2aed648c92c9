#include "postgres_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "../e2e/process.h"

extern char** environ;

namespace sluice::testing {
namespace {

// A port the kernel just handed out on 127.0.0.1 (free at this moment).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string FindBinDir() {
  namespace fs = std::filesystem;
  std::string best;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = (e.path() / "bin").string();
    if (fs::exists(bin + "/initdb") && bin > best) best = bin;
  }
  return best;
}

// Runs argv with stdout and stderr appended to `log` (no pipes: pg_ctl start leaves the server
// running, and a server holding a pipe's write end would keep a reader waiting forever).
int RunToLog(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return 127;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::vector<std::string> PostgresServer::AsPostgres(std::vector<std::string> argv) const {
  if (geteuid() != 0) return argv;
  std::vector<std::string> out = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::unique_ptr<PostgresServer> PostgresServer::Start(std::string* error, const std::vector<std::string>& settings) {
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  s->bin_ = FindBinDir();
  if (s->bin_.empty()) {
    *error = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/install-deps";
    return nullptr;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-pg-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    *error = "mkdtemp failed";
    return nullptr;
  }
  s->dir_ = tmpl;
  s->data_ = s->dir_ + "/data";
  s->settings_ = settings;
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (!pw || chown(s->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      *error = "cannot hand the temp dir to the postgres user (is the postgresql package installed?)";
      return nullptr;
    }
  }
  auto init = RunProcess(s->AsPostgres({s->bin_ + "/initdb", "-D", s->data_, "-U", "postgres", "-A", "trust", "-E",
                                        "UTF8", "--no-sync", "--no-instructions"}));
  if (init.exit_code != 0) {
    *error = "initdb failed: " + init.err + init.out;
    return nullptr;
  }
  // A port can be taken between FreePort() and the server's bind: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = FreePort();
    if (s->StartServer(error)) return s;
  }
  return nullptr;
}

bool PostgresServer::StartServer(std::string* error) {
  std::string opts = "-p " + std::to_string(port_) + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_;
  for (const auto& s : settings_) opts += " -c " + s;
  const std::string ctl_log = dir_ + "/pg_ctl.log";
  if (RunToLog(AsPostgres({bin_ + "/pg_ctl", "-D", data_, "-l", dir_ + "/server.log", "-o", opts, "start"}), ctl_log) != 0) {
    if (error) *error = "pg_ctl start failed: " + ReadFile(ctl_log) + ServerLog();
    return false;
  }
  running_ = true;
  if (!WaitReady(30000)) {
    if (error) *error = "PostgreSQL did not become ready within 30 s: " + ServerLog();
    Stop("immediate");
    return false;
  }
  return true;
}

bool PostgresServer::WaitReady(int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = RunProcess({bin_ + "/pg_isready", "-q", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres"});
    if (r.exit_code == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval, not synchronization
  }
  return false;
}

PostgresServer::~PostgresServer() {
  if (running_) Stop("immediate");
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PostgresServer::url(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

bool PostgresServer::Stop(const std::string& mode) {
  auto r = RunProcess(AsPostgres({bin_ + "/pg_ctl", "-D", data_, "-m", mode, "-w", "stop"}));
  if (r.exit_code == 0) running_ = false;
  return !running_;
}

bool PostgresServer::Restart(std::string* error) { return StartServer(error); }

std::string PostgresServer::Psql(const std::string& sql, const std::string& db, std::string* error) const {
  auto r = RunProcess({bin_ + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                       std::to_string(port_), "-U", "postgres", "-d", db, "-c", sql});
  if (r.exit_code != 0) {
    if (error) *error = r.err;
    return "";
  }
  return r.out;
}

bool PostgresServer::CreateDatabase(const std::string& name, std::string* error) const {
  std::string err;
  Psql("CREATE DATABASE \"" + name + "\"", "postgres", &err);
  if (error) *error = err;
  return err.empty();
}

std::string PostgresServer::ServerLog() const { return ReadFile(dir_ + "/server.log"); }

}  // namespace sluice::testing
