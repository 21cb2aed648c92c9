#include "sluice/io/file_system.h"

#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>

#include "sluice/io/faults.h"
#include "sluice/io/workdir.h"

namespace sluice::io {

namespace fs = std::filesystem;

PaddedBuffer::PaddedBuffer(size_t size, size_t padding)
    : data_(new char[size + padding]), size_(size) {
  std::memset(data_.get() + size, 0, padding);
}

Result<PaddedBuffer> ReadFile(const std::string& path, size_t padding) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open '{}': {}", path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::IoError("cannot stat '{}': {}", path, std::strerror(e));
  }
  PaddedBuffer buf(static_cast<size_t>(st.st_size), padding);
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      return Status::IoError("cannot read '{}' at offset {}: {}", path, done,
                             n == 0 ? "unexpected end of file" : std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return buf;
}

ChunkedReader::ChunkedReader(std::string path, int fd, size_t chunk, size_t padding, int64_t size)
    : path_(std::move(path)), fd_(fd), chunk_(chunk), padding_(padding), file_size_(size) {}

ChunkedReader::~ChunkedReader() {
  if (map_) ::munmap(const_cast<char*>(map_), static_cast<size_t>(file_size_));
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<ChunkedReader>> ChunkedReader::Open(const std::string& path, size_t chunk_bytes,
                                                           size_t padding) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open '{}': {}", path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::IoError("cannot stat '{}': {}", path, std::strerror(e));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<ChunkedReader> r(new ChunkedReader(path, fd, chunk_bytes, padding, st.st_size));
  if (st.st_size > 0 && S_ISREG(st.st_mode)) {
    void* m = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
      ::madvise(m, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      r->map_ = static_cast<const char*>(m);
    }
  }
  return r;
}

Result<std::string_view> ChunkedReader::NextMapped(size_t unconsumed) {
  const size_t size = static_cast<size_t>(file_size_);
  size_t start = static_cast<size_t>(offset_) - unconsumed;
  size_t end = std::min(size, static_cast<size_t>(offset_) + chunk_);
  if (end - start < unconsumed + chunk_ / 2 && end < size) end = std::min(size, start + 2 * (end - start));
  // Give back pages the caller is done with, so the map does not pile up in memory.
  const size_t page = 1 << 21;
  if (start >= released_ + page) {
    size_t upto = start / 4096 * 4096;
    ::madvise(const_cast<char*>(map_) + released_, upto - released_, MADV_DONTNEED);
    released_ = upto;
  }
  if (end + padding_ <= size) {
    offset_ = static_cast<int64_t>(end);
    return std::string_view(map_ + start, end - start);
  }
  // The last chunk: copy it so it can have padding past the end of the file.
  end = size;
  const size_t n = end - start;
  if (n + padding_ > capacity_ + padding_ || !buf_) {
    buf_.reset(new char[n + padding_]);
    capacity_ = n;
  }
  std::memcpy(buf_.get(), map_ + start, n);
  std::memset(buf_.get() + n, 0, padding_);
  filled_ = n;
  offset_ = static_cast<int64_t>(end);
  at_end_ = true;
  return std::string_view(buf_.get(), n);
}

Result<std::string_view> ChunkedReader::Next(size_t unconsumed) {
  if (at_end_) return std::string_view();
  if (map_) return NextMapped(unconsumed);
  SLUICE_CHECK(unconsumed <= filled_) << unconsumed << " > " << filled_;
  // Keep the unconsumed tail; grow when the tail leaves no room for a fresh chunk.
  size_t need = unconsumed + chunk_;
  if (need > capacity_) {
    size_t cap = std::max(need, capacity_ * 2);
    std::unique_ptr<char[]> bigger(new char[cap + padding_]);
    if (unconsumed) std::memcpy(bigger.get(), buf_.get() + filled_ - unconsumed, unconsumed);
    buf_ = std::move(bigger);
    capacity_ = cap;
  } else if (unconsumed) {
    std::memmove(buf_.get(), buf_.get() + filled_ - unconsumed, unconsumed);
  }
  filled_ = unconsumed;
  while (filled_ < capacity_) {
    ssize_t n = ::pread(fd_, buf_.get() + filled_, capacity_ - filled_, offset_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("cannot read '{}' at offset {}: {}", path_, offset_, std::strerror(errno));
    if (n == 0) {
      at_end_ = true;
      break;
    }
    filled_ += static_cast<size_t>(n);
    offset_ += n;
    if (offset_ >= file_size_) {
      at_end_ = true;
      break;
    }
  }
  std::memset(buf_.get() + filled_, 0, padding_);
  return std::string_view(buf_.get(), filled_);
}

Result<std::vector<std::string>> ExpandPath(const std::string& pattern) {
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::is_directory(pattern, ec)) {
    for (auto it = fs::recursive_directory_iterator(pattern, ec); !ec && it != fs::end(it); it.increment(ec)) {
      const auto name = it->path().filename().string();
      if (!name.empty() && (name[0] == '.' || name[0] == '_')) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) out.push_back(it->path().string());
    }
    if (ec) return Status::IoError("cannot list '{}': {}", pattern, ec.message());
  } else {
    glob_t g{};
    int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        if (fs::is_regular_file(g.gl_pathv[i], ec)) out.emplace_back(g.gl_pathv[i]);
      }
    }
    globfree(&g);
    if (rc != 0 && rc != GLOB_NOMATCH) return Status::IoError("cannot expand '{}'", pattern);
  }
  if (out.empty()) {
    return Status::NotFound("no files match '{}'; check the path. {}", pattern, kRelativeSourcePathRule);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// Writes all of `data` at `pos`, or at the current position when pos < 0.
Status WriteLoop(int fd, std::string_view data, int64_t pos, const std::string& path) {
  const faults::WriteFault fault = faults::BeforeWrite(path, data.size());
  size_t done = 0;
  while (done < fault.allowed) {
    const char* p = data.data() + done;
    const size_t n = fault.allowed - done;
    ssize_t w = pos < 0 ? ::write(fd, p, n) : ::pwrite(fd, p, n, pos + static_cast<int64_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::IoError("cannot write '{}': {}", path, std::strerror(errno));
    done += static_cast<size_t>(w);
  }
  if (fault.error != 0) return Status::IoError("cannot write '{}': {}", path, std::strerror(fault.error));
  return Status::OK();
}

std::mutex observer_mu;
std::function<void(const std::string&)> sync_dir_observer;  // GUARDED_BY(observer_mu)

std::string DirOf(const std::string& path) {
  fs::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

}  // namespace

Status WriteAt(int fd, std::string_view data, int64_t pos, const std::string& path) {
  SLUICE_CHECK(pos >= 0) << pos;
  return WriteLoop(fd, data, pos, path);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) { return WriteLoop(fd, data, -1, path); }

Status SyncFd(int fd, const std::string& path) {
  int e = faults::BeforeSync(path);
  if (e == 0 && ::fsync(fd) != 0) e = errno;
  if (e != 0) return Status::IoError("fsync of '{}' failed: {}", path, std::strerror(e));
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  const std::string name = dir.empty() ? "." : dir;
  int fd = ::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open directory '{}' to fsync it: {}", name, std::strerror(errno));
  Status st = SyncFd(fd, name);
  ::close(fd);
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> lock(observer_mu);
  if (sync_dir_observer) sync_dir_observer(name);
  return Status::OK();
}

void SetSyncDirObserverForTesting(std::function<void(const std::string& dir)> observer) {
  std::lock_guard<std::mutex> lock(observer_mu);
  sync_dir_observer = std::move(observer);
}

Status MakeDirs(const std::string& path) {
  if (path.empty()) return Status::OK();  // the current directory
  fs::path target = fs::path(path).lexically_normal();
  if (!target.has_filename() && target.has_parent_path()) target = target.parent_path();  // "a/b/"
  std::error_code ec;
  std::vector<fs::path> missing;  // deepest first
  for (fs::path p = target; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(target, ec);
  if (ec) return Status::IoError("cannot create directory '{}': {}", path, ec.message());
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) SLUICE_RETURN_IF_ERROR(SyncDir(DirOf(it->string())));
  return Status::OK();
}

Status RenameFile(const std::string& from, const std::string& to) {
  int e = faults::BeforeRename(to);
  if (e == 0 && ::rename(from.c_str(), to.c_str()) != 0) e = errno;
  if (e != 0) return Status::IoError("cannot rename '{}' to '{}': {}", from, to, std::strerror(e));
  return Status::OK();
}

Result<FileLock> FileLock::Acquire(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot open lock file '{}': {}", path, std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int e = errno;
    ::close(fd);
    return Status::IoError("cannot lock '{}': {}", path, std::strerror(e));
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

Status RenameDurably(const std::string& from, const std::string& to) {
  SLUICE_RETURN_IF_ERROR(RenameFile(from, to));
  SLUICE_RETURN_IF_ERROR(SyncDir(DirOf(to)));
  if (fs::path(DirOf(from)).lexically_normal() != fs::path(DirOf(to)).lexically_normal()) return SyncDir(DirOf(from));
  return Status::OK();
}

Status LinkDurably(const std::string& from, const std::string& to) {
  // link(2) fails with EEXIST when the name is taken: the atomic put-if-absent of POSIX.
  if (::link(from.c_str(), to.c_str()) != 0) {
    int err = errno;
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == ENOSYS) {
      // File systems without hard links: an exclusive rename does the same.
      err = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0 ? 0 : errno;
    }
    if (err == EEXIST) return Status::AlreadyExists("{} already exists", to);
    if (err != 0) return Status::IoError("cannot create '{}': {}", to, std::strerror(err));
  }
  return SyncDir(DirOf(to));
}

Status WriteFileAtomic(const std::string& path, std::string_view content, int mode) {
  fs::path p(path);
  if (p.has_parent_path()) SLUICE_RETURN_IF_ERROR(MakeDirs(p.parent_path().string()));
  std::random_device rd;
  std::string tmp = path + ".tmp-" + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError("cannot create '{}': {}", tmp, std::strerror(errno));
  // The mode whatever the umask (files of secrets are 0600 and nothing more open).
  Status st = ::fchmod(fd, static_cast<mode_t>(mode)) == 0
                  ? WriteAll(fd, content, tmp)
                  : Status::IoError("cannot chmod '{}': {}", tmp, std::strerror(errno));
  if (st.ok()) st = SyncFd(fd, tmp);
  ::close(fd);
  if (st.ok()) st = RenameDurably(tmp, path);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

Result<std::unique_ptr<FileWriter>> FileWriter::Open(const std::string& path, bool truncate) {
  fs::path p(path);
  if (p.has_parent_path()) SLUICE_RETURN_IF_ERROR(MakeDirs(p.parent_path().string()));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0644);
  if (fd < 0) return Status::IoError("cannot open '{}' for writing: {}", path, std::strerror(errno));
  struct stat st {};
  if (!truncate && ::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return Status::IoError("cannot stat '{}': {}", path, std::strerror(e));
  }
  return std::unique_ptr<FileWriter>(new FileWriter(path, fd, truncate ? 0 : static_cast<int64_t>(st.st_size)));
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) (void)Close();
}

Status FileWriter::FlushBuffer() {
  if (buffer_.empty()) return Status::OK();
  Status st = WriteAll(fd_, buffer_, path_);
  buffer_.clear();
  return st;
}

Status FileWriter::Append(std::string_view data) {
  if (fd_ < 0) return Status::FailedPrecondition("'{}': append after close", path_);
  size_ += static_cast<int64_t>(data.size());
  buffer_.append(data);
  if (buffer_.size() >= (1 << 20)) return FlushBuffer();
  return Status::OK();
}

Status FileWriter::Sync() {
  SLUICE_RETURN_IF_ERROR(FlushBuffer());
  return SyncFd(fd_, path_);
}

Status FileWriter::Close() {
  if (fd_ < 0) return Status::OK();
  Status st = FlushBuffer();
  if (::close(fd_) != 0 && st.ok()) st = Status::IoError("close of '{}' failed: {}", path_, std::strerror(errno));
  fd_ = -1;
  return st;
}

}  // namespace sluice::io
