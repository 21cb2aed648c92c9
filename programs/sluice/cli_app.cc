// The only translation unit that includes CLI11 (see cli_app.h).
#include "cli_app.h"

#include <CLI/CLI.hpp>

#include <map>

#include "verbs.h"

namespace sluice::cli {

namespace {

const std::map<std::string, OutputFormat> kFormats = {
    {"table", OutputFormat::kTable}, {"json", OutputFormat::kJson}, {"yaml", OutputFormat::kYaml}};

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

Command Command::Subcommand(const std::string& name, const std::string& help) {
  return Command(app_->add_subcommand(name, help), line_);
}

Command& Command::RequireSubcommand() {
  app_->require_subcommand(1);
  return *this;
}

Arg Command::Option(const std::string& names, std::string& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help));
}
Arg Command::Option(const std::string& names, std::optional<std::string>& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help));
}
Arg Command::Option(const std::string& names, std::vector<std::string>& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help));
}
Arg Command::Option(const std::string& names, int& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help));
}
Arg Command::Option(const std::string& names, int64_t& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help));
}
Arg Command::Option(const std::string& names, double& into, const std::string& help) {
  return Arg(app_->add_option(names, into, help));
}

Arg Command::Flag(const std::string& names, bool& into, const std::string& help) {
  return Arg(app_->add_flag(names, into, help));
}

Arg Command::Output(OutputFormat& into, const std::string& help) {
  return Arg(app_->add_option("-o,--output", into, help)
                 ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
                 ->default_str("table"));
}

void Command::Runs(std::function<int()> verb) { line_->verbs_.emplace_back(app_, std::move(verb)); }

CommandLine::CommandLine(const std::string& description)
    : app_(std::make_unique<CLI::App>(description)), root_(app_.get(), this) {}

CommandLine::~CommandLine() = default;

std::optional<int> CommandLine::Parse(int argc, char** argv) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app_->exit(e);
    return rc == 0 ? 0 : kExitInvalid;
  }
  return std::nullopt;
}

int CommandLine::RunChosen() {
  for (auto& [app, verb] : verbs_) {
    if (app->parsed()) return verb();
  }
  return kExitInvalid;
}

}  // namespace sluice::cli
