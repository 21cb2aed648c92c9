// sluice: one binary for the whole platform. This file only parses the command line.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>

#include "sluice/base/logging.h"
#include "verbs.h"

namespace {

using sluice::cli::OutputFormat;

const std::map<std::string, OutputFormat> kFormats = {
    {"table", OutputFormat::kTable}, {"json", OutputFormat::kJson}, {"yaml", OutputFormat::kYaml}};

void AddSpecFlags(CLI::App* cmd, sluice::cli::SpecOptions& o, bool with_workdir) {
  cmd->add_option("-f,--file", o.file, "Pipeline spec (YAML)")->required()->check(CLI::ExistingFile);
  if (with_workdir) {
    cmd->add_option("--workdir", o.workdir, "Where runs keep their lake, warehouse, state and dead letters")
        ->default_val(".sluice");
  }
  cmd->add_option("--set", o.sets, "Override a spec value: --set spec.sources.raw.path=data/*.json (repeatable)");
  cmd->add_option("-o,--output", o.output, "Output format: table, json or yaml")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
      ->default_str("table");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice — declare a data pipeline once; ingest, validate, transform and land it.\n"
               "Run 'sluice COMMAND --help' for the flags of a command."};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log progress and decisions to stderr");

  sluice::cli::SpecOptions validate_opts, plan_opts, run_opts;
  auto* validate = app.add_subcommand("validate", "Check a spec: keys, types, expressions, inputs. Exit 0 if valid, 2 with FILE:LINE: COMPONENT: message per problem");
  AddSpecFlags(validate, validate_opts, false);

  auto* plan = app.add_subcommand("plan", "Compile a spec and print its plan: the DAG, the schema on every edge, state per operator");
  AddSpecFlags(plan, plan_opts, true);

  sluice::cli::RunFlags run_flags;
  auto* run = app.add_subcommand("run", "Run a pipeline locally, without a server. Prints per-component counts (in, out, dead_letter, dropped)");
  AddSpecFlags(run, run_opts, true);
  run->add_flag("--progress", run_flags.progress, "Print progress to stderr every 2 s (default when stderr is a terminal)");
  run->add_flag("-q,--quiet", run_flags.quiet, "Print nothing on success");

  sluice::cli::TestOptions test_opts;
  auto* test = app.add_subcommand("test", "Run spec tests kept as data: <dir>/{pipeline.yaml, input/, expected/}. Exit 0 if all pass, 1 if any fails");
  test->add_option("-f,--file,paths", test_opts.paths, "pipeline.yaml files, test directories, or a folder of test directories")->required();
  test->add_option("-o,--output", test_opts.output, "Output format: table, json or yaml")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case))
      ->default_str("table");
  test->add_flag("--keep", test_opts.keep, "Keep each test's working directory for inspection");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : sluice::cli::kExitInvalid;
  }
  if (verbose) sluice::log::SetLevel(sluice::log::Level::kInfo);

  if (*validate) return sluice::cli::Validate(validate_opts);
  if (*plan) return sluice::cli::Plan(plan_opts);
  if (*run) return sluice::cli::Run(run_opts, run_flags);
  if (*test) return sluice::cli::Test(test_opts);
  return sluice::cli::kExitInvalid;
}
