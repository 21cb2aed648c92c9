// Parquet checkpoints of the Delta log: `_delta_log/<version:020>.checkpoint.parquet` holds the
// replayed state of a table (protocol, metaData, txn, add and remove tombstones), one action per
// row, in the standard nested checkpoint schema (protocol "Checkpoint Schema"), so other engines
// can start from it too. Written through the nested API of our Parquet library.
// Thread-safety: free functions, reentrant.
#pragma once

#include <cstdint>

#include "sluice/base/status.h"
#include "sluice/lake/delta_log.h"

namespace sluice::lake {

// Writes the checkpoint of `state` (at state.version) and then `_last_checkpoint`. The checkpoint
// file appears atomically (temporary name, fsync, rename).
Status WriteCheckpoint(const std::string& table_dir, const TableState& state);
// Reads the checkpoint of `version` back into a state.
Result<TableState> ReadCheckpoint(const std::string& table_dir, int64_t version);


}  // namespace sluice::lake
