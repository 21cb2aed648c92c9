// A minimal binary codec for operator state snapshots (checkpoints): little-endian integers and
// length-prefixed byte strings. A reader never reads past its buffer; a short or malformed
// buffer makes ok() false and every later read return zeros. Internal to engine/exec.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::engine {

inline void PutI64(std::string& out, int64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
inline void PutBytes(std::string& out, std::string_view b) {
  PutI64(out, static_cast<int64_t>(b.size()));
  out.append(b);
}

class StateReader {
 public:
  explicit StateReader(std::string_view in) : in_(in) {}
  int64_t I64() {
    if (!ok_ || in_.size() < 8) return Fail();
    int64_t v;
    std::memcpy(&v, in_.data(), 8);
    in_.remove_prefix(8);
    return v;
  }
  std::string_view Bytes() {
    int64_t n = I64();
    if (!ok_ || n < 0 || static_cast<uint64_t>(n) > in_.size()) {
      Fail();
      return {};
    }
    std::string_view b = in_.substr(0, static_cast<size_t>(n));
    in_.remove_prefix(static_cast<size_t>(n));
    return b;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

 private:
  int64_t Fail() {
    ok_ = false;
    return 0;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace sluice::engine
