#include "sluice/io/workdir.h"

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

}  // namespace sluice
