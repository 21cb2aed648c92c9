// sluice: one binary for the whole platform. This file builds the command line from each verb
// file's registration function, parses it and runs the chosen verb.
#include "cli_app.h"
#include "sluice/base/logging.h"
#include "verbs.h"

int main(int argc, char** argv) {
  sluice::cli::CommandLine line("sluice — declare a data pipeline once; ingest, validate, transform and land it.\n"
                                "Run 'sluice COMMAND --help' for the flags of a command.");
  sluice::cli::Command& app = line.root();
  app.RequireSubcommand();
  bool verbose = false;
  app.Flag("-v,--verbose", verbose, "Log progress and decisions to stderr");

  sluice::cli::AddRunVerbs(app);
  sluice::cli::AddLakeVerbs(app);
  sluice::cli::AddLogVerbs(app);
  sluice::cli::AddServeVerb(app);
  sluice::cli::AddWorkerVerb(app);
  sluice::cli::AddClientVerbs(app);
  sluice::cli::AddSecurityVerbs(app);
  sluice::cli::AddOpsVerbs(app);
  sluice::cli::AddTestVerb(app);
  sluice::cli::AddVersionVerb(app);

  if (auto exit_code = line.Parse(argc, argv)) return *exit_code;
  if (verbose) sluice::log::SetLevel(sluice::log::Level::kInfo);
  return line.RunChosen();
}
