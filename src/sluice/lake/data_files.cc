#include "sluice/lake/data_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "sluice/base/strings.h"
#include "sluice/io/file_system.h"
#include "sluice/lake/delta_log.h"
#include "sluice/lake/partitioning.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::lake {
namespace {

constexpr size_t kStatsStringPrefix = 32;  // characters, as Delta writers truncate
constexpr size_t kConstantBatchRows = 4096;

// Byte length of the first `n` UTF-8 characters of `s` (all of it if shorter).
size_t Utf8PrefixBytes(std::string_view s, size_t n, size_t* chars) {
  size_t count = 0, i = 0;
  while (i < s.size() && count < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    i = std::min(s.size(), i + len);
    ++count;
  }
  // Count the rest too, so the caller knows whether it was truncated.
  size_t total = count;
  for (size_t j = i; j < s.size(); ++j) {
    if ((static_cast<unsigned char>(s[j]) & 0xC0) != 0x80) ++total;
  }
  if (chars) *chars = total;
  return i;
}

int CompareValues(const Value& a, const Value& b) {
  switch (a.type().id) {
    case TypeId::kFloat64:
      return a.double_value() < b.double_value() ? -1 : a.double_value() > b.double_value() ? 1 : 0;
    case TypeId::kString:
    case TypeId::kBinary:
      return a.string_value().compare(b.string_value());  // char_traits<char> compares as unsigned
    default:
      return a.int_value() < b.int_value() ? -1 : a.int_value() > b.int_value() ? 1 : 0;
  }
}

std::string TimestampMillisText(int64_t micros) {
  int64_t ms = micros / 1000;
  int32_t days = TimestampToDays(micros);
  int64_t in_day_ms = ms - static_cast<int64_t>(days) * 86400000;
  std::string out = FormatDate(days);
  out += fmt::format("T{:02d}:{:02d}:{:02d}.{:03d}Z", in_day_ms / 3600000, in_day_ms / 60000 % 60,
                     in_day_ms / 1000 % 60, in_day_ms % 1000);
  return out;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The JSON text of a min (is_max=false) or max statistic, or empty if none can be written.
std::string StatJson(const Value& v, bool is_max) {
  switch (v.type().id) {
    case TypeId::kBool:
      return v.bool_value() ? "true" : "false";
    case TypeId::kInt32:
    case TypeId::kInt64:
      return std::to_string(v.int_value());
    case TypeId::kFloat64:
      if (!std::isfinite(v.double_value())) return "";
      return fmt::format("{}", v.double_value());
    case TypeId::kDecimal:
      return FormatDecimal(v.int_value(), v.type().scale);
    case TypeId::kDate:
      return "\"" + FormatDate(static_cast<int32_t>(v.int_value())) + "\"";
    case TypeId::kTimestamp: {
      // Millisecond precision, widened so the bound stays a bound.
      int64_t ms = FloorDiv(v.int_value(), 1000);
      if (is_max && ms * 1000 != v.int_value()) ++ms;
      return "\"" + TimestampMillisText(ms * 1000) + "\"";
    }
    case TypeId::kString: {
      size_t chars = 0;
      size_t bytes = Utf8PrefixBytes(v.string_value(), kStatsStringPrefix, &chars);
      if (chars > kStatsStringPrefix && is_max) return "";  // a prefix is no upper bound
      return nlohmann::json(v.string_value().substr(0, bytes)).dump();
    }
    default:
      return "";
  }
}

Status Stop() { return Status(StatusCode::kAborted, "lake: scan limit reached"); }
bool IsStop(const Status& st) { return st.code() == StatusCode::kAborted && st.message() == "lake: scan limit reached"; }

}  // namespace

SchemaPtr DataSchema(const Schema& table_schema, const std::vector<std::string>& partition_columns) {
  std::vector<Field> fields;
  for (const auto& f : table_schema.fields()) {
    if (std::find(partition_columns.begin(), partition_columns.end(), f.name) == partition_columns.end()) {
      fields.push_back(f);
    }
  }
  return std::make_shared<const Schema>(std::move(fields));
}

std::string StatsJsonFromFooter(const parquet::FileInfo& info) {
  std::string min_obj, max_obj, null_obj;
  auto add = [](std::string& obj, const std::string& name, const std::string& value) {
    if (value.empty()) return;
    obj += obj.empty() ? "" : ",";
    obj += nlohmann::json(name).dump();
    obj += ':';
    obj += value;
  };
  const Schema& schema = *info.schema;
  for (size_t c = 0; c < schema.size(); ++c) {
    std::optional<Value> lo, hi;
    bool bounds_ok = true;
    int64_t nulls = 0;
    bool nulls_ok = true;
    for (const auto& rg : info.row_groups) {
      if (c >= rg.columns.size()) {
        bounds_ok = nulls_ok = false;
        break;
      }
      const auto& cs = rg.columns[c];
      if (cs.null_count) {
        nulls += *cs.null_count;
      } else {
        nulls_ok = false;
      }
      bool all_null = cs.null_count && *cs.null_count == rg.num_rows;
      if (all_null) continue;
      if (!cs.min || !cs.max || cs.min->is_null() || cs.max->is_null()) {
        bounds_ok = false;
        continue;
      }
      if (!lo || CompareValues(*cs.min, *lo) < 0) lo = cs.min;
      if (!hi || CompareValues(*cs.max, *hi) > 0) hi = cs.max;
    }
    const std::string& name = schema.field(c).name;
    if (bounds_ok && lo && hi) {
      add(min_obj, name, StatJson(*lo, false));
      add(max_obj, name, StatJson(*hi, true));
    }
    if (nulls_ok) add(null_obj, name, std::to_string(nulls));
  }
  return fmt::format("{{\"numRecords\":{},\"minValues\":{{{}}},\"maxValues\":{{{}}},\"nullCount\":{{{}}}}}",
                     info.num_rows, min_obj, max_obj, null_obj);
}

// ----------------------------------------------------------------------------- writer

struct DataFileWriter::Impl {
  struct OpenFile {
    std::unique_ptr<parquet::Writer> writer;
    std::string rel_path;
    std::map<std::string, std::string> partition_values;
  };
  using Key = std::vector<std::optional<std::string>>;

  std::string dir;
  SchemaPtr table_schema;
  std::vector<std::string> partition_columns;
  TableWriterOptions options;
  SchemaPtr data_schema;
  std::vector<size_t> partition_index;  // table-schema index of each partition column
  std::vector<size_t> data_index;       // table-schema index of each data-schema field

  std::map<Key, OpenFile> open;
  std::vector<AddFile> finished;
  std::vector<std::string> written;  // every file created, for cleanup of an unfinished write
  std::set<std::string> dirs;        // directories that received new entries
  int seq = 0;
  bool done = false;

  std::string Full(const std::string& rel) const { return rel.empty() ? dir : dir + "/" + rel; }

  Status CloseFile(OpenFile& f) {
    std::string full = Full(f.rel_path);
    SLUICE_RETURN_IF_ERROR(f.writer->Close());
    int64_t rows = f.writer->rows_written();
    f.writer.reset();
    struct stat st;
    if (::stat(full.c_str(), &st) != 0) return Status::IoError("{}: stat failed after writing", full);
    AddFile add;
    add.path = f.rel_path;
    add.partition_values = f.partition_values;
    add.size = static_cast<int64_t>(st.st_size);
    add.modification_time = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    add.data_change = true;
    add.num_records = rows;
    // The statistics are the ones the writer put in the footer.
    SLUICE_ASSIGN_OR_RETURN(auto reader, parquet::Reader::Open(full));
    add.stats_json = StatsJsonFromFooter(reader->info());
    finished.push_back(std::move(add));
    return Status::OK();
  }

  Result<OpenFile*> FileFor(const Key& key) {
    auto it = open.find(key);
    if (it != open.end()) return &it->second;
    OpenFile f;
    std::string rel_dir = PartitionDirectory(partition_columns, key);
    for (size_t i = 0; i < key.size(); ++i) {
      if (key[i]) f.partition_values[partition_columns[i]] = *key[i];
    }
    // New partition directories are made durable in their parents here, the file's own entry in
    // Finish().
    if (!rel_dir.empty()) SLUICE_RETURN_IF_ERROR(io::MakeDirs(Full(rel_dir)));
    dirs.insert(rel_dir);
    std::string name = fmt::format("part-{:05d}-{}.parquet", seq++, NewUuid());
    f.rel_path = rel_dir.empty() ? name : rel_dir + "/" + name;
    parquet::WriterOptions opts = options.parquet;
    opts.row_group_bytes = std::min<size_t>(opts.row_group_bytes, static_cast<size_t>(options.target_file_bytes));
    written.push_back(Full(f.rel_path));
    SLUICE_ASSIGN_OR_RETURN(f.writer, parquet::Writer::Open(Full(f.rel_path), data_schema, opts));
    auto [pos, inserted] = open.emplace(key, std::move(f));
    return &pos->second;
  }

  Status WriteTo(const Key& key, const Batch& batch) {
    SLUICE_ASSIGN_OR_RETURN(OpenFile * f, FileFor(key));
    SLUICE_RETURN_IF_ERROR(f->writer->Write(batch));
    if (f->writer->bytes_written() >= options.target_file_bytes) {
      Status st = CloseFile(*f);
      open.erase(key);
      return st;
    }
    return Status::OK();
  }
};

DataFileWriter::DataFileWriter(std::string table_dir, SchemaPtr table_schema,
                               std::vector<std::string> partition_columns, TableWriterOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->dir = std::move(table_dir);
  impl_->table_schema = std::move(table_schema);
  impl_->partition_columns = std::move(partition_columns);
  impl_->options = std::move(options);
  if (impl_->options.target_file_bytes <= 0) impl_->options.target_file_bytes = 128ll << 20;
  impl_->data_schema = DataSchema(*impl_->table_schema, impl_->partition_columns);
  for (const auto& p : impl_->partition_columns) {
    impl_->partition_index.push_back(*impl_->table_schema->IndexOf(p));
  }
  for (const auto& f : impl_->data_schema->fields()) {
    impl_->data_index.push_back(*impl_->table_schema->IndexOf(f.name));
  }
}

DataFileWriter::~DataFileWriter() {
  if (impl_->done) return;
  for (auto& [key, f] : impl_->open) f.writer.reset();
  for (const auto& path : impl_->written) ::unlink(path.c_str());
}

Status DataFileWriter::Write(const Batch& batch) {
  if (impl_->done) return Status::FailedPrecondition("{}: write after Finish", impl_->dir);
  const Schema& table = *impl_->table_schema;
  const size_t n = batch.num_rows();
  std::vector<ColumnPtr> cols(table.size());
  for (size_t i = 0; i < batch.num_columns(); ++i) {
    const Field& bf = batch.schema()->field(i);
    auto idx = table.IndexOf(bf.name);
    if (!idx) {
      return Status::InvalidArgument("{}: the table has no column '{}'{}", impl_->dir, bf.name,
                                     DidYouMeanSuffix(bf.name, table.names()));
    }
    if (table.field(*idx).type != bf.type) {
      return Status::InvalidArgument("{}: column '{}' has type {} in the table but {} in the batch", impl_->dir,
                                     bf.name, table.field(*idx).type.ToString(), bf.type.ToString());
    }
    cols[*idx] = batch.column(i);
  }
  for (size_t i = 0; i < table.size(); ++i) {
    if (cols[i]) continue;
    if (table.field(i).required) {
      return Status::InvalidArgument("{}: the batch lacks required column '{}'", impl_->dir, table.field(i).name);
    }
    cols[i] = MakeConstantColumn(Value::Null(table.field(i).type), n);
  }
  std::vector<ColumnPtr> data_cols;
  data_cols.reserve(impl_->data_index.size());
  for (size_t idx : impl_->data_index) data_cols.push_back(cols[idx]);
  Batch data(impl_->data_schema, std::move(data_cols), n);

  if (impl_->partition_columns.empty()) {
    if (batch.has_selection()) data.set_selection(*batch.selection());
    if (batch.active_rows() == 0) return Status::OK();
    return impl_->WriteTo({}, data);
  }
  // Group the active rows by their tuple of partition values; each group goes to its file
  // through a selection vector (no copy).
  std::map<Impl::Key, SelectionVector> groups;
  Impl::Key key(impl_->partition_index.size());
  Impl::Key last;
  SelectionVector* last_rows = nullptr;
  Status st;
  batch.ForEachActive([&](uint32_t r) {
    if (!st.ok()) return;
    for (size_t k = 0; k < impl_->partition_index.size(); ++k) {
      auto v = FormatPartitionValue(*cols[impl_->partition_index[k]], r);
      if (!v.ok()) {
        st = v.status();
        return;
      }
      key[k] = std::move(v).value();
    }
    if (last_rows == nullptr || key != last) {
      last = key;
      last_rows = &groups[key];
    }
    last_rows->push_back(r);
  });
  SLUICE_RETURN_IF_ERROR(st);
  for (auto& [k, rows] : groups) {
    Batch part = data;
    part.set_selection(std::move(rows));
    SLUICE_RETURN_IF_ERROR(impl_->WriteTo(k, part));
  }
  return Status::OK();
}

Result<std::vector<AddFile>> DataFileWriter::Finish() {
  if (impl_->done) return Status::FailedPrecondition("{}: Finish called twice", impl_->dir);
  for (auto& [key, f] : impl_->open) SLUICE_RETURN_IF_ERROR(impl_->CloseFile(f));
  impl_->open.clear();
  // The files are fsynced by the Parquet writer; their directory entries must be durable too
  // before a commit may name them.
  for (const auto& d : impl_->dirs) SLUICE_RETURN_IF_ERROR(io::SyncDir(impl_->Full(d)));
  impl_->done = true;
  std::vector<AddFile> out = std::move(impl_->finished);
  std::sort(out.begin(), out.end(), [](const AddFile& a, const AddFile& b) { return a.path < b.path; });
  return out;
}

// ----------------------------------------------------------------------------- reading

Result<int64_t> ReadDataFile(const std::string& table_dir, const AddFile& file, const Snapshot& snapshot,
                             const SchemaPtr& output, int64_t limit, const std::function<Status(Batch)>& on_batch) {
  if (limit == 0) return int64_t{0};
  const std::string full = table_dir + "/" + file.path;
  SLUICE_ASSIGN_OR_RETURN(auto reader, parquet::Reader::Open(full));
  const Schema& fs = *reader->info().schema;
  enum class Kind { kFile, kConstant };
  struct Source {
    Kind kind;
    size_t pos = 0;
    Value constant;
  };
  std::vector<Source> sources;
  std::vector<std::string> read_columns;
  for (const auto& f : output->fields()) {
    bool is_partition = std::find(snapshot.partition_columns.begin(), snapshot.partition_columns.end(), f.name) !=
                        snapshot.partition_columns.end();
    if (is_partition) {
      auto it = file.partition_values.find(f.name);
      std::optional<std::string> text;
      if (it != file.partition_values.end()) text = it->second;
      auto v = ParsePartitionValue(text, f.type);
      if (!v.ok()) return v.status().WithContext(fmt::format("{}: partition column '{}'", full, f.name));
      sources.push_back({Kind::kConstant, 0, std::move(v).value()});
    } else if (auto idx = fs.IndexOf(f.name)) {
      if (fs.field(*idx).type != f.type) {
        return Status::DataError("{}: column '{}' is {} in the file but {} in the table", full, f.name,
                                 fs.field(*idx).type.ToString(), f.type.ToString());
      }
      sources.push_back({Kind::kFile, read_columns.size(), Value()});
      read_columns.push_back(f.name);
    } else {
      // A column added to the table after this file was written.
      sources.push_back({Kind::kConstant, 0, Value::Null(f.type)});
    }
  }
  int64_t emitted = 0;
  auto emit = [&](const Batch* read, size_t n) -> Status {
    if (limit >= 0 && emitted + static_cast<int64_t>(n) > limit) n = static_cast<size_t>(limit - emitted);
    std::vector<ColumnPtr> cols;
    cols.reserve(sources.size());
    std::vector<uint32_t> first;
    if (read && n < read->num_rows()) {
      first.resize(n);
      for (size_t i = 0; i < n; ++i) first[i] = static_cast<uint32_t>(i);
    }
    for (const auto& s : sources) {
      if (s.kind == Kind::kConstant) {
        cols.push_back(MakeConstantColumn(s.constant, n));
      } else if (!first.empty() || (read && n == 0)) {
        cols.push_back(read->column(s.pos)->Gather(first.data(), n));
      } else {
        cols.push_back(read->column(s.pos));
      }
    }
    emitted += static_cast<int64_t>(n);
    if (n > 0) SLUICE_RETURN_IF_ERROR(on_batch(Batch(output, std::move(cols), n)));
    return limit >= 0 && emitted >= limit ? Stop() : Status::OK();
  };
  Status st;
  if (read_columns.empty()) {
    // Only partition (or NULL) columns: the footer's row count is all we need.
    int64_t total = reader->info().num_rows;
    for (int64_t done = 0; done < total && st.ok();) {
      size_t n = static_cast<size_t>(std::min<int64_t>(kConstantBatchRows, total - done));
      done += static_cast<int64_t>(n);
      st = emit(nullptr, n);
    }
  } else {
    parquet::ReadOptions ro;
    ro.columns = read_columns;
    st = reader->Read(ro, [&](Batch b) -> Status {
      if (b.has_selection()) b = b.Compact();
      return emit(&b, b.num_rows());
    });
  }
  if (!st.ok() && !IsStop(st)) return st;
  return emitted;
}

}  // namespace sluice::lake
