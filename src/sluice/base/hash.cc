#include "sluice/base/hash.h"

#include <xxhash.h>

namespace sluice {

uint64_t Hash64(std::string_view bytes, uint64_t seed) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

uint64_t HashInt(uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  v *= 0xc4ceb93fe53a8ed3ULL;
  v ^= v >> 33;
  return v;
}

}  // namespace sluice
