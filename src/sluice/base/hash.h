// Hashing for keys, partitioning and the hash functions of the expression language.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace sluice {

// XXH3 64-bit of bytes, with an optional seed. Stable across versions and machines.
uint64_t Hash64(std::string_view bytes, uint64_t seed = 0);
// Mixes a 64-bit integer (for hashing fixed-width keys without going through bytes).
uint64_t HashInt(uint64_t v);
// Combines two hashes (order-sensitive).
inline uint64_t HashCombine(uint64_t a, uint64_t b) {
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

// The bits a float64 key part hashes and compares by: -0.0 and 0.0 are one key, and so is every
// NaN (GROUP BY equality).
inline uint64_t NormalizedBits(double v) {
  if (v == 0) return 0;
  if (std::isnan(v)) return 0x7ff8000000000000ULL;
  return std::bit_cast<uint64_t>(v);
}

}  // namespace sluice
