// The command line of `sluice`, as the verb files declare it: a thin layer over CLI11, which only
// cli_app.cc includes (it is a large header-only library; one translation unit pays for it
// instead of every verb file). Each verb file has one registration function (verbs.h) that adds
// its subcommands with their options and says, with Runs, what each one runs.
//
// The calls map one to one onto CLI11's (add_subcommand, add_option, add_flag, required, check,
// default_val, default_str, ...), so what `--help` prints and how flags parse is CLI11's. What a
// rejected command line answers is answer.h's: an unknown command lists the commands with a
// did-you-mean, an unknown option gets a did-you-mean among the command's options, on stderr,
// in the format of -o (read from argv when parsing failed), exit 2. Every command that runs
// something has -o (CommandLine adds one, for its errors, to a command that declares none).
// Thread-safety: none; the command line is built and parsed on the main thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sluice::cli {

enum class OutputFormat;
class CommandLine;

// One option or flag of a command (a CLI::Option).
class Arg {
 public:
  Arg& Required(bool required = true);
  // Checks (CLI::ExistingFile, CLI::Range, CLI::IsMember).
  Arg& ExistingFile();
  Arg& InRange(int min, int max);
  Arg& OneOf(std::vector<const char*> values);
  // What --help shows as the default (default_str), or that and a check of it (default_val).
  Arg& DefaultStr(const std::string& text);
  Arg& DefaultVal(const std::string& value);
  Arg& DefaultVal(int value);
  // The value is a credential (a token): when given on the command line, a warning on stderr
  // says so and what to use `instead` (other users can read a process's arguments, and shells
  // keep them in their history).
  Arg& Credential(const std::string& instead);
  // The value may embed a password (postgresql://user:PASSWORD@host/db, password=...): when it
  // does, the same warning.
  Arg& MayHoldPassword(const std::string& instead);

 private:
  friend class Command;
  Arg(CLI::Option* option, CommandLine* line) : option_(option), line_(line) {}
  CLI::Option* option_;
  CommandLine* line_;
};

// A command or subcommand (a CLI::App).
class Command {
 public:
  Command Subcommand(const std::string& name, const std::string& help);
  // Exactly one subcommand must follow.
  Command& RequireSubcommand();

  // An option with a value; `names` as CLI11 takes them ("-f,--file", "--limit", "pipeline" for a
  // positional). The value lands in `into`, which must outlive parsing.
  Arg Option(const std::string& names, std::string& into, const std::string& help);
  Arg Option(const std::string& names, std::optional<std::string>& into, const std::string& help);
  Arg Option(const std::string& names, std::vector<std::string>& into, const std::string& help);
  Arg Option(const std::string& names, int& into, const std::string& help);
  Arg Option(const std::string& names, int64_t& into, const std::string& help);
  Arg Option(const std::string& names, double& into, const std::string& help);
  Arg Flag(const std::string& names, bool& into, const std::string& help);
  // -o,--output: table, json or yaml (any case); the default shown is "table". The chosen
  // command's -o is also the format of its errors (SetErrorFormat).
  Arg Output(OutputFormat& into, const std::string& help = "Output format: table, json or yaml");
  // --version on this command: prints what `text` returns on stdout and exits 0.
  void VersionFlag(const std::string& names, std::function<std::string()> text, const std::string& help);

  // What this command runs when the command line chose it; its result is the exit code.
  void Runs(std::function<int()> verb);

 private:
  friend class CommandLine;
  Command(CLI::App* app, CommandLine* line) : app_(app), line_(line) {}
  CLI::App* app_;
  CommandLine* line_;
};

// The whole command line: the root command, parsing, and the chosen command's verb.
class CommandLine {
 public:
  explicit CommandLine(const std::string& description);
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  Command& root() { return root_; }
  // Parses argv. For --help or --version, prints them on stdout and returns 0; for a command line
  // it rejects, answers the error (answer.h) and returns 2; nullopt when a command was chosen
  // (after setting the error format to its -o and warning about the credentials it carries, see
  // Arg::Credential).
  std::optional<int> Parse(int argc, char** argv);
  // Runs the chosen command's verb (2 when none was chosen).
  int RunChosen();

 private:
  friend class Command;
  friend class Arg;
  // An option declared with Arg::Credential (always) or Arg::MayHoldPassword.
  struct CredentialOption {
    CLI::Option* option;
    bool always;
    std::string instead;
  };
  void WarnAboutCredentials() const;
  // Gives every command that runs something an -o (for its errors) when it declared none.
  void AddMissingOutputs();
  // The error of a command line that did not parse: an unknown or missing command, an unknown
  // option or argument, or what CLI11 says. Returns 2.
  int ReportParseError(const std::string& what);

  std::unique_ptr<CLI::App> app_;
  Command root_;
  std::vector<std::pair<CLI::App*, std::function<int()>>> verbs_;
  std::vector<CredentialOption> credentials_;
  std::vector<std::pair<CLI::App*, OutputFormat*>> outputs_;  // each command's -o
  std::vector<std::unique_ptr<OutputFormat>> added_outputs_;  // those AddMissingOutputs added
};

}  // namespace sluice::cli
