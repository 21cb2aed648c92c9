#include "sluice/engine/exec/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/engine/kernels/snapshot_codec.h"
#include "sluice/io/file_system.h"

namespace sluice::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kMagic = "SLCK";
constexpr int64_t kFormatVersion = 1;

// Epoch numbers sort as text: zero-padded to 20 digits.
std::string EpochName(int64_t epoch) { return fmt::format("{:020d}", epoch); }

std::optional<int64_t> ParseEpochName(const std::string& stem) {
  if (stem.size() != 20 || !std::all_of(stem.begin(), stem.end(), ::isdigit)) return std::nullopt;
  return std::stoll(stem);
}

// Epochs that have a file with `ext` in `dir`, ascending.
std::vector<int64_t> ListEpochs(const std::string& dir, const std::string& ext) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ext) continue;
    if (auto e = ParseEpochName(it->path().stem().string())) out.push_back(*e);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string CheckpointStore::OffsetsPath(int64_t epoch) const {
  return (fs::path(dir_) / "offsets" / (EpochName(epoch) + ".json")).string();
}
std::string CheckpointStore::StatePath(int64_t epoch) const {
  return (fs::path(dir_) / "state" / (EpochName(epoch) + ".ckpt")).string();
}

namespace {

// The generation recorded in `path` (0 when there is none yet).
Result<int64_t> ReadFence(const std::string& path) {
  if (!fs::exists(path)) return int64_t{0};
  SLUICE_ASSIGN_OR_RETURN(auto text, io::ReadFile(path, 0));
  const std::string_view digits = Trim(text.view());
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return Status::DataError("{}: not a lease generation; the file is damaged", path);
  }
  return value;
}

Status Superseded(const std::string& dir, int64_t mine, int64_t newer) {
  return Status::FailedPrecondition(
      "checkpoint {}: lease generation {} has taken this pipeline over (this run holds {}); the worker lost its "
      "lease and stops without writing",
      dir, newer, mine);
}

}  // namespace

Status CheckpointStore::Fence() const {
  if (fence_ <= 0) return Status::OK();
  SLUICE_RETURN_IF_ERROR(io::MakeDirs(dir_));
  SLUICE_ASSIGN_OR_RETURN(io::FileLock lock, io::FileLock::Acquire((fs::path(dir_) / "fence.lock").string()));
  const std::string path = (fs::path(dir_) / "fence").string();
  SLUICE_ASSIGN_OR_RETURN(int64_t recorded, ReadFence(path));
  if (recorded > fence_) return Superseded(dir_, fence_, recorded);
  if (recorded == fence_) return Status::OK();
  return io::WriteFileAtomic(path, std::to_string(fence_) + "\n")
      .WithContext("checkpoint: recording the lease generation");
}

Status CheckpointStore::Fenced(const std::function<Status()>& write) const {
  if (fence_ <= 0) return write();
  SLUICE_ASSIGN_OR_RETURN(io::FileLock lock, io::FileLock::Acquire((fs::path(dir_) / "fence.lock").string()));
  SLUICE_ASSIGN_OR_RETURN(int64_t recorded, ReadFence((fs::path(dir_) / "fence").string()));
  if (recorded > fence_) return Superseded(dir_, fence_, recorded);
  return write();
}

Status CheckpointStore::WriteOffsets(const EpochOffsets& o) const {
  json j;
  j["format"] = kFormatVersion;
  j["epoch"] = o.epoch;
  j["watermark"] = o.watermark;
  j["time"] = o.time_micros;
  j["final"] = o.final;
  j["end"] = json::object();
  for (const auto& [src, parts] : o.end) {
    json p = json::object();
    for (const auto& [id, off] : parts) p[std::to_string(id)] = off;
    j["end"][src] = p;
  }
  // Source names are listed once; a run is [source index, partition, end].
  std::vector<std::string> names;
  for (const auto& [src, parts] : o.end) names.push_back(src);
  json order = json::array();
  for (const auto& r : o.order) {
    auto it = std::find(names.begin(), names.end(), r.source);
    if (it == names.end()) it = names.insert(names.end(), r.source);
    order.push_back({it - names.begin(), r.partition, r.end});
  }
  j["sources"] = names;
  j["order"] = std::move(order);
  return Fenced([&] {
    return io::WriteFileAtomic(OffsetsPath(o.epoch), j.dump(1) + "\n")
        .WithContext("checkpoint: writing the offsets of epoch " + std::to_string(o.epoch));
  });
}

Result<std::optional<EpochOffsets>> CheckpointStore::LoadOffsets(int64_t epoch) const {
  const std::string path = OffsetsPath(epoch);
  if (!fs::exists(path)) return std::optional<EpochOffsets>();
  SLUICE_ASSIGN_OR_RETURN(auto text, io::ReadFile(path, 0));
  json j = json::parse(text.view(), nullptr, false);
  auto bad = [&](std::string_view what) {
    return Status::DataError("{}: {}; the file is damaged (restore it from a backup, or remove the checkpoint "
                             "directory {} to start the pipeline over)", path, what, dir_);
  };
  if (!j.is_object()) return bad("not a JSON object");
  if (j.value("format", int64_t{0}) != kFormatVersion) return bad("unknown format version");
  EpochOffsets o;
  try {
    o.epoch = j.at("epoch").get<int64_t>();
    o.watermark = j.at("watermark").get<int64_t>();
    o.time_micros = j.at("time").get<int64_t>();
    o.final = j.at("final").get<bool>();
    for (auto& [src, parts] : j.at("end").items()) {
      for (auto& [id, off] : parts.items()) o.end[src][std::stoi(id)] = off.get<int64_t>();
    }
    if (j.contains("order")) {
      const auto names = j.at("sources").get<std::vector<std::string>>();
      for (const auto& r : j.at("order")) {
        const auto s = r.at(0).get<size_t>();
        if (s >= names.size()) return bad("a run names source " + std::to_string(s) + " of " + std::to_string(names.size()));
        o.order.push_back({names[s], r.at(1).get<int32_t>(), r.at(2).get<int64_t>()});
      }
    }
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  if (o.epoch != epoch) return bad("it names epoch " + std::to_string(o.epoch));
  return std::optional<EpochOffsets>(std::move(o));
}

std::string CheckpointStore::EncodeCheckpoint(const Checkpoint& c) {
  json meta;
  meta["epoch"] = c.epoch;
  meta["watermark"] = c.watermark;
  meta["sources"] = json::object();
  for (const auto& [src, parts] : c.sources) {
    json p = json::object();
    for (const auto& [id, prog] : parts) {
      p[std::to_string(id)] = {{"next", prog.next}, {"max_event_time", prog.max_event_time}};
    }
    meta["sources"][src] = p;
  }
  meta["counters"] = json::object();
  for (const auto& [name, k] : c.counters) {
    meta["counters"][name] = {k.in, k.out, k.dead_letter, k.dropped, k.warnings, k.late};
  }
  std::string out;
  kernels::SnapshotWriter w(out, kMagic, kFormatVersion);
  w.PutBytes(meta.dump());
  w.PutU64(c.state.size());
  for (const auto& [name, blob] : c.state) {
    w.PutBytes(name);
    w.PutBytes(blob);
  }
  w.Finish();
  return out;
}

Result<Checkpoint> CheckpointStore::DecodeCheckpoint(std::string_view data, const std::string& file) {
  auto bad = [&](std::string_view what) {
    return Status::DataError("checkpoint {} is damaged: {}; remove it to fall back to the one before, or remove "
                             "the checkpoint directory to start the pipeline over", file, what);
  };
  auto opened = kernels::OpenSnapshot(data, kMagic, kFormatVersion, "checkpoint " + file);
  if (!opened.ok()) return bad(opened.status().message());
  kernels::SnapshotReader& r = *opened;
  auto meta_text = r.ReadBytes();
  if (!meta_text.ok()) return bad(meta_text.status().message());
  Checkpoint c;
  json meta = json::parse(*meta_text, nullptr, false);
  if (!meta.is_object()) return bad("metadata is not JSON");
  try {
    c.epoch = meta.at("epoch").get<int64_t>();
    c.watermark = meta.at("watermark").get<int64_t>();
    for (auto& [src, parts] : meta.at("sources").items()) {
      for (auto& [id, p] : parts.items()) {
        PartitionProgress prog;
        prog.next = p.at("next").get<int64_t>();
        prog.max_event_time = p.at("max_event_time").get<int64_t>();
        c.sources[src][std::stoi(id)] = prog;
      }
    }
    for (auto& [name, k] : meta.at("counters").items()) {
      NodeCounters n;
      n.in = k.at(0);
      n.out = k.at(1);
      n.dead_letter = k.at(2);
      n.dropped = k.at(3);
      n.warnings = k.at(4);
      n.late = k.at(5);
      c.counters[name] = n;
    }
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  auto n = r.ReadCount(8, "state sections");
  if (!n.ok()) return bad(n.status().message());
  for (size_t i = 0; i < *n; ++i) {
    auto name = r.ReadBytes();
    if (!name.ok()) return bad(name.status().message());
    auto blob = r.ReadBytes();
    if (!blob.ok()) return bad(blob.status().message());
    c.state[std::string(*name)] = std::string(*blob);
  }
  if (auto st = r.ExpectEnd(); !st.ok()) return bad(st.message());
  return c;
}

Result<std::optional<Checkpoint>> CheckpointStore::LoadLatest() const {
  auto epochs = ListEpochs((fs::path(dir_) / "state").string(), ".ckpt");
  if (epochs.empty()) return std::optional<Checkpoint>();
  const std::string path = StatePath(epochs.back());
  SLUICE_ASSIGN_OR_RETURN(auto data, io::ReadFile(path, 0));
  SLUICE_ASSIGN_OR_RETURN(Checkpoint c, DecodeCheckpoint(data.view(), path));
  if (c.epoch != epochs.back()) return Status::DataError("checkpoint {} names epoch {}", path, c.epoch);
  return std::optional<Checkpoint>(std::move(c));
}

Status CheckpointStore::WriteCheckpoint(const Checkpoint& c) const {
  SLUICE_RETURN_IF_ERROR(Fenced([&] {
    return io::WriteFileAtomic(StatePath(c.epoch), EncodeCheckpoint(c))
        .WithContext("checkpoint: writing the state of epoch " + std::to_string(c.epoch));
  }));
  // Keep this checkpoint and the one before; offsets of epochs after the older one stay too.
  const int64_t keep_from = c.epoch - 1;
  std::error_code ec;
  for (int64_t e : ListEpochs((fs::path(dir_) / "state").string(), ".ckpt")) {
    if (e < keep_from) fs::remove(StatePath(e), ec);
  }
  for (int64_t e : ListEpochs((fs::path(dir_) / "offsets").string(), ".json")) {
    if (e < keep_from) fs::remove(OffsetsPath(e), ec);
  }
  return Status::OK();
}

}  // namespace sluice::engine
