#include "sluice/log/log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <system_error>

#include "sluice/base/clock.h"
#include "sluice/io/file_system.h"
#include "sluice/log/crc32c.h"
#include "sluice/log/format.h"

namespace sluice::log {
namespace {

namespace fs = std::filesystem;
using namespace format;

void PutU16(char* p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string SegmentPath(const std::string& dir, int64_t base, const char* suffix) {
  return fmt::format("{}/{:0{}d}{}", dir, base, kOffsetDigits, suffix);
}

// A batch: header followed by varint-length-prefixed records.
std::string EncodeBatch(int64_t first_offset, const std::vector<std::string_view>& records) {
  size_t payload = 0;
  for (auto r : records) {
    payload += r.size() + 1;
    for (uint64_t v = r.size(); v >= 0x80; v >>= 7) ++payload;
  }
  std::string out(kBatchHeaderBytes, '\0');
  out.reserve(kBatchHeaderBytes + payload);
  PutU32(&out[kMagicPos], kBatchMagic);
  out[kVersionPos] = static_cast<char>(kBatchVersion);
  out[kFlagsPos] = 0;
  PutU16(&out[6], 0);
  PutU32(&out[kRecordCountPos], static_cast<uint32_t>(records.size()));
  PutU64(&out[kFirstOffsetPos], static_cast<uint64_t>(first_offset));
  PutU32(&out[kPayloadLengthPos], static_cast<uint32_t>(payload));
  for (auto r : records) {
    uint64_t v = r.size();
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
    out.append(r);
  }
  uint32_t crc = crc32c::Value(out.data(), kCrcPos);
  crc = crc32c::Extend(crc, out.data() + kBatchHeaderBytes, payload);
  PutU32(&out[kCrcPos], crc);
  return out;
}

struct BatchHeader {
  uint32_t record_count = 0;
  int64_t first_offset = 0;
  uint32_t payload_length = 0;
  uint32_t crc = 0;
};

// Checks the fields that do not need the payload; returns a reason or "".
std::string ParseHeader(const char* h, BatchHeader* out) {
  if (GetU32(h + kMagicPos) != kBatchMagic) return "bad magic";
  if (static_cast<uint8_t>(h[kVersionPos]) != kBatchVersion) {
    return fmt::format("unknown version {}", static_cast<uint8_t>(h[kVersionPos]));
  }
  out->record_count = GetU32(h + kRecordCountPos);
  out->first_offset = static_cast<int64_t>(GetU64(h + kFirstOffsetPos));
  out->payload_length = GetU32(h + kPayloadLengthPos);
  out->crc = GetU32(h + kCrcPos);
  if (out->record_count == 0) return "zero records";
  if (out->payload_length > kMaxPayloadBytes) {
    return fmt::format("payload length {} exceeds {}", out->payload_length, kMaxPayloadBytes);
  }
  return "";
}

// Checks the CRC and splits the payload. Records with offsets below min_offset are skipped and
// at most `max` are added; `out` may be null to only validate.
std::string DecodePayload(const char* header, const BatchHeader& h, std::string_view payload,
                          int64_t min_offset, size_t max, std::vector<Record>* out) {
  uint32_t crc = crc32c::Extend(crc32c::Value(header, kCrcPos), payload.data(), payload.size());
  if (crc != h.crc) return fmt::format("CRC mismatch (stored {:08x}, computed {:08x})", h.crc, crc);
  size_t pos = 0;
  for (uint32_t i = 0; i < h.record_count; ++i) {
    uint64_t len = 0;
    int shift = 0;
    while (true) {
      if (pos >= payload.size() || shift > 28) return "truncated record length";
      uint8_t b = static_cast<uint8_t>(payload[pos++]);
      len |= static_cast<uint64_t>(b & 0x7F) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    if (len > payload.size() - pos) return "record overruns the payload";
    int64_t offset = h.first_offset + i;
    if (out != nullptr && offset >= min_offset && out->size() < max) {
      out->push_back(Record{offset, std::string(payload.substr(pos, len))});
    }
    pos += len;
  }
  if (pos != payload.size()) return "payload has bytes after the last record";
  return "";
}

Status ReadExactly(int fd, char* buf, size_t n, int64_t pos, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, pos + static_cast<int64_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::IoError("{}: read at {}: {}", path, pos, ErrnoText(errno));
    if (r == 0) return Status::DataError("{}: unexpected end of file at {}", path, pos + done);
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

// Cuts a file back to `size` and syncs the cut.
Status Truncate(int fd, int64_t size, const std::string& path) {
  if (::ftruncate(fd, size) != 0) return Status::IoError("{}: truncate to {}: {}", path, size, ErrnoText(errno));
  return io::SyncFd(fd, path);
}

Result<int> OpenFd(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("{}: open: {}", path, ErrnoText(errno));
  return fd;
}

bool ValidTopicName(const std::string& t) {
  if (t.empty() || t.size() > 200 || t == "." || t == "..") return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Result<int> ReadTopicFile(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(auto buf, io::ReadFile(path));
  std::string_view text = buf.view();
  std::string expected = fmt::format("{}\npartitions=", kTopicFileHeader);
  if (text.substr(0, expected.size()) != expected) {
    return Status::DataError("{}: not a log topic file", path);
  }
  int n = 0;
  for (char c : text.substr(expected.size())) {
    if (c == '\n') break;
    if (c < '0' || c > '9' || n > 100000) return Status::DataError("{}: bad partition count", path);
    n = n * 10 + (c - '0');
  }
  if (n <= 0) return Status::DataError("{}: bad partition count", path);
  return n;
}

}  // namespace

struct Segment {
  int64_t base = 0;
  int64_t size = 0;
  // (relative offset, file position) of indexed batches, both increasing.
  std::vector<std::pair<uint32_t, uint32_t>> index;
};

struct Log::Partition {
  std::mutex mu;
  int id = 0;
  std::string dir;
  std::vector<Segment> segments;  // GUARDED_BY(mu); back() is the active segment
  int fd = -1;                    // GUARDED_BY(mu); the active segment
  int index_fd = -1;              // GUARDED_BY(mu)
  // What readers see: the end of the last acknowledged batch. The active segment's size, its
  // index and next_offset move only after the batch's write and fsync succeeded.
  int64_t next_offset = 0;       // GUARDED_BY(mu)
  int64_t last_indexed_pos = 0;  // GUARDED_BY(mu)
  int64_t last_sync_micros = 0;  // GUARDED_BY(mu)
  // An append failed here; its files may hold bytes past the acknowledged end until CutTail.
  bool failed = false;      // GUARDED_BY(mu)
  bool tail_dirty = false;  // GUARDED_BY(mu)
};

namespace {

// Loads a sealed segment's index, keeping the prefix of well-formed entries.
void LoadIndex(const std::string& path, Segment* seg) {
  auto buf = io::ReadFile(path, 0);
  if (!buf.ok()) return;  // a missing index means reads scan the segment from position 0
  std::string_view v = buf->view();
  for (size_t i = 0; i + kIndexEntryBytes <= v.size(); i += kIndexEntryBytes) {
    uint32_t rel = GetU32(v.data() + i), pos = GetU32(v.data() + i + 4);
    if (pos >= seg->size) break;
    if (!seg->index.empty() && (rel <= seg->index.back().first || pos <= seg->index.back().second)) break;
    seg->index.emplace_back(rel, pos);
  }
}

// Scans the active segment: keeps whole valid batches, truncates a torn last batch, and fails on
// an invalid batch that is followed by more data (see docs/formats/log.md, Recovery).
Status RecoverActive(const std::string& path, int fd, Segment* seg, int64_t* next_offset,
                     int64_t* last_indexed_pos) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IoError("{}: stat: {}", path, ErrnoText(errno));
  const int64_t size = st.st_size;
  int64_t pos = 0, expected = seg->base, last_indexed = 0;
  std::string header(kBatchHeaderBytes, '\0'), payload;
  std::string torn_reason;
  while (pos < size) {
    if (size - pos < static_cast<int64_t>(kBatchHeaderBytes)) {
      torn_reason = "partial header";
      break;
    }
    SLUICE_RETURN_IF_ERROR(ReadExactly(fd, header.data(), kBatchHeaderBytes, pos, path));
    BatchHeader h;
    std::string reason = ParseHeader(header.data(), &h);
    int64_t end = pos + static_cast<int64_t>(kBatchHeaderBytes) + h.payload_length;
    if (reason.empty() && end > size) {
      torn_reason = "partial payload";
      break;
    }
    if (reason.empty()) {
      payload.resize(h.payload_length);
      SLUICE_RETURN_IF_ERROR(ReadExactly(fd, payload.data(), payload.size(),
                                         pos + static_cast<int64_t>(kBatchHeaderBytes), path));
      reason = DecodePayload(header.data(), h, payload, 0, 0, nullptr);
      if (reason.empty() && h.first_offset != expected) {
        reason = fmt::format("first offset {} where {} was expected", h.first_offset, expected);
      }
    }
    if (!reason.empty()) {
      // The last batch written may be torn by a crash; anything before it was complete when
      // the later batch was written, so damage there is corruption, not a crash.
      bool is_tail = end >= size;
      if (!is_tail && h.payload_length == 0) {
        // A header of zeros followed by zeros: the file grew but the data never reached disk.
        payload.resize(static_cast<size_t>(size - pos));
        SLUICE_RETURN_IF_ERROR(ReadExactly(fd, payload.data(), payload.size(), pos, path));
        is_tail = std::all_of(payload.begin(), payload.end(), [](char c) { return c == 0; });
      }
      if (!is_tail) {
        return Status::DataError("{}: corrupt batch at position {} ({}) followed by more data", path,
                                 pos, reason);
      }
      torn_reason = reason;
      break;
    }
    if (pos > 0 && pos - last_indexed >= kIndexIntervalBytes) {
      seg->index.emplace_back(static_cast<uint32_t>(expected - seg->base), static_cast<uint32_t>(pos));
      last_indexed = pos;
    }
    expected += h.record_count;
    pos = end;
  }
  if (pos < size) SLUICE_RETURN_IF_ERROR(Truncate(fd, pos, path));
  seg->size = pos;
  *next_offset = expected;
  *last_indexed_pos = last_indexed;
  return Status::OK();
}

}  // namespace

Log::Log(std::string dir, LogOptions options) : dir_(std::move(dir)), options_(options) {}

Log::~Log() {
  if (!closed_) (void)Close();
}

Result<std::shared_ptr<Log>> Log::OpenShared(const std::string& root, const std::string& topic,
                                             const LogOptions& options) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<Log>> open;  // GUARDED_BY(mu); by directory
  std::error_code ec;
  const std::string key = fs::weakly_canonical(fs::path(root) / topic, ec).string();
  std::lock_guard lock(mu);
  if (auto it = open.find(key); it != open.end()) {
    if (auto log = it->second.lock()) return log;
  }
  SLUICE_ASSIGN_OR_RETURN(auto log, Open(root, topic, options));
  std::shared_ptr<Log> shared(std::move(log));
  open[key] = shared;
  return shared;
}

Result<std::unique_ptr<Log>> Log::Open(const std::string& root, const std::string& topic,
                                       const LogOptions& options) {
  SLUICE_USER_CHECK(ValidTopicName(topic), "invalid topic name '{}': use [A-Za-z0-9._-], 1 to 200 chars",
                    topic);
  SLUICE_USER_CHECK(options.partitions >= 0, "partitions must be >= 0, got {}", options.partitions);
  SLUICE_USER_CHECK(options.segment_bytes >= 1024 && options.segment_bytes <= kMaxSegmentBytes,
                    "segment_bytes must be in [1024, {}], got {}", kMaxSegmentBytes, options.segment_bytes);
  SLUICE_USER_CHECK(options.fsync.kind != FsyncPolicy::Kind::kInterval || options.fsync.interval_ms > 0,
                    "fsync interval must be > 0 ms");
  std::string dir = root + "/" + topic;
  SLUICE_RETURN_IF_ERROR(io::MakeDirs(dir));
  std::unique_ptr<Log> log(new Log(dir, options));

  SLUICE_ASSIGN_OR_RETURN(log->lock_fd_, OpenFd(dir + "/" + kLockFile, O_RDWR | O_CREAT));
  if (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::FailedPrecondition("{}: topic is open in another process or Log ({})", dir,
                                      ErrnoText(errno));
  }

  std::string topic_file = dir + "/" + kTopicFile;
  int partitions = options.partitions;
  if (fs::exists(topic_file)) {
    SLUICE_ASSIGN_OR_RETURN(int existing, ReadTopicFile(topic_file));
    SLUICE_USER_CHECK(partitions == 0 || partitions == existing,
                      "topic '{}' has {} partitions, but {} were requested", topic, existing, partitions);
    partitions = existing;
  } else {
    SLUICE_USER_CHECK(partitions >= 1, "topic '{}' does not exist; creating it needs partitions >= 1", topic);
    for (int i = 0; i < partitions; ++i) {
      SLUICE_RETURN_IF_ERROR(io::MakeDirs(fmt::format("{}/{}{}", dir, kPartitionPrefix, i)));
    }
    SLUICE_RETURN_IF_ERROR(
        io::WriteFileAtomic(topic_file, fmt::format("{}\npartitions={}\n", kTopicFileHeader, partitions)));
  }

  for (int i = 0; i < partitions; ++i) {
    auto p = std::make_unique<Partition>();
    p->id = i;
    p->dir = fmt::format("{}/{}{}", dir, kPartitionPrefix, i);
    SLUICE_RETURN_IF_ERROR(io::MakeDirs(p->dir));
    std::vector<int64_t> bases;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p->dir, ec)) {
      std::string name = e.path().filename().string();
      if (name.size() != kOffsetDigits + std::strlen(kSegmentSuffix) || !name.ends_with(kSegmentSuffix)) continue;
      std::string stem = name.substr(0, kOffsetDigits);
      if (!std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
      bases.push_back(std::stoll(stem));
    }
    if (ec) return Status::IoError("{}: list: {}", p->dir, ec.message());
    std::sort(bases.begin(), bases.end());
    bool fresh = bases.empty();
    if (fresh) bases.push_back(0);
    for (size_t k = 0; k + 1 < bases.size(); ++k) {
      Segment seg;
      seg.base = bases[k];
      std::string path = SegmentPath(p->dir, seg.base, kSegmentSuffix);
      std::error_code sec;
      seg.size = static_cast<int64_t>(fs::file_size(path, sec));
      if (sec) return Status::IoError("{}: stat: {}", path, sec.message());
      LoadIndex(SegmentPath(p->dir, seg.base, kIndexSuffix), &seg);
      p->segments.push_back(std::move(seg));
    }
    Segment active;
    active.base = bases.back();
    std::string path = SegmentPath(p->dir, active.base, kSegmentSuffix);
    SLUICE_ASSIGN_OR_RETURN(p->fd, OpenFd(path, O_RDWR | O_CREAT));
    if (fresh) SLUICE_RETURN_IF_ERROR(io::SyncDir(p->dir));
    SLUICE_RETURN_IF_ERROR(RecoverActive(path, p->fd, &active, &p->next_offset, &p->last_indexed_pos));
    // The active index is rebuilt from the scan, so it is never trusted after a crash.
    std::string index_path = SegmentPath(p->dir, active.base, kIndexSuffix);
    SLUICE_ASSIGN_OR_RETURN(p->index_fd, OpenFd(index_path, O_RDWR | O_CREAT | O_TRUNC));
    std::string entries(active.index.size() * kIndexEntryBytes, '\0');
    for (size_t k = 0; k < active.index.size(); ++k) {
      PutU32(&entries[k * kIndexEntryBytes], active.index[k].first);
      PutU32(&entries[k * kIndexEntryBytes + 4], active.index[k].second);
    }
    SLUICE_RETURN_IF_ERROR(io::WriteAt(p->index_fd, entries, 0, index_path));
    p->segments.push_back(std::move(active));
    p->last_sync_micros = SystemClock::Get().MonotonicMicros();
    SLUICE_RETURN_IF_ERROR(log->ApplyRetention(*p));
    log->partitions_.push_back(std::move(p));
  }
  return log;
}

Result<std::vector<std::string>> Log::ListTopics(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(root, ec)) return out;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (e.is_directory() && fs::exists(e.path() / kTopicFile)) out.push_back(e.path().filename().string());
  }
  if (ec) return Status::IoError("{}: list: {}", root, ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Result<Log::Partition*> Log::Get(int partition) {
  if (closed_) return Status::FailedPrecondition("log {} is closed", dir_);
  SLUICE_USER_CHECK(partition >= 0 && partition < partitions(), "partition {} out of range [0, {})", partition,
                    partitions());
  return partitions_[partition].get();
}

Status Log::SyncActive(Partition& p) {
  std::string path = SegmentPath(p.dir, p.segments.back().base, kSegmentSuffix);
  SLUICE_RETURN_IF_ERROR(io::SyncFd(p.fd, path));
  p.last_sync_micros = SystemClock::Get().MonotonicMicros();
  return Status::OK();
}

Status Log::Roll(Partition& p) {
  const Segment& old = p.segments.back();
  if (options_.fsync.kind != FsyncPolicy::Kind::kNever) {
    SLUICE_RETURN_IF_ERROR(SyncActive(p));
    SLUICE_RETURN_IF_ERROR(io::SyncFd(p.index_fd, SegmentPath(p.dir, old.base, kIndexSuffix)));
  }
  ::close(p.fd);
  ::close(p.index_fd);
  p.fd = p.index_fd = -1;
  Segment seg;
  seg.base = p.next_offset;
  SLUICE_ASSIGN_OR_RETURN(p.fd, OpenFd(SegmentPath(p.dir, seg.base, kSegmentSuffix), O_RDWR | O_CREAT | O_TRUNC));
  SLUICE_ASSIGN_OR_RETURN(p.index_fd,
                          OpenFd(SegmentPath(p.dir, seg.base, kIndexSuffix), O_RDWR | O_CREAT | O_TRUNC));
  if (options_.fsync.kind != FsyncPolicy::Kind::kNever) SLUICE_RETURN_IF_ERROR(io::SyncDir(p.dir));
  p.segments.push_back(std::move(seg));
  p.last_indexed_pos = 0;
  return Status::OK();
}

Status Log::ApplyRetention(Partition& p, int64_t incoming) {
  if (options_.retention_bytes < 0) return Status::OK();
  int64_t total = incoming;
  for (const auto& s : p.segments) total += s.size;
  // Oldest first, so a crash part-way leaves a contiguous suffix of segments.
  while (p.segments.size() > 1 && total > options_.retention_bytes) {
    const Segment& s = p.segments.front();
    std::string path = SegmentPath(p.dir, s.base, kSegmentSuffix);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError("{}: delete: {}", path, ErrnoText(errno));
    }
    ::unlink(SegmentPath(p.dir, s.base, kIndexSuffix).c_str());
    total -= s.size;
    p.segments.erase(p.segments.begin());
  }
  return Status::OK();
}

Status Log::Refusal() {
  std::lock_guard<std::mutex> l(failure_mu_);
  return Status::FailedPrecondition(
      "log {} accepts no more appends after an I/O failure ({}). Every record acknowledged before "
      "it is kept and the failed batch was never published. Free disk space or fix the device, then "
      "reopen the log (restart the process): reopening cuts any unacknowledged bytes and appends "
      "continue",
      dir_, failure_);
}

Status Log::Fail(Partition& p, const Status& s, std::string_view note) {
  p.failed = true;
  {
    std::lock_guard<std::mutex> l(failure_mu_);
    if (!failed_.exchange(true)) failure_ = s.message();
  }
  return Status(s.code(), fmt::format("{}; the batch was not appended (no reader will see it) and log {} "
                                      "accepts no more appends until it is reopened{}",
                                      s.message(), dir_, note));
}

// The failed batch may have left bytes (all of it, after a failed fsync) past the acknowledged
// end of the active segment and an entry past the acknowledged index: cut them, so that a
// reopen, which trusts every valid batch in the file, finds only acknowledged ones.
Status Log::CutTail(Partition& p) {
  const Segment& seg = p.segments.back();
  Status s = Truncate(p.fd, seg.size, SegmentPath(p.dir, seg.base, kSegmentSuffix));
  if (s.ok()) {
    s = Truncate(p.index_fd, static_cast<int64_t>(seg.index.size() * kIndexEntryBytes),
                 SegmentPath(p.dir, seg.base, kIndexSuffix));
  }
  p.tail_dirty = !s.ok();
  return s;
}

Result<int64_t> Log::Append(int partition, const std::vector<std::string_view>& records) {
  SLUICE_ASSIGN_OR_RETURN(Partition * p, Get(partition));
  if (failed_) return Refusal();
  SLUICE_USER_CHECK(!records.empty(), "a batch needs at least one record");
  size_t total = 0;
  for (auto r : records) total += r.size() + 10;
  SLUICE_USER_CHECK(total <= kMaxPayloadBytes && records.size() <= UINT32_MAX,
                    "batch of {} records is too large (limit {} bytes)", records.size(), kMaxPayloadBytes);

  std::lock_guard<std::mutex> lock(p->mu);
  if (failed_) return Refusal();  // another partition failed while this call waited
  const int64_t first = p->next_offset;
  std::string batch = EncodeBatch(first, records);
  if (p->segments.back().size > 0 &&
      p->segments.back().size + static_cast<int64_t>(batch.size()) > options_.segment_bytes) {
    // A failed roll wrote no batch bytes: nothing to cut.
    Status s = Roll(*p);
    if (!s.ok()) return Fail(*p, s);
    // Before the batch (counting it), so that a failure here never follows an appended batch.
    SLUICE_RETURN_IF_ERROR(ApplyRetention(*p, static_cast<int64_t>(batch.size())));
  }
  Segment& seg = p->segments.back();
  const bool index_it = seg.size > 0 && seg.size - p->last_indexed_pos >= kIndexIntervalBytes;
  Status s;
  if (index_it) {
    char entry[kIndexEntryBytes];
    PutU32(entry, static_cast<uint32_t>(first - seg.base));
    PutU32(entry + 4, static_cast<uint32_t>(seg.size));
    s = io::WriteAt(p->index_fd, std::string_view(entry, kIndexEntryBytes),
                    static_cast<int64_t>(seg.index.size() * kIndexEntryBytes),
                    SegmentPath(p->dir, seg.base, kIndexSuffix));
  }
  if (s.ok()) s = io::WriteAt(p->fd, batch, seg.size, SegmentPath(p->dir, seg.base, kSegmentSuffix));
  const auto& policy = options_.fsync;
  if (s.ok() && (policy.kind == FsyncPolicy::Kind::kEveryBatch ||
                 (policy.kind == FsyncPolicy::Kind::kInterval &&
                  SystemClock::Get().MonotonicMicros() - p->last_sync_micros >= policy.interval_ms * 1000))) {
    s = SyncActive(*p);
  }
  if (!s.ok()) {
    Status cut = CutTail(*p);
    if (cut.ok()) return Fail(*p, s);
    return Fail(*p, s,
                fmt::format(". Cutting its bytes failed too ({}); Close retries, and a reopen before a "
                            "cut succeeds may read them",
                            cut.message()));
  }
  // Publish: only from here on can a reader see the batch.
  if (index_it) {
    seg.index.emplace_back(static_cast<uint32_t>(first - seg.base), static_cast<uint32_t>(seg.size));
    p->last_indexed_pos = seg.size;
  }
  seg.size += static_cast<int64_t>(batch.size());
  p->next_offset += static_cast<int64_t>(records.size());
  return first;
}

Result<std::vector<Record>> Log::Read(int partition, int64_t from_offset, size_t max_records) {
  SLUICE_ASSIGN_OR_RETURN(Partition * p, Get(partition));
  std::lock_guard<std::mutex> lock(p->mu);
  std::vector<Record> out;
  const int64_t start = p->segments.front().base;
  if (from_offset < start) {
    return Status::NotFound(
        "offset {} of partition {} is no longer held: retention deleted it, the log now starts at {}",
        from_offset, partition, start);
  }
  SLUICE_USER_CHECK(from_offset <= p->next_offset, "offset {} of partition {} is past the end offset {}",
                    from_offset, partition, p->next_offset);
  if (from_offset == p->next_offset || max_records == 0) return out;

  auto it = std::upper_bound(p->segments.begin(), p->segments.end(), from_offset,
                             [](int64_t off, const Segment& s) { return off < s.base; });
  size_t k = static_cast<size_t>(it - p->segments.begin()) - 1;
  std::string header(kBatchHeaderBytes, '\0'), payload;
  bool first_segment = true;
  for (; k < p->segments.size() && out.size() < max_records; ++k, first_segment = false) {
    const Segment& seg = p->segments[k];
    std::string path = SegmentPath(p->dir, seg.base, kSegmentSuffix);
    SLUICE_ASSIGN_OR_RETURN(int fd, OpenFd(path, O_RDONLY));
    int64_t pos = 0, expected = seg.base;
    if (first_segment && !seg.index.empty()) {
      auto e = std::upper_bound(seg.index.begin(), seg.index.end(), from_offset - seg.base,
                                [](int64_t rel, const auto& entry) { return rel < entry.first; });
      if (e != seg.index.begin()) {
        --e;
        pos = e->second;
        expected = seg.base + e->first;
      }
    }
    Status st;
    bool from_index = pos != 0;
    while (pos < seg.size && out.size() < max_records) {
      std::string reason;
      BatchHeader h;
      if (seg.size - pos < static_cast<int64_t>(kBatchHeaderBytes)) {
        reason = "partial header";
      } else {
        st = ReadExactly(fd, header.data(), kBatchHeaderBytes, pos, path);
        if (!st.ok()) break;
        reason = ParseHeader(header.data(), &h);
      }
      int64_t end = pos + static_cast<int64_t>(kBatchHeaderBytes) + h.payload_length;
      if (reason.empty() && end > seg.size) reason = "batch runs past the end of the segment";
      if (reason.empty() && h.first_offset != expected) {
        reason = fmt::format("first offset {} where {} was expected", h.first_offset, expected);
      }
      if (reason.empty()) {
        payload.resize(h.payload_length);
        st = ReadExactly(fd, payload.data(), payload.size(), pos + static_cast<int64_t>(kBatchHeaderBytes), path);
        if (!st.ok()) break;
        reason = DecodePayload(header.data(), h, payload, from_offset, max_records, &out);
      }
      if (!reason.empty()) {
        if (from_index) {  // the index is a hint: scan the segment from its start instead
          from_index = false;
          pos = 0;
          expected = seg.base;
          out.clear();
          continue;
        }
        st = Status::DataError("{}: corrupt batch at position {}: {}", path, pos, reason);
        break;
      }
      from_index = false;
      expected += h.record_count;
      pos = end;
    }
    ::close(fd);
    SLUICE_RETURN_IF_ERROR(st);
  }
  return out;
}

int64_t Log::EndOffset(int partition) {
  auto p = Get(partition);
  SLUICE_CHECK(p.ok()) << p.status().ToString();
  std::lock_guard<std::mutex> lock((*p)->mu);
  return (*p)->next_offset;
}

int64_t Log::StartOffset(int partition) {
  auto p = Get(partition);
  SLUICE_CHECK(p.ok()) << p.status().ToString();
  std::lock_guard<std::mutex> lock((*p)->mu);
  return (*p)->segments.front().base;
}

Status Log::Close() {
  if (closed_.exchange(true)) return Status::FailedPrecondition("log {} is already closed", dir_);
  Status result;
  for (auto& p : partitions_) {
    std::lock_guard<std::mutex> lock(p->mu);
    Status s;
    if (p->tail_dirty) {
      s = CutTail(*p);
      if (!s.ok()) {
        s = s.WithContext(fmt::format("{}: the active segment of partition {} may hold an unacknowledged batch "
                                      "past position {}",
                                      dir_, p->id, p->segments.back().size));
      }
    } else if (p->fd >= 0 && !p->failed) {
      s = SyncActive(*p);
      if (s.ok()) s = io::SyncFd(p->index_fd, SegmentPath(p->dir, p->segments.back().base, kIndexSuffix));
    }
    if (!s.ok() && result.ok()) result = s;
    if (p->fd >= 0) ::close(p->fd);
    if (p->index_fd >= 0) ::close(p->index_fd);
    p->fd = p->index_fd = -1;
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
  return result;
}

}  // namespace sluice::log
