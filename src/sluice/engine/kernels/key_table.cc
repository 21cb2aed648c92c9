#include "sluice/engine/kernels/key_table.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "sluice/base/hash.h"

namespace sluice::engine::kernels {
namespace {

constexpr uint64_t kNullHash = 0x5bd1e9955bd1e995ULL;

inline int64_t ReadInt(const Column& c, uint32_t r) {
  switch (c.type().byte_width()) {
    case 1: return c.data<uint8_t>()[r];
    case 4: return c.data<int32_t>()[r];
    default: return c.data<int64_t>()[r];
  }
}

// Hashes one key part into out[k] (first part) or combines it (later parts).
template <bool kCombine>
void HashColumn(const Column& col, const uint32_t* rows, size_t n, uint64_t* out) {
  auto put = [&](size_t k, uint64_t h) {
    if constexpr (kCombine) out[k] = HashCombine(out[k], h);
    else out[k] = h;
  };
  const bool nulls = col.has_nulls();
  switch (KeyClassOf(col.type())) {
    case KeyClass::kInt: {
      auto loop = [&](const auto* data) {
        for (size_t k = 0; k < n; ++k) {
          uint32_t r = rows[k];
          put(k, nulls && col.IsNull(r) ? kNullHash : HashInt(static_cast<uint64_t>(static_cast<int64_t>(data[r]))));
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
        uint32_t r = rows[k];
        put(k, nulls && col.IsNull(r) ? kNullHash : HashInt(NormalizedBits(data[r]) ^ 0x2545f4914f6cdd1dULL));
      }
      break;
    }
    case KeyClass::kBytes:
      for (size_t k = 0; k < n; ++k) {
        uint32_t r = rows[k];
        put(k, nulls && col.IsNull(r) ? kNullHash : Hash64(col.GetString(r)));
      }
      break;
  }
}

inline bool PartEqual(const Column& stored, uint32_t id, const Column& probe, uint32_t row) {
  bool sn = stored.IsNull(id), pn = probe.IsNull(row);
  if (sn || pn) return sn && pn;
  switch (KeyClassOf(stored.type())) {
    case KeyClass::kInt: return ReadInt(stored, id) == ReadInt(probe, row);
    case KeyClass::kDouble:
      return NormalizedBits(stored.data<double>()[id]) == NormalizedBits(probe.data<double>()[row]);
    case KeyClass::kBytes: return stored.GetString(id) == probe.GetString(row);
  }
  return false;
}

}  // namespace

uint64_t HashKeyValue(const Column& col, uint32_t row) {
  uint64_t h;
  HashColumn<false>(col, &row, 1, &h);
  return h;
}

KeyTable::KeyTable(std::vector<DataType> key_types) : key_types_(std::move(key_types)) {
  for (const auto& t : key_types_) keys_.push_back(std::make_shared<Column>(t));
  slot_ids_.assign(64, kNotFound);
  slot_hashes_.assign(64, 0);
  mask_ = 63;
}

void KeyTable::HashRows(const std::vector<const Column*>& cols, const uint32_t* rows, size_t n, uint64_t* hashes) {
  if (cols.empty()) {
    std::memset(hashes, 0, n * sizeof(uint64_t));
    return;
  }
  HashColumn<false>(*cols[0], rows, n, hashes);
  for (size_t c = 1; c < cols.size(); ++c) HashColumn<true>(*cols[c], rows, n, hashes);
}

bool KeyTable::HasNullKey(const std::vector<const Column*>& cols, uint32_t row) {
  for (const Column* c : cols) {
    if (c->IsNull(row)) return true;
  }
  return false;
}

bool KeyTable::Equal(uint32_t id, const std::vector<const Column*>& cols, uint32_t row) const {
  for (size_t c = 0; c < cols.size(); ++c) {
    if (!PartEqual(*keys_[c], id, *cols[c], row)) return false;
  }
  return true;
}

uint32_t KeyTable::Insert(const std::vector<const Column*>& cols, uint32_t row, uint64_t hash, size_t slot) {
  uint32_t id = static_cast<uint32_t>(hashes_.size());
  SLUICE_CHECK(id != kNotFound) << "KeyTable is full";
  for (size_t c = 0; c < cols.size(); ++c) keys_[c]->AppendFrom(*cols[c], row);
  hashes_.push_back(hash);
  slot_ids_[slot] = id;
  slot_hashes_[slot] = hash;
  return id;
}

void KeyTable::Grow() {
  size_t cap = slot_ids_.size() * 2;
  slot_ids_.assign(cap, kNotFound);
  slot_hashes_.assign(cap, 0);
  mask_ = cap - 1;
  for (uint32_t id = 0; id < hashes_.size(); ++id) {
    size_t s = hashes_[id] & mask_;
    while (slot_ids_[s] != kNotFound) s = (s + 1) & mask_;
    slot_ids_[s] = id;
    slot_hashes_[s] = hashes_[id];
  }
}

void KeyTable::FindOrInsert(const std::vector<const Column*>& cols, const uint32_t* rows, const uint64_t* hashes,
                            size_t n, uint32_t* ids) {
  for (size_t k = 0; k < n; ++k) {
    // Keep the load factor at most 1/2 so probe sequences stay short.
    if ((hashes_.size() + 1) * 2 > slot_ids_.size()) Grow();
    const uint64_t h = hashes[k];
    size_t s = h & mask_;
    for (;;) {
      uint32_t id = slot_ids_[s];
      if (id == kNotFound) {
        ids[k] = Insert(cols, rows[k], h, s);
        break;
      }
      if (slot_hashes_[s] == h && Equal(id, cols, rows[k])) {
        ids[k] = id;
        break;
      }
      s = (s + 1) & mask_;
    }
  }
}

void KeyTable::Find(const std::vector<const Column*>& cols, const uint32_t* rows, const uint64_t* hashes, size_t n,
                    uint32_t* ids) const {
  for (size_t k = 0; k < n; ++k) {
    const uint64_t h = hashes[k];
    size_t s = h & mask_;
    ids[k] = kNotFound;
    for (;;) {
      uint32_t id = slot_ids_[s];
      if (id == kNotFound) break;
      if (slot_hashes_[s] == h && Equal(id, cols, rows[k])) {
        ids[k] = id;
        break;
      }
      s = (s + 1) & mask_;
    }
  }
}

void KeyTable::Clear() {
  for (auto& c : keys_) c = std::make_shared<Column>(c->type());
  hashes_.clear();
  slot_ids_.assign(64, kNotFound);
  slot_hashes_.assign(64, 0);
  mask_ = 63;
}

size_t KeyTable::memory_bytes() const {
  size_t bytes = hashes_.capacity() * 8 + slot_ids_.capacity() * 4 + slot_hashes_.capacity() * 8;
  for (const auto& c : keys_) {
    bytes += c->size() * static_cast<size_t>(std::max(c->type().byte_width(), 4)) + c->chars_size();
  }
  return bytes;
}

}  // namespace sluice::engine::kernels
