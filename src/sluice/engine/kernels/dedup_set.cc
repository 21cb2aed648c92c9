#include "sluice/engine/kernels/dedup_set.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "sluice/base/hash.h"
#include "sluice/engine/kernels/key_table.h"
#include "sluice/engine/kernels/snapshot_codec.h"

namespace sluice::engine::kernels {
namespace {

constexpr std::string_view kDedupMagic = "SDDS";
constexpr uint8_t kDedupVersion = 1;
constexpr size_t kMinCapacity = 64;
// Fingerprints of slots this far ahead are prefetched: a large table misses the cache on almost
// every probe, and the misses of a batch can overlap.
constexpr size_t kPrefetchAhead = 8;

// ----- Fingerprints. They are saved in snapshots: changing anything here needs a new
// kDedupVersion.

constexpr uint64_t kSeedA = 0x243f6a8885a308d3ULL;
constexpr uint64_t kSeedB = 0x13198a2e03707344ULL;
constexpr uint64_t kNullA = 0xa4093822299f31d0ULL;
constexpr uint64_t kNullB = 0x082efa98ec4e6c89ULL;

// MurmurHash3's 64-bit finalizer (base's HashInt).
inline uint64_t MixA(uint64_t x) { return HashInt(x); }

// Stafford's Mix13 (the SplitMix64 finalizer): other multipliers and shifts than MixA, so the two
// halves of a fingerprint do not collide together.
inline uint64_t MixB(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Fingerprints one key part into (a[k], b[k]) (first part) or folds it in (later parts). Both
// halves are bijections of an integer part, so two integer keys of one column never collide.
template <bool kCombine>
void FingerprintColumn(const Column& col, const uint32_t* rows, size_t n, uint64_t* a, uint64_t* b) {
  auto put = [&](size_t k, uint64_t pa, uint64_t pb) {
    if constexpr (kCombine) {
      a[k] = MixA(a[k] + kSeedB) ^ pa;
      b[k] = MixB(b[k] + kSeedA) ^ pb;
    } else {
      a[k] = pa;
      b[k] = pb;
    }
  };
  const bool nulls = col.has_nulls();
  auto integer = [&](size_t k, uint64_t v) { put(k, MixA(v ^ kSeedA), MixB(v ^ kSeedB)); };
  switch (KeyClassOf(col.type())) {
    case KeyClass::kInt: {
      auto loop = [&](const auto* data) {
        for (size_t k = 0; k < n; ++k) {
          const uint32_t r = rows[k];
          if (nulls && col.IsNull(r)) put(k, kNullA, kNullB);
          else integer(k, static_cast<uint64_t>(static_cast<int64_t>(data[r])));
        }
      };
      switch (col.type().byte_width()) {
        case 1: loop(col.data<uint8_t>()); break;
        case 4: loop(col.data<int32_t>()); break;
        default: loop(col.data<int64_t>()); break;
      }
      break;
    }
    case KeyClass::kDouble: {
      const double* data = col.data<double>();
      for (size_t k = 0; k < n; ++k) {
        const uint32_t r = rows[k];
        if (nulls && col.IsNull(r)) put(k, kNullA, kNullB);
        else integer(k, NormalizedBits(data[r]));
      }
      break;
    }
    case KeyClass::kBytes:
      for (size_t k = 0; k < n; ++k) {
        const uint32_t r = rows[k];
        if (nulls && col.IsNull(r)) {
          put(k, kNullA, kNullB);
        } else {
          const std::string_view s = col.GetString(r);
          put(k, Hash64(s, kSeedA), Hash64(s, kSeedB));
        }
      }
      break;
  }
}

void Fingerprint(const std::vector<const Column*>& cols, const uint32_t* rows, size_t n, uint64_t* a, uint64_t* b) {
  if (cols.empty()) {  // every row has the one empty key
    std::fill(a, a + n, kSeedA);
    std::fill(b, b + n, kSeedB);
    return;
  }
  FingerprintColumn<false>(*cols[0], rows, n, a, b);
  for (size_t c = 1; c < cols.size(); ++c) FingerprintColumn<true>(*cols[c], rows, n, a, b);
}

}  // namespace

DedupSet::DedupSet(std::vector<DataType> key_types) : key_types_(std::move(key_types)) { Clear(); }

size_t DedupSet::memory_bytes() const {
  return slots_.capacity() * sizeof(Slot) + (scratch_a_.capacity() + scratch_b_.capacity()) * sizeof(uint64_t);
}

void DedupSet::Clear() {
  std::vector<Slot>().swap(slots_);
  size_ = 0;
  min_time_ = INT64_MAX;
  Rebuild(kMinCapacity);
}

void DedupSet::Rebuild(size_t capacity) {
  SLUICE_CHECK(std::has_single_bit(capacity) && capacity * 3 / 4 >= size_) << capacity << " slots for " << size_;
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  mask_ = capacity - 1;
  grow_at_ = capacity / 4 * 3;
  for (size_t i = 0; i < old.size(); ++i) {
    if (i + kPrefetchAhead < old.size()) __builtin_prefetch(&slots_[old[i + kPrefetchAhead].a & mask_]);
    const Slot& e = old[i];
    if (Empty(e)) continue;
    size_t s = e.a & mask_;
    while (!Empty(slots_[s])) s = (s + 1) & mask_;
    slots_[s] = e;
  }
}

bool DedupSet::Insert(uint64_t a, uint64_t b, int64_t time) {
  if (size_ >= grow_at_) Rebuild(slots_.size() * 2);
  size_t s = a & mask_;
  for (;;) {
    Slot& slot = slots_[s];
    if (slot.a == a && slot.b == b) return false;
    if (Empty(slot)) {
      slot = Slot{a, b, time};
      ++size_;
      min_time_ = std::min(min_time_, time);
      return true;
    }
    s = (s + 1) & mask_;
  }
}

void DedupSet::Check(const std::vector<const Column*>& key_cols, const uint32_t* rows, size_t n,
                     const int64_t* times, uint8_t* first) {
  SLUICE_CHECK(key_cols.size() == key_types_.size())
      << key_cols.size() << " key columns for a set of " << key_types_.size();
  for (size_t c = 0; c < key_cols.size(); ++c) {
    SLUICE_CHECK(KeyClassOf(key_cols[c]->type()) == KeyClassOf(key_types_[c]))
        << "key part " << c << " is " << key_cols[c]->type().ToString() << ", the set holds "
        << key_types_[c].ToString();
  }
  if (n == 0) return;
  scratch_a_.resize(n);
  scratch_b_.resize(n);
  uint64_t* a = scratch_a_.data();
  uint64_t* b = scratch_b_.data();
  Fingerprint(key_cols, rows, n, a, b);
  for (size_t k = 0; k < n; ++k) {
    if (k + kPrefetchAhead < n) __builtin_prefetch(&slots_[a[k + kPrefetchAhead] & mask_]);
    if ((a[k] | b[k]) == 0) b[k] = 1;  // (0, 0) marks empty slots
    first[k] = Insert(a[k], b[k], times[k]) ? 1 : 0;
  }
}

size_t DedupSet::Expire(int64_t cutoff) {
  if (size_ == 0 || cutoff <= min_time_) return 0;
  // One walk around the table, starting after an empty slot (the table is at most 3/4 full, so
  // there is one, and no probe sequence crosses it). An expired key is cleared; a surviving key
  // moves to the first free slot from its home, since a slot cleared before it may have cut it
  // off. The keys the walk has passed are reachable already, and freeing a slot only matters to
  // keys the walk has yet to visit.
  size_t start = 0;
  while (!Empty(slots_[start])) ++start;
  size_t removed = 0;
  int64_t oldest = INT64_MAX;
  const size_t cap = slots_.size();
  for (size_t i = 1, s = (start + 1) & mask_; i < cap; ++i, s = (s + 1) & mask_) {
    Slot& slot = slots_[s];
    if (Empty(slot)) continue;
    if (slot.time < cutoff) {
      slot = Slot{};
      ++removed;
      continue;
    }
    oldest = std::min(oldest, slot.time);
    if (removed == 0) continue;  // no slot freed yet: nothing to move
    size_t j = slot.a & mask_;
    while (j != s && !Empty(slots_[j])) j = (j + 1) & mask_;
    if (j != s) {
      slots_[j] = slot;
      slot = Slot{};
    }
  }
  min_time_ = oldest;
  size_ -= removed;
  if (slots_.size() > kMinCapacity && size_ * 8 <= slots_.size()) {
    // Mostly empty: move to a table at most half full.
    Rebuild(std::max(kMinCapacity, std::bit_ceil(std::max<size_t>(size_ * 2, 1))));
  }
  return removed;
}

// Dedup snapshot body (format version 1):
//   u32 key count, then each key type (u8 id, u8 precision, u8 scale)
//   u64 keys, then per key: u64 a, u64 b (the fingerprint), i64 time — in table order
void DedupSet::Save(std::string& out) const {
  static_assert(sizeof(Slot) == 24, "a slot is saved as it lies in memory");
  SnapshotWriter w(out, kDedupMagic, kDedupVersion);
  w.Reserve(4 + key_types_.size() * 3 + 8 + size_ * sizeof(Slot) + 8);
  w.PutU32(static_cast<uint32_t>(key_types_.size()));
  for (const auto& t : key_types_) w.PutType(t);
  w.PutU64(size_);
  for (const Slot& s : slots_) {
    if (!Empty(s)) w.PutRaw(&s, sizeof(Slot));
  }
  w.Finish();
}

Status DedupSet::Load(std::string_view in) {
  Status st = LoadImpl(in);
  if (!st.ok()) Clear();
  return st;
}

Status DedupSet::LoadImpl(std::string_view in) {
  Clear();
  SLUICE_ASSIGN_OR_RETURN(SnapshotReader r, OpenSnapshot(in, kDedupMagic, kDedupVersion, "dedup state"));
  SLUICE_ASSIGN_OR_RETURN(uint32_t num_keys, r.ReadU32());
  if (num_keys != key_types_.size()) {
    return r.Error("saved with {} key columns, this set has {}", num_keys, key_types_.size());
  }
  for (size_t i = 0; i < key_types_.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(DataType t, r.ReadType());
    if (t != key_types_[i]) {
      return r.Error("key column {} was saved as {}, this set has {}", i, t.ToString(), key_types_[i].ToString());
    }
  }
  SLUICE_ASSIGN_OR_RETURN(size_t n, r.ReadCount(sizeof(Slot), "keys"));
  // The smallest table that holds n keys without growing (as inserting them one by one gives).
  size_t cap = kMinCapacity;
  while (cap / 4 * 3 < n) cap *= 2;
  Rebuild(cap);
  SLUICE_ASSIGN_OR_RETURN(const char* p, r.ReadRaw(n * sizeof(Slot)));
  auto slot_at = [&](size_t i) {
    Slot s;
    std::memcpy(&s, p + i * sizeof(Slot), sizeof(Slot));
    return s;
  };
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) __builtin_prefetch(&slots_[slot_at(i + kPrefetchAhead).a & mask_]);
    const Slot s = slot_at(i);
    if (Empty(s)) return r.Error("key {} has the reserved fingerprint (0, 0)", i);
    if (!Insert(s.a, s.b, s.time)) return r.Error("key {} is listed twice", i);
  }
  return r.ExpectEnd();
}

}  // namespace sluice::engine::kernels
