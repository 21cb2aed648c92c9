// The data files of a table: writing rows into partitioned Parquet files (TableWriter, Optimize)
// and reading one file back as rows of the table's schema (Scan, Optimize). Internal to the lake.
// Thread-safety: a DataFileWriter is used by one thread at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/lake/delta_table.h"

namespace sluice::lake {

// Writes rows with (a subset of) the table's columns into Parquet files under the table
// directory: one open file per tuple of partition values, rolled at target_file_bytes, named
// <partition dirs>/part-<seq:05>-<uuid>.parquet, without the partition columns. Batch columns are
// matched to the table's by name; a nullable table column missing from the batch is written as
// NULL; a batch column the table does not have, or of another type, is InvalidArgument.
class DataFileWriter {
 public:
  DataFileWriter(std::string table_dir, SchemaPtr table_schema, std::vector<std::string> partition_columns,
                 TableWriterOptions options);
  ~DataFileWriter();  // deletes the files of an unfinished write (they can never be committed)
  Status Write(const Batch& batch);
  // Closes every open file (fsync of files and directories) and returns them as adds.
  Result<std::vector<AddFile>> Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The columns a data file stores: the table's minus its partition columns.
SchemaPtr DataSchema(const Schema& table_schema, const std::vector<std::string>& partition_columns);

// Reads `file` as batches of `output` (fields of the table schema, in any order): data columns
// from the file (NULL for columns added to the table after the file was written), partition
// columns from its partition values. Stops after `limit` rows (-1: no limit); returns the rows read.
Result<int64_t> ReadDataFile(const std::string& table_dir, const AddFile& file, const Snapshot& snapshot,
                             const SchemaPtr& output, int64_t limit, const std::function<Status(Batch)>& on_batch);

// The Delta `stats` JSON of a written file, from the statistics in its Parquet footer:
// {"numRecords":N,"minValues":{…},"maxValues":{…},"nullCount":{…}}. Strings longer than 32
// characters get a truncated min and no max; timestamps are widened to milliseconds.
std::string StatsJsonFromFooter(const parquet::FileInfo& info);

}  // namespace sluice::lake
