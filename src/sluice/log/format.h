// On-disk constants of the local durable log. The format itself is specified in
// docs/formats/log.md; every number written to or checked against disk lives here.
// Thread-safety: constants only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::log::format {

// File names. A topic is <root>/<topic>/ holding kTopicFile, kLockFile and partitions
// kPartitionPrefix<n>/; a partition holds segments named by their 20-digit zero-padded base
// offset with kSegmentSuffix, each with a sparse index of the same stem and kIndexSuffix.
inline constexpr char kTopicFile[] = "TOPIC";
inline constexpr char kLockFile[] = "LOCK";
inline constexpr char kPartitionPrefix[] = "p-";
inline constexpr char kSegmentSuffix[] = ".log";
inline constexpr char kIndexSuffix[] = ".index";
inline constexpr int kOffsetDigits = 20;
// First line of kTopicFile; the second is "partitions=<n>".
inline constexpr char kTopicFileHeader[] = "sluice-log 1";

// Batch header, all integers little-endian:
//   [0]  u32 magic           kBatchMagic
//   [4]  u8  version         kBatchVersion
//   [5]  u8  flags           0 (reserved)
//   [6]  u16 reserved        0
//   [8]  u32 record_count    >= 1
//   [12] i64 first_offset    offset of the batch's first record
//   [20] u32 payload_length  bytes of payload following the header, <= kMaxPayloadBytes
//   [24] u32 crc             CRC32C (Castagnoli) of header bytes [0, 24) then the payload
// Payload: record_count x (unsigned LEB128 varint length, then that many bytes).
inline constexpr uint32_t kBatchMagic = 0x474C4C53;  // "SLLG" in file byte order
inline constexpr uint8_t kBatchVersion = 1;
inline constexpr size_t kBatchHeaderBytes = 28;
inline constexpr size_t kMagicPos = 0;
inline constexpr size_t kVersionPos = 4;
inline constexpr size_t kFlagsPos = 5;
inline constexpr size_t kRecordCountPos = 8;
inline constexpr size_t kFirstOffsetPos = 12;
inline constexpr size_t kPayloadLengthPos = 20;
inline constexpr size_t kCrcPos = 24;
inline constexpr uint32_t kMaxPayloadBytes = 64u << 20;

// Sparse index entry, little-endian: u32 relative offset (first_offset - segment base) and
// u32 file position of that batch's header. One entry is written before a batch that starts
// at least kIndexIntervalBytes after the previously indexed batch (position 0 is implicit).
inline constexpr size_t kIndexEntryBytes = 8;
inline constexpr int64_t kIndexIntervalBytes = 4096;

// Segments are addressed by u32 positions, so a segment may not grow past this.
inline constexpr int64_t kMaxSegmentBytes = 1ll << 30;

}  // namespace sluice::log::format
