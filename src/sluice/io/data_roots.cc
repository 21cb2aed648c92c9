#include "sluice/io/data_roots.h"

namespace sluice::io {

namespace fs = std::filesystem;

fs::path ResolvedPath(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) absolute = path;
  fs::path resolved = fs::weakly_canonical(absolute, ec);
  if (ec) resolved = absolute.lexically_normal();
  return resolved;
}

namespace {

// True when `p` is `root` or lies under it (both resolved).
bool Within(const fs::path& p, const fs::path& root) {
  auto pi = p.begin();
  for (auto ri = root.begin(); ri != root.end(); ++ri, ++pi) {
    if (ri->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *ri) return false;
  }
  return true;
}

}  // namespace

DataRoots DataRoots::Confined(std::vector<fs::path> roots) {
  DataRoots r;
  r.confined_ = true;
  for (const auto& root : roots) r.roots_.push_back(ResolvedPath(root));
  return r;
}

Status DataRoots::Check(const std::string& path) const {
  if (!confined_) return Status::OK();
  const fs::path resolved = ResolvedPath(path);
  for (const auto& root : roots_) {
    if (Within(resolved, root)) return Status::OK();
  }
  const fs::path plain = fs::absolute(fs::path(path)).lexically_normal();
  const std::string leads = plain == resolved ? "" : fmt::format(" (it leads to '{}')", resolved.string());
  return Status::FailedPrecondition(
      "path '{}'{} is outside this namespace's data roots ({}); use a path inside them, or ask an admin to grant "
      "a root through a `files` connection of the pipeline's environment",
      path, leads, Describe());
}

std::string DataRoots::Describe() const {
  std::string out;
  for (const auto& root : roots_) {
    if (!out.empty()) out += ", ";
    out += root.string();
  }
  return out;
}

}  // namespace sluice::io
