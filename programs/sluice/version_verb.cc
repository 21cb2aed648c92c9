// sluice version and sluice --version: what build this is. The only file that includes the
// generated build_info.h (programs/sluice/CMakeLists.txt), so a new commit recompiles only it.
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "build_info.h"
#include "cli_app.h"
#include "verbs.h"

namespace sluice::cli {

namespace {

struct VersionOptions {
  OutputFormat output = OutputFormat::kTable;
};

std::string CommitText() {
  std::string commit = build_info::kCommit;
  if (build_info::kDirty.value_or(false)) commit += " (with uncommitted changes)";
  return commit;
}

int Version(const VersionOptions& o) {
  nlohmann::ordered_json j = {{"version", build_info::kVersion},
                              {"commit", build_info::kCommit},
                              {"dirty", build_info::kDirty ? nlohmann::ordered_json(*build_info::kDirty) : nullptr},
                              {"build_type", build_info::kBuildType}};
  PrintDocument(j.dump(2), o.output,
                fmt::format("sluice {}\ncommit      {}\nbuild type  {}\n", build_info::kVersion, CommitText(),
                            build_info::kBuildType));
  return kExitOk;
}

}  // namespace

void AddVersionVerb(Command& app) {
  app.VersionFlag(
      "--version",
      [] {
        const std::string commit = build_info::kCommit;
        return fmt::format("sluice {} (commit {}{})", build_info::kVersion,
                           commit == "unknown" ? commit : commit.substr(0, 12),
                           build_info::kDirty.value_or(false) ? ", with uncommitted changes" : "");
      },
      "Print the version and exit (`sluice version` adds the commit and build type)");
  auto o = std::make_shared<VersionOptions>();
  Command version = app.Subcommand("version", "Print the version, the git commit it was built from and the build type");
  version.Output(o->output);
  version.Runs([o] { return Version(*o); });
}

}  // namespace sluice::cli
