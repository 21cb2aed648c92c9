// DataRoots: the folders a pipeline may read and write. A pipeline that the server or a worker
// runs acts for its namespace only, and every path it opens — files sources and sinks, dead
// letters, lake tables, the embedded log, checkpoints — must lie inside one of its namespace's
// roots (<data root>/<namespace>, plus roots an admin grants through an environment's `files`
// connections). `sluice run` acts for its user: its DataRoots are unconfined and allow any path.
//
// A path is inside a root when, made absolute and with `..` resolved, and with every symlink of
// the part of it that exists followed, it is the root or lies under it (roots are resolved the
// same way). So `../x`, an absolute path elsewhere, and a symlink inside the root that leads
// out are all refused. The check is made when a spec is compiled and again when a run opens
// the file (a symlink swapped in between is caught then).
// Thread-safety: a value type; Check may be called from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"

namespace sluice::io {

class DataRoots {
 public:
  // Unconfined: every path is allowed (a laptop's `sluice run`).
  DataRoots() = default;
  // Confined to `roots` (at least one; the first is the namespace's own).
  static DataRoots Confined(std::vector<std::filesystem::path> roots);

  bool confined() const { return confined_; }
  const std::vector<std::filesystem::path>& roots() const { return roots_; }

  // OK when `path` is inside a root (always, when unconfined); FailedPrecondition otherwise, with
  // a message naming the path as given, where it leads when that differs, and the roots.
  Status Check(const std::string& path) const;
  // The roots as text for messages: "/srv/data/team, /mnt/shared".
  std::string Describe() const;

 private:
  bool confined_ = false;
  std::vector<std::filesystem::path> roots_;  // resolved (absolute, symlinks followed)
};

// `path` made absolute, `..` resolved and the symlinks of its existing part followed.
std::filesystem::path ResolvedPath(const std::filesystem::path& path);

}  // namespace sluice::io
