// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of log batches.
// Uses the SSE4.2 crc32 instruction when the build targets it, else a byte table.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::log::crc32c {

// Continues `crc` (the value returned for the bytes before) over data[0, n).
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
// The table implementation, always available; tests compare it with Extend.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);

}  // namespace sluice::log::crc32c
