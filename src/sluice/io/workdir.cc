#include "sluice/io/workdir.h"

#include <random>

#include "sluice/base/digest.h"
#include "sluice/base/strings.h"
#include "sluice/io/file_system.h"

namespace sluice {

std::filesystem::path Workdir::Lake() const { return root_ / "lake"; }

std::filesystem::path Workdir::Log() const { return root_ / "log"; }

std::filesystem::path Workdir::WarehouseDb() const { return root_ / "warehouse.db"; }

std::string Workdir::DefaultWarehouseUrl() const { return "sqlite:" + WarehouseDb().string(); }

std::filesystem::path Workdir::MetadataDb() const { return root_.string() + "/meta.db"; }

std::string Workdir::DefaultMetadataUrl() const { return "sqlite:" + MetadataDb().string(); }

std::filesystem::path Workdir::SecretKeyFile() const { return root_.string() + "/secret.key"; }

std::filesystem::path Workdir::Checkpoints(std::string_view pipeline) const { return root_ / "checkpoints" / pipeline; }

std::filesystem::path Workdir::DeadLetters(std::string_view pipeline) const { return root_ / "dead_letters" / pipeline; }

std::filesystem::path Workdir::BatchDeadLetterFile(std::string_view pipeline, std::string_view run_id) const {
  return root_.string() + "/dead_letters/" + std::string(pipeline) + "/" + std::string(run_id) + ".ndjson";
}

std::filesystem::path Workdir::SinkIntent(std::string_view pipeline, std::string_view sink) const {
  return root_ / "sinks" / pipeline / (std::string(sink) + ".json");
}

std::filesystem::path Workdir::Replay(std::string_view pipeline, std::string_view replay_id) const {
  return root_ / "replays" / pipeline / replay_id;
}

std::filesystem::path Workdir::DataRoot() const { return root_ / "data"; }

Workdir NamespaceWorkdir(const std::filesystem::path& data_root, std::string_view ns) {
  return Workdir(data_root / ns);
}

std::filesystem::path DataRootIdFile(const std::filesystem::path& data_root) { return data_root / ".sluice-data-root"; }

Result<std::optional<std::string>> ReadDataRootId(const std::filesystem::path& data_root) {
  const std::string path = DataRootIdFile(data_root).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  SLUICE_ASSIGN_OR_RETURN(auto text, io::ReadFile(path, 0));
  const std::string id(Trim(text.view()));
  if (id.empty())
    return Status::DataError("{}: empty; remove it and restart the server to give the data root a new id", path);
  return std::optional<std::string>(id);
}

Result<std::string> EnsureDataRootId(const std::filesystem::path& data_root) {
  SLUICE_ASSIGN_OR_RETURN(auto existing, ReadDataRootId(data_root));
  if (existing) return *existing;
  std::random_device rd;
  std::string bytes;
  for (int i = 0; i < 16; ++i) bytes.push_back(static_cast<char>(rd() & 0xff));
  const std::string id = HexEncode(bytes);
  SLUICE_RETURN_IF_ERROR(io::MakeDirs(data_root.string()));
  const std::string path = DataRootIdFile(data_root).string();
  const std::string tmp = path + ".tmp-" + id;
  SLUICE_RETURN_IF_ERROR(io::WriteFileAtomic(tmp, id + "\n"));
  Status linked = io::LinkDurably(tmp, path);
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  if (linked.code() == StatusCode::kAlreadyExists) {  // another process gave it its id first
    SLUICE_ASSIGN_OR_RETURN(auto theirs, ReadDataRootId(data_root));
    if (theirs) return *theirs;
  }
  SLUICE_RETURN_IF_ERROR(linked);
  return id;
}

}  // namespace sluice
