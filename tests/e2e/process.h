// Runs a command and captures its exit code, stdout and stderr (for end-to-end tests).
#pragma once

#include <string>
#include <vector>

namespace sluice::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] with the arguments (no shell), optionally feeding `stdin_text`.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& cwd = "");

// Starts a process in the background (stdout/stderr to /dev/null); returns its pid.
int SpawnProcess(const std::vector<std::string>& argv);
// Waits for a spawned process; returns its exit code, or 128 + signal.
int WaitProcess(int pid);

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);
// The sluice CLI `bin` with `args` against `server`, its client config `config`
// ($SLUICE_CONFIG) and `stdin_text` on stdin (kept in `stdin_path`).
ProcessResult RunClient(const std::string& bin, const std::vector<std::string>& args, const std::string& server,
                        const std::string& config, const std::string& stdin_text, const std::string& stdin_path);
// The first line of `path` once a process has written it (e.g. the base URL `sluice serve`
// prints); "" after 30 s.
std::string WaitForFirstLine(const std::string& path);
std::string ReadFile(const std::string& path);

}  // namespace sluice::testing
