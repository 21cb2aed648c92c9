#include "sluice/lake/checkpoint.h"

#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sluice/formats/parquet/parquet.h"
#include "sluice/io/file_system.h"
#include "sluice/lake/partitioning.h"

namespace sluice::lake {
namespace {

using parquet::NestedField;
using parquet::NestedValue;

NestedField Str(std::string name) { return NestedField::Primitive(std::move(name), DataType::String()); }
NestedField Long(std::string name) { return NestedField::Primitive(std::move(name), DataType::Int64()); }
NestedField Bool(std::string name) { return NestedField::Primitive(std::move(name), DataType::Bool()); }
NestedField StrMap(std::string name) {
  return NestedField::Map(std::move(name), NestedField::Primitive("key", DataType::String(), true), Str("value"));
}

enum Column { kTxn, kAdd, kRemove, kMetaData, kProtocol, kColumns };

// The V1 checkpoint schema of the protocol ("Checkpoint Schema"), the fields we write.
std::vector<NestedField> CheckpointSchema() {
  return {
      NestedField::Struct("txn", {Str("appId"), Long("version"), Long("lastUpdated")}),
      NestedField::Struct("add", {Str("path"), StrMap("partitionValues"), Long("size"), Long("modificationTime"),
                                  Bool("dataChange"), Str("stats"), StrMap("tags")}),
      NestedField::Struct("remove", {Str("path"), Long("deletionTimestamp"), Bool("dataChange"),
                                     Bool("extendedFileMetadata"), StrMap("partitionValues"), Long("size")}),
      NestedField::Struct("metaData",
                          {Str("id"), Str("name"), Str("description"),
                           NestedField::Struct("format", {Str("provider"), StrMap("options")}), Str("schemaString"),
                           NestedField::List("partitionColumns", Str("element")), StrMap("configuration"),
                           Long("createdTime")}),
      NestedField::Struct("protocol", {NestedField::Primitive("minReaderVersion", DataType::Int32()),
                                       NestedField::Primitive("minWriterVersion", DataType::Int32())}),
  };
}

NestedValue S(const std::string& s) { return NestedValue::Scalar(Value::String(s)); }
NestedValue L(int64_t v) { return NestedValue::Scalar(Value::Int64(v)); }
NestedValue B(bool v) { return NestedValue::Scalar(Value::Bool(v)); }

// Partition values with an explicit null entry for every NULL partition column.
NestedValue PartitionValues(const std::map<std::string, std::string>& values, const std::vector<std::string>& columns) {
  std::vector<parquet::NestedEntry> entries;
  for (const auto& c : columns) {
    auto it = values.find(c);
    entries.push_back({S(c), it == values.end() ? NestedValue::Null() : S(it->second)});
  }
  for (const auto& [k, v] : values) {
    if (std::find(columns.begin(), columns.end(), k) == columns.end()) entries.push_back({S(k), S(v)});
  }
  return NestedValue::Map(std::move(entries));
}

std::vector<NestedValue> Row(Column c, NestedValue v) {
  std::vector<NestedValue> row(kColumns);
  row[c] = std::move(v);
  return row;
}

// ----- reading: fields by name, so checkpoints of other writers (more fields, other order) work.

const NestedValue* Child(const NestedField& f, const NestedValue& v, std::string_view name) {
  if (v.is_null() || v.kind != NestedValue::Kind::kStruct) return nullptr;
  for (size_t i = 0; i < f.children.size() && i < v.children.size(); ++i) {
    if (f.children[i].name == name) return v.children[i].is_null() ? nullptr : &v.children[i];
  }
  return nullptr;
}
const NestedField* ChildField(const NestedField& f, std::string_view name) {
  for (const auto& c : f.children) {
    if (c.name == name) return &c;
  }
  return nullptr;
}
std::string GetStr(const NestedField& f, const NestedValue& v, std::string_view name) {
  const NestedValue* c = Child(f, v, name);
  return c && c->kind == NestedValue::Kind::kScalar && !c->scalar.is_null() ? c->scalar.string_value() : "";
}
int64_t GetInt(const NestedField& f, const NestedValue& v, std::string_view name, int64_t dflt) {
  const NestedValue* c = Child(f, v, name);
  return c && c->kind == NestedValue::Kind::kScalar && !c->scalar.is_null() ? c->scalar.int_value() : dflt;
}
bool GetBool(const NestedField& f, const NestedValue& v, std::string_view name, bool dflt) {
  const NestedValue* c = Child(f, v, name);
  return c && c->kind == NestedValue::Kind::kScalar && !c->scalar.is_null() ? c->scalar.bool_value() : dflt;
}
std::map<std::string, std::string> GetMap(const NestedField& f, const NestedValue& v, std::string_view name,
                                          bool skip_empty) {
  std::map<std::string, std::string> out;
  const NestedValue* c = Child(f, v, name);
  if (!c || c->kind != NestedValue::Kind::kMap) return out;
  for (const auto& [k, val] : c->entries) {
    if (k.is_null() || val.is_null() || val.kind != NestedValue::Kind::kScalar || val.scalar.is_null()) continue;
    if (skip_empty && val.scalar.string_value().empty()) continue;
    out[k.scalar.string_value()] = val.scalar.string_value();
  }
  return out;
}

std::string TempName(const std::string& path) {
  auto slash = path.rfind('/');
  return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + "." + NewUuid() + ".tmp";
}

}  // namespace


Status WriteCheckpoint(const std::string& table_dir, const TableState& state) {
  if (!state.has_metadata) return Status::FailedPrecondition("{}: no metadata to checkpoint", table_dir);
  const std::string path = CheckpointFilePath(table_dir, state.version);
  const std::string tmp = TempName(path);
  parquet::WriterOptions opts;
  opts.compression = parquet::Compression::kSnappy;  // what every Delta reader can decompress
  SLUICE_ASSIGN_OR_RETURN(auto writer, parquet::NestedWriter::Open(tmp, CheckpointSchema(), opts));
  const auto& parts = state.metadata.partition_columns;
  auto write_all = [&]() -> Status {
    SLUICE_RETURN_IF_ERROR(writer->WriteRow(Row(
        kProtocol, NestedValue::Struct({NestedValue::Scalar(Value::Int32(state.protocol.min_reader_version)),
                                        NestedValue::Scalar(Value::Int32(state.protocol.min_writer_version))}))));
    const auto& md = state.metadata;
    SLUICE_RETURN_IF_ERROR(writer->WriteRow(Row(
        kMetaData,
        NestedValue::Struct({S(md.id), NestedValue::Null(), NestedValue::Null(),
                             NestedValue::Struct({S("parquet"), NestedValue::StringMap({})}), S(md.schema_string),
                             NestedValue::StringList(md.partition_columns), NestedValue::StringMap(md.configuration),
                             L(md.created_time)}))));
    for (const auto& [app, t] : state.txns) {
      SLUICE_RETURN_IF_ERROR(
          writer->WriteRow(Row(kTxn, NestedValue::Struct({S(t.app_id), L(t.version), L(t.last_updated)}))));
    }
    for (const auto& [p, a] : state.files) {
      SLUICE_RETURN_IF_ERROR(writer->WriteRow(
          Row(kAdd, NestedValue::Struct({S(EncodeLogPath(a.path)), PartitionValues(a.partition_values, parts),
                                         L(a.size), L(a.modification_time), B(a.data_change),
                                         a.stats_json.empty() ? NestedValue::Null() : S(a.stats_json),
                                         NestedValue::Null()}))));
    }
    // Tombstones stay in checkpoints so that Vacuum can honour the retention after a replay.
    for (const auto& [p, r] : state.tombstones) {
      bool extended = r.size >= 0;
      SLUICE_RETURN_IF_ERROR(writer->WriteRow(Row(
          kRemove, NestedValue::Struct({S(EncodeLogPath(r.path)), L(r.deletion_timestamp), B(r.data_change),
                                        B(extended),
                                        extended ? PartitionValues(r.partition_values, parts) : NestedValue::Null(),
                                        extended ? L(r.size) : NestedValue::Null()}))));
    }
    return writer->Close();
  };
  Status st = write_all();
  if (!st.ok()) {
    writer.reset();
    ::unlink(tmp.c_str());
    return st.WithContext(path);
  }
  const int64_t rows = writer->rows_written();
  if (Status moved = io::RenameDurably(tmp, path); !moved.ok()) {
    ::unlink(tmp.c_str());
    return moved.WithContext("moving the checkpoint into place");
  }
  return WriteLastCheckpoint(table_dir, LastCheckpoint{state.version, rows});
}

Result<TableState> ReadCheckpoint(const std::string& table_dir, int64_t version) {
  const std::string path = CheckpointFilePath(table_dir, version);
  SLUICE_ASSIGN_OR_RETURN(parquet::NestedFile file, parquet::ReadNestedFile(path));
  // Columns by name; the ones we do not know (checkpointMetadata, sidecar, ...) are ignored.
  std::vector<int> which(file.schema.size(), -1);
  const char* names[kColumns] = {"txn", "add", "remove", "metaData", "protocol"};
  for (size_t i = 0; i < file.schema.size(); ++i) {
    for (int c = 0; c < kColumns; ++c) {
      if (file.schema[i].name == names[c]) which[i] = c;
    }
  }
  TableState state;
  bool has_protocol = false;
  for (const auto& row : file.rows) {
    for (size_t i = 0; i < row.size() && i < which.size(); ++i) {
      if (which[i] < 0 || row[i].is_null()) continue;
      const NestedField& f = file.schema[i];
      const NestedValue& v = row[i];
      switch (which[i]) {
        case kTxn:
          state.txns[GetStr(f, v, "appId")] =
              TxnAction{GetStr(f, v, "appId"), GetInt(f, v, "version", 0), GetInt(f, v, "lastUpdated", 0)};
          break;
        case kAdd: {
          AddFile a;
          SLUICE_ASSIGN_OR_RETURN(a.path, TablePathFromLog(GetStr(f, v, "path")));
          a.partition_values = GetMap(f, v, "partitionValues", /*skip_empty=*/true);
          a.size = GetInt(f, v, "size", 0);
          a.modification_time = GetInt(f, v, "modificationTime", 0);
          a.data_change = GetBool(f, v, "dataChange", true);
          a.stats_json = GetStr(f, v, "stats");
          a.num_records = NumRecordsFromStats(a.stats_json);
          std::string key = a.path;
          state.files[key] = std::move(a);
          break;
        }
        case kRemove: {
          RemoveFile r;
          SLUICE_ASSIGN_OR_RETURN(r.path, TablePathFromLog(GetStr(f, v, "path")));
          r.deletion_timestamp = GetInt(f, v, "deletionTimestamp", 0);
          r.data_change = GetBool(f, v, "dataChange", true);
          r.partition_values = GetMap(f, v, "partitionValues", true);
          r.size = GetInt(f, v, "size", -1);
          std::string key = r.path;
          state.tombstones[key] = std::move(r);
          break;
        }
        case kMetaData: {
          MetadataAction md;
          md.id = GetStr(f, v, "id");
          md.schema_string = GetStr(f, v, "schemaString");
          md.configuration = GetMap(f, v, "configuration", false);
          md.created_time = GetInt(f, v, "createdTime", 0);
          if (const NestedValue* cols = Child(f, v, "partitionColumns")) {
            for (const auto& item : cols->children) {
              if (!item.is_null()) md.partition_columns.push_back(item.scalar.string_value());
            }
          }
          if (const NestedField* ff = ChildField(f, "format")) {
            if (const NestedValue* fv = Child(f, v, "format")) {
              std::string provider = GetStr(*ff, *fv, "provider");
              if (!provider.empty() && provider != "parquet") {
                return Status::DataError("{}: table format '{}' is not supported (only parquet)", path, provider);
              }
            }
          }
          state.metadata = std::move(md);
          state.has_metadata = true;
          break;
        }
        case kProtocol:
          state.protocol.min_reader_version = static_cast<int>(GetInt(f, v, "minReaderVersion", 1));
          state.protocol.min_writer_version = static_cast<int>(GetInt(f, v, "minWriterVersion", 2));
          has_protocol = true;
          break;
      }
    }
  }
  if (!state.has_metadata || !has_protocol) {
    return Status::DataError("{}: the checkpoint lacks its {} action", path, state.has_metadata ? "protocol" : "metaData");
  }
  state.version = version;
  return state;
}

}  // namespace sluice::lake
