#include "sluice/engine/kernels/hyperloglog.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "sluice/engine/kernels/snapshot_codec.h"

namespace sluice::engine::kernels {
namespace {

// Above this many entries (4 bytes each) a sparse sketch costs half of a dense one: go dense.
constexpr size_t kSparseMax = HyperLogLog::kRegisters / 8;
// Unsorted entries accumulate up to this before they are merged.
constexpr size_t kSparseBuffer = 256;

// sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1)   (Ertl 2017, eq. for registers at 0)
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0, z = x, previous;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z != previous);
  return z;
}

// tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3   (registers at the maximum rank)
double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1.0 - x, previous;
  do {
    x = std::sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
  } while (z != previous);
  return z / 3.0;
}

}  // namespace

HyperLogLog::HyperLogLog(const HyperLogLog& o) : sparse_(o.sparse_), sorted_(o.sorted_) {
  if (o.dense_) {
    dense_ = std::make_unique<uint8_t[]>(kRegisters);
    std::memcpy(dense_.get(), o.dense_.get(), kRegisters);
  }
}

HyperLogLog& HyperLogLog::operator=(const HyperLogLog& o) {
  if (this != &o) {
    HyperLogLog copy(o);
    *this = std::move(copy);
  }
  return *this;
}

void HyperLogLog::AddSparse(uint32_t index, uint8_t rank) {
  sparse_.push_back(index << 6 | rank);
  if (sparse_.size() - sorted_ >= kSparseBuffer) CompactSparse();
}

void HyperLogLog::CompactSparse() {
  std::sort(sparse_.begin(), sparse_.end());
  // Keep the highest rank per register: entries of one index are adjacent, highest last.
  size_t out = 0;
  for (size_t i = 0; i < sparse_.size(); ++i) {
    if (i + 1 < sparse_.size() && (sparse_[i + 1] >> 6) == (sparse_[i] >> 6)) continue;
    sparse_[out++] = sparse_[i];
  }
  sparse_.resize(out);
  sorted_ = out;
  if (sparse_.size() > kSparseMax) ToDense();
}

void HyperLogLog::ToDense() {
  dense_ = std::make_unique<uint8_t[]>(kRegisters);
  std::memset(dense_.get(), 0, kRegisters);
  for (uint32_t e : sparse_) {
    uint32_t index = e >> 6;
    uint8_t rank = e & 63;
    if (dense_[index] < rank) dense_[index] = rank;
  }
  std::vector<uint32_t>().swap(sparse_);
  sorted_ = 0;
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (other.dense_) {
    if (!dense_) ToDense();
    for (uint32_t i = 0; i < kRegisters; ++i) dense_[i] = std::max(dense_[i], other.dense_[i]);
    return;
  }
  for (uint32_t e : other.sparse_) {
    if (dense_) {
      uint32_t index = e >> 6;
      uint8_t rank = e & 63;
      if (dense_[index] < rank) dense_[index] = rank;
    } else {
      AddSparse(e >> 6, e & 63);
    }
  }
}

void HyperLogLog::Histogram(uint32_t* counts) const {
  std::fill(counts, counts + kMaxRank + 1, 0u);
  if (dense_) {
    for (uint32_t i = 0; i < kRegisters; ++i) ++counts[dense_[i]];
    return;
  }
  const std::vector<uint32_t> entries = CompactedEntries();
  for (uint32_t e : entries) ++counts[e & 63];
  counts[0] = kRegisters - static_cast<uint32_t>(entries.size());
}

std::vector<uint32_t> HyperLogLog::CompactedEntries() const {
  std::vector<uint32_t> entries = sparse_;
  std::sort(entries.begin(), entries.end());
  size_t out = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && (entries[i + 1] >> 6) == (entries[i] >> 6)) continue;
    entries[out++] = entries[i];
  }
  entries.resize(out);
  return entries;
}

double HyperLogLog::Estimate() const {
  uint32_t counts[kMaxRank + 1];
  Histogram(counts);
  const double m = kRegisters;
  if (counts[0] == kRegisters) return 0.0;
  constexpr int q = 64 - kPrecision;
  double z = m * Tau(1.0 - counts[q + 1] / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + counts[k]);
  z += m * Sigma(counts[0] / m);
  constexpr double kAlphaInf = 0.721347520444481703680;  // 1 / (2 ln 2)
  return kAlphaInf * m * m / z;
}

// Snapshot form: u8 1 + 16384 registers (dense), or u8 0 + u32 count + sorted entries (sparse).
// A sparse sketch with more than kSparseMax registers set is written dense, as it would be
// after its next compaction, so equal registers always give equal bytes.
void HyperLogLog::Save(SnapshotWriter& w) const {
  if (dense_) {
    w.PutU8(1);
    w.PutArray(dense_.get(), kRegisters);
    return;
  }
  const std::vector<uint32_t> entries = CompactedEntries();
  if (entries.size() > kSparseMax) {
    uint8_t registers[kRegisters] = {};
    for (uint32_t e : entries) registers[e >> 6] = static_cast<uint8_t>(e & 63);
    w.PutU8(1);
    w.PutArray(registers, kRegisters);
    return;
  }
  w.PutU8(0);
  w.PutU32(static_cast<uint32_t>(entries.size()));
  w.PutArray(entries.data(), entries.size());
}

Status HyperLogLog::Load(SnapshotReader& r) {
  dense_.reset();
  sparse_.clear();
  sorted_ = 0;
  SLUICE_ASSIGN_OR_RETURN(uint8_t form, r.ReadU8());
  if (form == 1) {
    auto dense = std::make_unique<uint8_t[]>(kRegisters);
    SLUICE_RETURN_IF_ERROR(r.ReadArray(dense.get(), kRegisters));
    for (uint32_t i = 0; i < kRegisters; ++i) {
      if (dense[i] > kMaxRank) return r.Error("HyperLogLog register {} holds rank {} (max {})", i, dense[i], kMaxRank);
    }
    dense_ = std::move(dense);
    return Status::OK();
  }
  if (form != 0) return r.Error("unknown HyperLogLog form {}", form);
  SLUICE_ASSIGN_OR_RETURN(uint32_t n, r.ReadU32());
  if (n > kSparseMax) return r.Error("a sparse HyperLogLog with {} entries (max {})", n, kSparseMax);
  std::vector<uint32_t> entries(n);
  SLUICE_RETURN_IF_ERROR(r.ReadArray(entries.data(), n));
  for (size_t i = 0; i < n; ++i) {
    const uint32_t rank = entries[i] & 63;
    if (rank == 0 || rank > kMaxRank || (entries[i] >> 6) >= kRegisters ||
        (i > 0 && (entries[i] >> 6) <= (entries[i - 1] >> 6))) {
      return r.Error("HyperLogLog sparse entry {} ({:#x}) is out of order or out of range", i, entries[i]);
    }
  }
  sparse_ = std::move(entries);
  sorted_ = sparse_.size();
  return Status::OK();
}

size_t HyperLogLog::memory_bytes() const {
  return sizeof(*this) + sparse_.capacity() * 4 + (dense_ ? kRegisters : 0);
}

}  // namespace sluice::engine::kernels
