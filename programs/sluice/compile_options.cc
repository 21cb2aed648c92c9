// The compile options of the laptop's commands: the workdir, and the warehouse of
// $SLUICE_WAREHOUSE_URL when set.
#include "verbs.h"

namespace sluice::cli {

pipeline::CompileOptions MakeCompileOptions(const std::string& workdir, const std::string& lake_root,
                                            const std::vector<std::string>& sets) {
  pipeline::CompileOptions co;
  co.workdir = workdir;
  co.lake_root = lake_root;
  co.overrides = sets;
  if (const char* url = std::getenv("SLUICE_WAREHOUSE_URL")) co.warehouse_url = url;
  return co;
}

}  // namespace sluice::cli
