// Docs that run (docs/testing.md, "Docs that run"). Every fenced block of README.md, docs/ and
// examples/README.md marked in its info string is executed, per doc in order, in a fresh scratch
// directory (holding copies of examples/pipelines, examples/templates and tests/pipelines, and
// `build` leading to this build) with the build's sluice and sluice-gen first on PATH:
//   ```sh runnable     a bash script (-e -o pipefail), at most kBlockSeconds; a line ending in
//                      `# exit: N` must exit with N (an error being demonstrated)
//   ```sh serve        one `sluice serve` command, started in the background (on 127.0.0.1:0 unless
//                      it says --listen); its URL is $SLUICE_SERVER for the later blocks, and it is
//                      stopped by its pid when the doc ends. $SLUICE_ADMIN_PASSWORD is set throughout
//   ```LANG file=PATH  the block's text, written to PATH (a spec the later blocks use)
//   ```LANG output     lines the previous runnable block printed (stdout, then stderr), in order,
//                      each a whole line; times, long hex ids, runs of spaces and the scratch path are
//                      normalised on both sides, and `…` matches any text
// A failure reads `doc.md:LINE: command failed (exit N), stderr: …`.
//
// The docs' statements on which component kinds exist are checked against the registry: a
// `| role | kinds |` table lists exactly the registered kinds, and a kind a paragraph calls "not
// available" is a planned kind of its role, every planned kind being called so.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "process.h"
#include "sluice/components/registry.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using components::Builtins;
using engine::Role;

const std::string kSrc = SLUICE_SOURCE_DIR;
const std::string kBuildDir = SLUICE_BUILD_DIR;
constexpr int kBlockSeconds = 30;
const std::string kAdminPassword = "docs test admin password";

struct Block {
  int line = 0;  // of the opening fence, 1-based
  std::string lang;
  std::set<std::string> flags;  // runnable, serve, output
  std::string file;             // file=PATH
  std::vector<std::string> lines;
};

// The fenced blocks of a markdown file (a fence may be indented, e.g. in a list item).
std::vector<Block> ParseBlocks(const std::string& text) {
  std::vector<Block> blocks;
  std::istringstream in(text);
  std::string line;
  std::optional<Block> open;
  size_t indent = 0;
  for (int n = 1; std::getline(in, line); ++n) {
    const size_t first = line.find_first_not_of(' ');
    const bool fence = first != std::string::npos && line.compare(first, 3, "```") == 0;
    if (open && fence && line.find_first_not_of(" `") == std::string::npos) {
      blocks.push_back(std::move(*open));
      open.reset();
    } else if (open) {
      open->lines.push_back(line.substr(std::min(
          indent, line.find_first_not_of(' ') == std::string::npos ? line.size() : line.find_first_not_of(' '))));
    } else if (fence) {
      open.emplace();
      open->line = n;
      indent = first;
      std::istringstream info(line.substr(first + 3));
      info >> open->lang;
      for (std::string word; info >> word;) {
        if (word.rfind("file=", 0) == 0) open->file = word.substr(5);
        else
          open->flags.insert(word);
      }
    }
  }
  return blocks;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string LastLines(const std::string& text, int n) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  while (n-- > 0 && pos != std::string::npos && pos > 0) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

// An output line as compared: times, long hex ids and the scratch path replaced, spaces squeezed.
std::string Normalise(std::string s, const std::string& scratch) {
  for (size_t p; !scratch.empty() && (p = s.find(scratch)) != std::string::npos;) s.replace(p, scratch.size(), ".");
  static const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d[:\-]\d\d[:\-]\d\d([.,]\d+)?Z?)");
  static const std::regex id(R"(\b[0-9a-f]{12,}\b)");
  static const std::regex spaces(R"([ \t]+)");
  s = std::regex_replace(s, time, "<time>");
  s = std::regex_replace(s, id, "<id>");
  s = std::regex_replace(s, spaces, " ");
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Whether `line` matches the expected `pattern` (both normalised), where `…` matches any text.
bool LineMatches(const std::string& line, const std::string& pattern) {
  std::string re;
  static const std::string kEllipsis = "\u2026";
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, kEllipsis.size(), kEllipsis) == 0) {
      re += ".*";
      i += kEllipsis.size();
      continue;
    }
    if (std::string("\\^$.|?*+()[]{}").find(pattern[i]) != std::string::npos) re += '\\';
    re += pattern[i++];
  }
  return std::regex_match(line, std::regex(re));
}

// The expected lines not found, in order, among the printed ones ("" when all are there).
std::string MissingOutput(const std::vector<std::string>& expected, const std::string& printed,
                          const std::string& scratch) {
  std::vector<std::string> lines;
  std::istringstream in(printed);
  for (std::string l; std::getline(in, l);) lines.push_back(Normalise(l, scratch));
  size_t at = 0;
  for (const auto& e : expected) {
    const std::string want = Normalise(e, scratch);
    if (want.empty()) continue;
    while (at < lines.size() && !LineMatches(lines[at], want)) ++at;
    if (at == lines.size()) return e;
    ++at;
  }
  return "";
}

// A runnable block as a bash script with the same line numbers (+1: the trap on line 1). The ERR
// trap and the `# exit: N` checks leave "LINE EXIT [EXPECTED]" in $DOCS_STATUS.
std::string Script(const Block& b) {
  static const std::regex exit_marker(R"(^(.*\S)\s+#\s*exit:\s*(\d+)\s*$)");
  std::string s = "trap 'echo \"$LINENO $?\" >> \"$DOCS_STATUS\"' ERR\n";
  for (const auto& line : b.lines) {
    std::smatch m;
    if (std::regex_match(line, m, exit_marker)) {
      const std::string want = m[2];
      s += m[1].str() + " || __rc=$?; if [ \"${__rc:-0}\" != " + want + " ]; then echo \"$LINENO ${__rc:-0} " + want +
           "\" >> \"$DOCS_STATUS\"; exit 97; fi; __rc=0\n";
    } else {
      s += line + "\n";
    }
  }
  return s;
}

// The command of a `serve` block: its lines joined, comments dropped.
std::string ServeCommand(const Block& b) {
  std::string cmd;
  for (std::string line : b.lines) {
    if (size_t hash = line.find(" #"); hash != std::string::npos) line.resize(hash);
    if (line.rfind('#', 0) == 0) continue;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\\')) line.pop_back();
    if (!line.empty()) cmd += (cmd.empty() ? "" : " ") + line;
  }
  if (cmd.find("--listen") == std::string::npos) cmd += " --listen 127.0.0.1:0";
  return cmd;
}

// Runs one doc's marked blocks; returns the failures, each `doc.md:LINE: …`.
class DocRunner {
 public:
  explicit DocRunner(std::string name) : name_(std::move(name)) {
    for (const char* dir : {"examples/pipelines", "examples/templates", "tests/pipelines"}) {
      fs::create_directories(fs::path(scratch_.path()) / dir);
      fs::copy(fs::path(kSrc) / dir, fs::path(scratch_.path()) / dir, fs::copy_options::recursive);
    }
    fs::create_directory_symlink(kBuildDir, scratch_ / "build");
  }
  ~DocRunner() {
    if (server_pid_ > 0) {
      kill(server_pid_, SIGTERM);
      WaitProcess(server_pid_);
    }
  }

  std::vector<std::string> Run(const std::vector<Block>& blocks) {
    std::vector<std::string> failures;
    std::optional<ProcessResult> last;
    for (const Block& b : blocks) {
      const std::string where = name_ + ":" + std::to_string(b.line) + ": ";
      if (!b.file.empty()) {
        std::string text;
        for (const auto& l : b.lines) text += l + "\n";
        WriteFile(scratch_ / b.file, text);
      } else if (b.flags.count("output")) {
        if (!last) {
          failures.push_back(where + "an output block follows no runnable block");
        } else if (std::string missing = MissingOutput(b.lines, last->out + last->err, scratch_.path());
                   !missing.empty()) {
          failures.push_back(where + "expected output line not printed: '" + missing + "'; printed:\n" + last->out +
                             last->err);
        }
      } else if (b.flags.count("serve")) {
        if (std::string error = StartServer(b); !error.empty()) {
          failures.push_back(where + error);
          return failures;  // the later blocks need it
        }
      } else if (b.flags.count("runnable")) {
        last = RunBlock(b, failures);
        if (!failures.empty()) return failures;  // the later blocks build on this one
      }
    }
    return failures;
  }

 private:
  // `env` arguments: the build's binaries first on PATH, a HOME of the scratch directory (so the
  // client config lives there), no server or credentials of the caller's environment.
  std::vector<std::string> Env() const {
    std::vector<std::string> env = {"/usr/bin/env"};
    for (const char* unset : {"SLUICE_SERVER", "SLUICE_TOKEN", "SLUICE_CONFIG", "SLUICE_CA_CERT", "SLUICE_METADATA_URL",
                              "SLUICE_WAREHOUSE_URL", "SLUICE_KAFKA_BROKERS", "SLUICE_LOG_FORMAT"}) {
      env.insert(env.end(), {"-u", unset});
    }
    const char* path = getenv("PATH");
    env.push_back("PATH=" + fs::path(SLUICE_BIN).parent_path().string() + ":" +
                  fs::path(SLUICE_GEN_BIN).parent_path().string() + ":" + (path ? path : "/usr/bin:/bin"));
    env.push_back("HOME=" + (scratch_ / "home"));
    env.push_back("SLUICE_ADMIN_PASSWORD=" + kAdminPassword);
    env.push_back("DOCS_STATUS=" + (meta_ / "status"));
    if (!server_url_.empty()) env.push_back("SLUICE_SERVER=" + server_url_);
    return env;
  }

  ProcessResult RunBlock(const Block& b, std::vector<std::string>& failures) {
    const std::string script = meta_ / ("block-" + std::to_string(b.line) + ".sh");
    WriteFile(script, Script(b));
    fs::remove(meta_ / "status");
    std::vector<std::string> argv = Env();
    argv.insert(argv.end(),
                {"timeout", "-k", "5", std::to_string(kBlockSeconds), "bash", "-e", "-o", "pipefail", script});
    ProcessResult r = RunProcess(argv, scratch_.path());
    if (r.exit_code == 0) return r;
    std::istringstream status(ReadFile(meta_ / "status"));
    int script_line = 0, code = r.exit_code, expected = -1;
    status >> script_line >> code;
    if (!(status >> expected)) expected = -1;
    const int line = script_line > 1 ? b.line + script_line - 1 : b.line;
    std::string what;
    if (r.exit_code == 124) {
      what = "block timed out after " + std::to_string(kBlockSeconds) + " s";
    } else if (expected >= 0) {
      what = "command exited " + std::to_string(code) + ", expected exit " + std::to_string(expected);
    } else {
      what = "command failed (exit " + std::to_string(code) + ")";
    }
    failures.push_back(name_ + ":" + std::to_string(line) + ": " + what + ", stderr: " + LastLines(r.err, 20) +
                       (r.out.empty() ? "" : "\nstdout: " + LastLines(r.out, 10)));
    return r;
  }

  // Starts the block's `sluice serve`; "" once it printed its URL, else why not.
  std::string StartServer(const Block& b) {
    if (server_pid_ > 0) return "a second serve block (one server per doc)";
    const std::string out = meta_ / "serve.out", err = meta_ / "serve.err";
    std::string cmd = "cd " + Quote(scratch_.path()) + " && exec";
    for (const auto& a : Env()) cmd += " " + Quote(a);
    cmd += " " + ServeCommand(b) + " > " + Quote(out) + " 2> " + Quote(err);
    server_pid_ = SpawnProcess({"/bin/sh", "-c", cmd});
    server_url_ = WaitForFirstLine(out);
    if (server_url_.empty()) return "the server printed no URL in 30 s, stderr: " + LastLines(ReadFile(err), 20);
    return "";
  }

  std::string name_;
  TempDir scratch_;  // the commands' working directory
  TempDir meta_;     // scripts, status, the server's output
  int server_pid_ = 0;
  std::string server_url_;
};

// The docs whose blocks may be marked: README.md, examples/README.md, every .md under docs/.
std::vector<std::string> Docs() {
  std::vector<std::string> docs = {"README.md", "examples/README.md"};
  for (const auto& e : fs::recursive_directory_iterator(fs::path(kSrc) / "docs")) {
    if (e.path().extension() == ".md") docs.push_back(fs::relative(e.path(), kSrc).string());
  }
  std::sort(docs.begin() + 2, docs.end());
  return docs;
}

class DocsThatRun : public ::testing::TestWithParam<std::string> {};

TEST_P(DocsThatRun, EveryMarkedBlockWorksAsWritten) {
  const std::vector<Block> blocks = ParseBlocks(ReadFile(kSrc + "/" + GetParam()));
  DocRunner runner(GetParam());
  for (const auto& failure : runner.Run(blocks)) ADD_FAILURE() << failure;
}

INSTANTIATE_TEST_SUITE_P(Docs, DocsThatRun, ::testing::ValuesIn(Docs()), [](const auto& info) {
  std::string name = info.param;
  for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
});

// The markers themselves: a failing command is reported at its doc line with its exit code and
// stderr; `# exit: N` holds a command to N; output lines are compared after normalising.
TEST(DocsRunner, ReportsTheFailingLineItsExitAndStderr) {
  const auto blocks = ParseBlocks("text\n"
                                  "```sh runnable\n"
                                  "true\n"
                                  "sluice validate -f missing.yaml\n"
                                  "```\n");
  ASSERT_EQ(blocks.size(), 1u);
  auto failures = DocRunner("x.md").Run(blocks);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].rfind("x.md:4: command failed (exit 2), stderr: ", 0), 0u) << failures[0];
  EXPECT_NE(failures[0].find("missing.yaml"), std::string::npos) << failures[0];
}

TEST(DocsRunner, HoldsACommandToItsDocumentedExitCode) {
  const std::string spec = "```yaml file=specs/p.yaml\nkind: Pipeline\n```\n";
  EXPECT_TRUE(DocRunner("x.md")
                  .Run(ParseBlocks(spec + "```sh runnable\nsluice validate -f specs/p.yaml  # exit: 2\n```\n"))
                  .empty());
  auto failures = DocRunner("x.md").Run(
      ParseBlocks(spec + "\n```sh runnable\necho ok\nsluice validate -f specs/p.yaml  # exit: 1\n```\n"));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].rfind("x.md:7: command exited 2, expected exit 1, stderr: ", 0), 0u) << failures[0];
}

TEST(DocsRunner, ComparesOutputLinesInOrderAfterNormalising) {
  const std::string run =
      "```sh runnable\nprintf 'run-2026-11-21T10-00-00Z  at  %s/x\\nid 0123456789abcdef\\nend\\n' \"$PWD\"\n```\n";
  EXPECT_TRUE(
      DocRunner("x.md").Run(ParseBlocks(run + "```text output\nrun-<time> at ./x\nid …\n\nend\n```\n")).empty());
  auto failures = DocRunner("x.md").Run(ParseBlocks(run + "```text output\nend\nid <id>\n```\n"));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("x.md:4: expected output line not printed: 'id <id>'"), std::string::npos) << failures[0];
}

// Which kinds the docs call available, and which not yet, against the registry.
std::optional<Role> RoleOfWord(const std::string& word) {
  if (word.rfind("source", 0) == 0) return Role::kSource;
  if (word.rfind("transform", 0) == 0) return Role::kTransform;
  if (word.rfind("sink", 0) == 0) return Role::kSink;
  return std::nullopt;
}

bool Registered(Role role, const std::string& kind) {
  const auto* k = Builtins().Find(role, kind);
  return k != nullptr && k->compile != nullptr;
}

bool Planned(Role role, const std::string& kind) {
  const auto* k = Builtins().Find(role, kind);
  return k != nullptr && k->compile == nullptr;
}

TEST(DocsOnKinds, AvailableKindsAreRegisteredAndNotAvailableOnesPlanned) {
  std::map<Role, std::set<std::string>> tabled, not_available;
  int tables = 0;
  for (const auto& doc : Docs()) {
    // Paragraphs outside code blocks; a table's rows each count as one.
    std::vector<std::pair<int, std::string>> paragraphs;
    std::istringstream in(ReadFile(kSrc + "/" + doc));
    bool code = false, kinds_table = false;
    std::string text;
    int start = 0;
    for (int n = 1;; ++n) {
      std::string line;
      const bool more = static_cast<bool>(std::getline(in, line));
      if (line.find_first_not_of(' ') != std::string::npos &&
          line.compare(line.find_first_not_of(' '), 3, "```") == 0) {
        code = !code;
      }
      const bool row = line.rfind("|", 0) == 0;
      if (!more || code || line.empty() || row) {
        if (!text.empty()) paragraphs.emplace_back(start, text);
        text.clear();
      }
      if (!more) break;
      if (code) continue;
      if (row) {
        if (line.rfind("| role | kinds |", 0) == 0) {
          kinds_table = true;
          ++tables;
        } else if (kinds_table && line.find("---") == std::string::npos) {
          const std::string word = line.substr(2, line.find(' ', 2) - 2);
          const auto role = RoleOfWord(word);
          EXPECT_TRUE(role) << doc << ":" << n << ": a kinds table row of no role: " << line;
          for (size_t b = line.find('`'); role && b != std::string::npos;
               b = line.find('`', line.find('`', b + 1) + 1)) {
            const std::string kind = line.substr(b + 1, line.find('`', b + 1) - b - 1);
            EXPECT_TRUE(Registered(*role, kind))
                << doc << ":" << n << ": the docs list the " << word << " kind '" << kind
                << "' as available, but the registry has no such kind (src/sluice/components/builtins.cc)";
            tabled[*role].insert(kind);
          }
        }
        continue;
      }
      kinds_table = false;
      if (!line.empty()) {
        if (text.empty()) start = n;
        text += line + " ";
      }
    }
    // "not available": each `kind` there is a planned kind of the role named before it.
    for (const auto& [line, p] : paragraphs) {
      if (p.find("not available") == std::string::npos || p.find("kind") == std::string::npos) continue;
      std::optional<Role> role;
      static const std::regex token(R"(`([^`]+)`|([a-z]+))");
      for (auto it = std::sregex_iterator(p.begin(), p.end(), token); it != std::sregex_iterator(); ++it) {
        if ((*it)[2].matched) {
          if (auto r = RoleOfWord((*it)[2])) role = r;
          continue;
        }
        const std::string kind = (*it)[1];
        static const std::regex kind_name("[a-z][a-z0-9_]*");
        if (!std::regex_match(kind, kind_name)) continue;
        const bool planned = role ? Planned(*role, kind)
                                  : Planned(Role::kSource, kind) || Planned(Role::kTransform, kind) ||
                                        Planned(Role::kSink, kind);
        EXPECT_TRUE(planned) << doc << ":" << line << ": '" << kind
                             << "' is called not available, but it is no planned kind of that role in the registry"
                             << (role && Registered(*role, kind) ? " (it is available)" : "") << ": " << p;
        if (role) not_available[*role].insert(kind);
      }
    }
  }
  EXPECT_EQ(tables, 1) << "one `| role | kinds |` table in the docs (docs/pipeline-spec.md)";
  for (Role role : {Role::kSource, Role::kTransform, Role::kSink}) {
    std::vector<std::string> available = Builtins().Available(role);
    if (role == Role::kTransform) available.push_back("sql");  // a model, not listed in messages
    for (const auto& kind : available) {
      EXPECT_TRUE(tabled[role].count(kind)) << "the " << engine::RoleName(role) << " kind '" << kind
                                            << "' is missing from the kinds table of docs/pipeline-spec.md";
    }
    for (const auto& kind : Builtins().Planned(role)) {
      EXPECT_TRUE(not_available[role].count(kind)) << "the planned " << engine::RoleName(role) << " kind '" << kind
                                                   << "' is not called not available in the docs";
    }
  }
}

}  // namespace
}  // namespace sluice::testing
