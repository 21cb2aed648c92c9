// The only translation unit that includes CLI11 (see cli_app.h).
#include "cli_app.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "sluice/base/strings.h"
#include "verbs.h"

namespace sluice::cli {

namespace {

const std::map<std::string, OutputFormat> kFormats = {
    {"table", OutputFormat::kTable}, {"json", OutputFormat::kJson}, {"yaml", OutputFormat::kYaml}};

// The -o of argv as written (the last one; before a "--"): the error format when argv does not
// parse. -o X, -oX, --output X, --output=X; X any case.
OutputFormat FormatInArgv(int argc, char** argv) {
  OutputFormat format = OutputFormat::kTable;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    std::string value;
    if ((a == "-o" || a == "--output") && i + 1 < argc) {
      value = argv[i + 1];
    } else if (a.starts_with("--output=")) {
      value = a.substr(9);
    } else if (a.starts_with("-o") && a.size() > 2 && a[2] != '-') {
      value = a.substr(2);
    } else {
      continue;
    }
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
    if (auto it = kFormats.find(value); it != kFormats.end()) format = it->second;
  }
  return format;
}

// "sluice lake" for the lake command.
std::string PathOf(const CLI::App* app) {
  std::string path;
  for (; app != nullptr; app = app->get_parent()) {
    path = (app->get_parent() == nullptr ? std::string("sluice") : app->get_name()) + (path.empty() ? "" : " " + path);
  }
  return path;
}

// A password inside a value: the userinfo of a URL (scheme://user:PASSWORD@host) or a
// key=value connection string's password=.
bool HoldsPassword(const std::string& value) {
  std::string lower = value;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return RedactUrlPassword(value) != value || lower.find("password=") != std::string::npos;
}

}  // namespace

Arg& Arg::Required(bool required) {
  option_->required(required);
  return *this;
}

Arg& Arg::ExistingFile() {
  option_->check(CLI::ExistingFile);
  return *this;
}

Arg& Arg::InRange(int min, int max) {
  option_->check(CLI::Range(min, max));
  return *this;
}

Arg& Arg::OneOf(std::vector<const char*> values) {
  option_->check(CLI::IsMember(std::move(values)));
  return *this;
}

Arg& Arg::DefaultStr(const std::string& text) {
  option_->default_str(text);
  return *this;
}

Arg& Arg::DefaultVal(const std::string& value) {
  option_->default_val(value);
  return *this;
}

Arg& Arg::DefaultVal(int value) {
  option_->default_val(value);
  return *this;
}

Arg& Arg::Credential(const std::string& instead) {
  line_->credentials_.push_back({option_, /*always=*/true, instead});
  return *this;
}

Arg& Arg::MayHoldPassword(const std::string& instead) {
  line_->credentials_.push_back({option_, /*always=*/false, instead});
  return *this;
}

Command Command::Subcommand(const std::string& name, const std::string& help) {
  return Command(app_->add_subcommand(name, help), line_);
}

Command& Command::RequireSubcommand() {
  app_->require_subcommand(1);
  return *this;
}

Arg Command::Option(const std::string& names, std::string& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help), line_);
}
Arg Command::Option(const std::string& names, std::optional<std::string>& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help), line_);
}
Arg Command::Option(const std::string& names, std::vector<std::string>& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help), line_);
}
Arg Command::Option(const std::string& names, int& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help), line_);
}
Arg Command::Option(const std::string& names, int64_t& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help), line_);
}
Arg Command::Option(const std::string& names, double& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help), line_);
}

Arg Command::Flag(const std::string& names, bool& into, const std::string& help) {
  return Arg(app_->add_flag(names, into, help), line_);
}

Arg Command::Output(OutputFormat& into, const std::string& help) {
  line_->outputs_.emplace_back(app_, &into);
  return Arg(app_->add_option("-o,--output", into, help)
                 ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
                 ->default_str("table"),
             line_);
}

void Command::VersionFlag(const std::string& names, std::function<std::string()> text, const std::string& help) {
  app_->set_version_flag(names, std::move(text), help);
}

void Command::Runs(std::function<int()> verb) { line_->verbs_.emplace_back(app_, std::move(verb)); }

CommandLine::CommandLine(const std::string& description)
    : app_(std::make_unique<CLI::App>(description)), root_(app_.get(), this) {}

CommandLine::~CommandLine() = default;

std::optional<int> CommandLine::Parse(int argc, char** argv) {
  AddMissingOutputs();
  SetErrorFormat(FormatInArgv(argc, argv));
  try {
    app_->parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app_->exit(e);  // the help, on stdout
  } catch (const CLI::CallForAllHelp& e) {
    return app_->exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app_->exit(e);  // the version, on stdout
  } catch (const CLI::ParseError& e) {
    return ReportParseError(e.what());
  }
  for (const auto& [app, format] : outputs_) {
    if (app->parsed()) SetErrorFormat(*format);
  }
  WarnAboutCredentials();
  return std::nullopt;
}

void CommandLine::AddMissingOutputs() {
  for (const auto& [app, verb] : verbs_) {
    if (app->get_option_no_throw("--output") != nullptr) continue;
    added_outputs_.push_back(std::make_unique<OutputFormat>(OutputFormat::kTable));
    Command(app, this).Output(
        *added_outputs_.back(),
        "Output format of an error: table, json or yaml (this command prints no result document)");
  }
}

int CommandLine::ReportParseError(const std::string& what) {
  // The deepest command the parser reached, and what it could not place.
  CLI::App* app = app_.get();
  while (!app->get_subcommands().empty()) app = app->get_subcommands().front();
  const std::vector<std::string> left = app->remaining();
  const std::string path = PathOf(app);
  const std::vector<CLI::App*> commands = app->get_subcommands([](CLI::App*) { return true; });
  if (!commands.empty()) {
    // A command with subcommands, none of them chosen: name them.
    std::vector<std::string> names;
    for (const CLI::App* c : commands) names.push_back(c->get_name());
    const std::string hint = "The commands of " + path + ": " + Join(names, ", ") + ".\nRun '" + path +
                             " --help' for what each does.";
    const auto word = std::find_if(left.begin(), left.end(), [](const std::string& a) { return !a.starts_with("-"); });
    std::string message;
    std::string_view code = codes::kUnknownCommand;
    if (!left.empty() && left.front().starts_with("-")) {
      message = "unknown option '" + left.front() + "' of " + path + " (a command's own options go after it)";
      code = codes::kUsage;
    } else if (word != left.end()) {
      message = "unknown command '" + *word + "'";
      if (const std::string near = DidYouMean(*word, names); !near.empty()) {
        message += ": did you mean '" + near + "'?";
      }
    } else {
      message = path + " needs a command";
    }
    return Fail(Failure{.code = code, .message = message, .exit_code = kExitInvalid, .hint = hint});
  }
  std::string message = what;
  const auto flag = std::find_if(left.begin(), left.end(), [](const std::string& a) { return a.starts_with("-"); });
  if (flag != left.end()) {
    // An option this command does not have: the nearest one it has.
    const std::string name = flag->substr(0, flag->find('='));
    std::vector<std::string> options;
    for (const CLI::Option* opt : app->get_options()) {
      for (const std::string& l : opt->get_lnames()) options.push_back("--" + l);
      for (const std::string& n : opt->get_snames()) options.push_back("-" + n);
    }
    // (A one-letter option is a letter away from every other: no guess for those.)
    message = "unknown option '" + name + "' of " + path + (name.size() > 2 ? DidYouMeanSuffix(name, options) : "");
  } else if (!left.empty()) {
    message = "unexpected argument '" + left.front() + "' of " + path;
  }
  return Fail(Failure{.code = codes::kUsage,
                      .message = message,
                      .exit_code = kExitInvalid,
                      .hint = "Run '" + path + " --help' for its flags."});
}

void CommandLine::WarnAboutCredentials() const {
  for (const auto& c : credentials_) {
    if (c.option->count() == 0) continue;
    bool found = false;
    for (const std::string& value : c.option->results()) {
      found = found || (c.always ? !value.empty() : HoldsPassword(value));
    }
    if (!found) continue;
    std::fprintf(stderr,
                 "sluice: warning: %s puts a %s on the command line, where other users of this machine can read it "
                 "(ps, /proc) and the shell history keeps it; %s\n",
                 c.option->get_name().c_str(), c.always ? "credential" : "password", c.instead.c_str());
  }
}

int CommandLine::RunChosen() {
  for (auto& [app, verb] : verbs_) {
    if (app->parsed()) return verb();
  }
  return kExitInvalid;
}

}  // namespace sluice::cli
