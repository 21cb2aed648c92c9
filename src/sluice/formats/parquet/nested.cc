// Nested Parquet files, row-wise: shredding values into repetition/definition levels per leaf
// column on write, and assembling them back into values on read (the record shredding and
// assembly of the Dremel paper, limited to structs, lists and maps).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "sluice/formats/parquet/parquet.h"
#include "sluice/formats/parquet/parquet_internal.h"

namespace sluice::parquet {

// ============================================================================= values

NestedField NestedField::Primitive(std::string name, DataType type, bool required) {
  NestedField f;
  f.name = std::move(name);
  f.kind = Kind::kPrimitive;
  f.type = type;
  f.required = required;
  return f;
}

NestedField NestedField::Struct(std::string name, std::vector<NestedField> fields, bool required) {
  NestedField f;
  f.name = std::move(name);
  f.kind = Kind::kStruct;
  f.children = std::move(fields);
  f.required = required;
  return f;
}

NestedField NestedField::List(std::string name, NestedField element, bool required) {
  NestedField f;
  f.name = std::move(name);
  f.kind = Kind::kList;
  element.name = "element";
  f.children.push_back(std::move(element));
  f.required = required;
  return f;
}

NestedField NestedField::Map(std::string name, NestedField key, NestedField value, bool required) {
  NestedField f;
  f.name = std::move(name);
  f.kind = Kind::kMap;
  key.name = "key";
  key.required = true;
  value.name = "value";
  f.children.push_back(std::move(key));
  f.children.push_back(std::move(value));
  f.required = required;
  return f;
}

NestedValue NestedValue::Null() { return NestedValue(); }

NestedValue NestedValue::Scalar(Value v) {
  NestedValue n;
  if (v.is_null()) return n;
  n.kind = Kind::kScalar;
  n.scalar = std::move(v);
  return n;
}

NestedValue NestedValue::Struct(std::vector<NestedValue> fields) {
  NestedValue n;
  n.kind = Kind::kStruct;
  n.children = std::move(fields);
  return n;
}

NestedValue NestedValue::List(std::vector<NestedValue> items) {
  NestedValue n;
  n.kind = Kind::kList;
  n.children = std::move(items);
  return n;
}

NestedValue NestedValue::Map(std::vector<NestedEntry> entries) {
  NestedValue n;
  n.kind = Kind::kMap;
  n.entries = std::move(entries);
  return n;
}

NestedValue NestedValue::StringMap(const std::map<std::string, std::string>& m) {
  std::vector<NestedEntry> e;
  for (const auto& [k, v] : m) e.push_back(NestedEntry{Scalar(Value::String(k)), Scalar(Value::String(v))});
  return Map(std::move(e));
}

NestedValue NestedValue::StringList(const std::vector<std::string>& items) {
  std::vector<NestedValue> v;
  for (const auto& s : items) v.push_back(Scalar(Value::String(s)));
  return List(std::move(v));
}

const NestedValue& NestedValue::field(size_t i) const {
  static const NestedValue kNull;
  return kind == Kind::kStruct && i < children.size() ? children[i] : kNull;
}

bool NestedValue::operator==(const NestedValue& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::kNull: return true;
    case Kind::kScalar:
      if (scalar.type().id == TypeId::kFloat64 && o.scalar.type().id == TypeId::kFloat64 &&
          std::isnan(scalar.double_value()) && std::isnan(o.scalar.double_value())) {
        return true;
      }
      return scalar == o.scalar;
    case Kind::kStruct:
    case Kind::kList: return children == o.children;
    case Kind::kMap: return entries == o.entries;
  }
  return false;
}

std::string NestedValue::ToString() const {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kScalar:
      return scalar.type().is_variable_width() || scalar.type().id == TypeId::kDate ||
                     scalar.type().id == TypeId::kTimestamp
                 ? "\"" + scalar.ToString() + "\""
                 : scalar.ToString();
    case Kind::kStruct:
    case Kind::kList: {
      std::string s = kind == Kind::kStruct ? "{" : "[";
      for (size_t i = 0; i < children.size(); ++i) s += (i ? ", " : "") + children[i].ToString();
      return s + (kind == Kind::kStruct ? "}" : "]");
    }
    case Kind::kMap: {
      std::string s = "{";
      for (size_t i = 0; i < entries.size(); ++i) {
        s += (i ? ", " : "") + entries[i].key.ToString() + ": " + entries[i].value.ToString();
      }
      return s + "}";
    }
  }
  return "?";
}

namespace {

using format::Repetition;

// A node of the Parquet schema tree, with its levels and the leaf columns below it.
struct PNode {
  std::string name;
  std::string path;  // dotted, for errors
  Repetition rep = Repetition::REQUIRED;
  bool leaf = false;
  bool is_list = false, is_map = false;  // group annotations
  int def_level = 0, rep_level = 0;      // levels at this node (inclusive)
  size_t leaf_begin = 0, leaf_end = 0;
  std::vector<PNode> children;
  internal::LeafInfo info;  // leaves
};

Repetition RepOf(const NestedField& f) { return f.required ? Repetition::REQUIRED : Repetition::OPTIONAL; }

void SetLevels(PNode& n, int parent_def, int parent_rep) {
  n.def_level = parent_def + (n.rep != Repetition::REQUIRED ? 1 : 0);
  n.rep_level = parent_rep + (n.rep == Repetition::REPEATED ? 1 : 0);
}

// ============================================================================= writing

struct LeafBuffer {
  std::vector<std::string> path;
  DataType type;
  int max_def = 0, max_rep = 0;
  std::vector<uint8_t> def, rep;
  ColumnPtr values;
  size_t value_bytes = 0;
};

Status BuildWriteTree(const NestedField& f, Repetition rep, const std::string& name, const std::string& parent_path,
                      int parent_def, int parent_rep, std::vector<std::string> path_names,
                      std::vector<LeafBuffer>* leaves, std::vector<format::SchemaElement>* elems, PNode* out) {
  out->name = name;
  out->path = parent_path.empty() ? name : parent_path + "." + name;
  out->rep = rep;
  SetLevels(*out, parent_def, parent_rep);
  path_names.push_back(name);
  out->leaf_begin = leaves->size();
  if (out->def_level > 250 || out->rep_level > 250) return Status::InvalidArgument("field '{}' is nested too deeply", out->path);
  switch (f.kind) {
    case NestedField::Kind::kPrimitive: {
      if (f.type.id == TypeId::kNull || (f.type.id == TypeId::kDecimal && (f.type.precision < 1 || f.type.precision > 18))) {
        return Status::InvalidArgument("field '{}' has unsupported type {}", out->path, f.type.ToString());
      }
      out->leaf = true;
      out->info.type = f.type;
      elems->push_back(internal::LeafElement(name, f.type, rep));
      LeafBuffer lb;
      lb.path = path_names;
      lb.type = f.type;
      lb.max_def = out->def_level;
      lb.max_rep = out->rep_level;
      lb.values = std::make_shared<Column>(f.type);
      leaves->push_back(std::move(lb));
      break;
    }
    case NestedField::Kind::kStruct: {
      if (f.children.empty()) return Status::InvalidArgument("struct field '{}' has no fields", out->path);
      format::SchemaElement e;
      e.name = name;
      e.repetition = rep;
      e.num_children = static_cast<int32_t>(f.children.size());
      elems->push_back(e);
      for (const auto& c : f.children) {
        out->children.emplace_back();
        SLUICE_RETURN_IF_ERROR(BuildWriteTree(c, RepOf(c), c.name, out->path, out->def_level, out->rep_level,
                                              path_names, leaves, elems, &out->children.back()));
      }
      break;
    }
    case NestedField::Kind::kList:
    case NestedField::Kind::kMap: {
      bool is_map = f.kind == NestedField::Kind::kMap;
      if (f.children.size() != (is_map ? 2u : 1u)) {
        return Status::InvalidArgument("{} field '{}' needs {} child field(s)", is_map ? "map" : "list", out->path,
                                       is_map ? 2 : 1);
      }
      out->is_list = !is_map;
      out->is_map = is_map;
      format::SchemaElement e;
      e.name = name;
      e.repetition = rep;
      e.num_children = 1;
      e.converted_type = is_map ? format::ConvertedType::MAP : format::ConvertedType::LIST;
      e.logical_type.kind = is_map ? format::LogicalType::Kind::kMap : format::LogicalType::Kind::kList;
      elems->push_back(e);
      PNode r;
      r.name = is_map ? "key_value" : "list";
      r.path = out->path + "." + r.name;
      r.rep = Repetition::REPEATED;
      SetLevels(r, out->def_level, out->rep_level);
      r.leaf_begin = leaves->size();
      format::SchemaElement re;
      re.name = r.name;
      re.repetition = Repetition::REPEATED;
      re.num_children = static_cast<int32_t>(f.children.size());
      elems->push_back(re);
      auto names = path_names;
      names.push_back(r.name);
      for (size_t i = 0; i < f.children.size(); ++i) {
        const NestedField& c = f.children[i];
        std::string cname = is_map ? (i == 0 ? "key" : "value") : "element";
        Repetition crep = is_map && i == 0 ? Repetition::REQUIRED : RepOf(c);
        r.children.emplace_back();
        SLUICE_RETURN_IF_ERROR(BuildWriteTree(c, crep, cname, r.path, r.def_level, r.rep_level, names, leaves, elems,
                                              &r.children.back()));
      }
      r.leaf_end = leaves->size();
      out->children.push_back(std::move(r));
      break;
    }
  }
  out->leaf_end = leaves->size();
  return Status::OK();
}

class Shredder {
 public:
  explicit Shredder(std::vector<LeafBuffer>* leaves) : leaves_(leaves) {}

  Status Shred(const PNode& n, const NestedField& f, const NestedValue& v, int r, int d) {
    if (v.is_null()) {
      if (n.rep == Repetition::REQUIRED) return Status::InvalidArgument("field '{}' is required but null", n.path);
      EmitNull(n, r, d);
      return Status::OK();
    }
    int dd = n.def_level;
    switch (f.kind) {
      case NestedField::Kind::kPrimitive: {
        if (v.kind != NestedValue::Kind::kScalar || v.scalar.type() != f.type) {
          return Status::InvalidArgument("field '{}' is {}, got {}", n.path, f.type.ToString(),
                                         v.kind == NestedValue::Kind::kScalar ? v.scalar.type().ToString() : v.ToString());
        }
        LeafBuffer& lb = (*leaves_)[n.leaf_begin];
        lb.rep.push_back(static_cast<uint8_t>(r));
        lb.def.push_back(static_cast<uint8_t>(dd));
        lb.values->AppendValue(v.scalar);
        lb.value_bytes += v.scalar.type().is_variable_width() ? v.scalar.string_value().size() + 4 : 8;
        return Status::OK();
      }
      case NestedField::Kind::kStruct: {
        if (v.kind != NestedValue::Kind::kStruct || v.children.size() != f.children.size()) {
          return Status::InvalidArgument("field '{}' needs a struct of {} fields, got {}", n.path, f.children.size(),
                                         v.ToString());
        }
        for (size_t i = 0; i < f.children.size(); ++i) {
          SLUICE_RETURN_IF_ERROR(Shred(n.children[i], f.children[i], v.children[i], r, dd));
        }
        return Status::OK();
      }
      case NestedField::Kind::kList:
      case NestedField::Kind::kMap: {
        bool is_map = f.kind == NestedField::Kind::kMap;
        if (v.kind != (is_map ? NestedValue::Kind::kMap : NestedValue::Kind::kList)) {
          return Status::InvalidArgument("field '{}' needs a {}, got {}", n.path, is_map ? "map" : "list", v.ToString());
        }
        const PNode& rn = n.children[0];
        size_t count = is_map ? v.entries.size() : v.children.size();
        if (count == 0) {
          EmitNull(rn, r, dd);
          return Status::OK();
        }
        for (size_t k = 0; k < count; ++k) {
          int rk = k == 0 ? r : rn.rep_level;
          if (is_map) {
            SLUICE_RETURN_IF_ERROR(Shred(rn.children[0], f.children[0], v.entries[k].key, rk, rn.def_level));
            SLUICE_RETURN_IF_ERROR(Shred(rn.children[1], f.children[1], v.entries[k].value, rk, rn.def_level));
          } else {
            SLUICE_RETURN_IF_ERROR(Shred(rn.children[0], f.children[0], v.children[k], rk, rn.def_level));
          }
        }
        return Status::OK();
      }
    }
    return Status::Internal("bad field kind");
  }

 private:
  void EmitNull(const PNode& n, int r, int d) {
    for (size_t i = n.leaf_begin; i < n.leaf_end; ++i) {
      (*leaves_)[i].rep.push_back(static_cast<uint8_t>(r));
      (*leaves_)[i].def.push_back(static_cast<uint8_t>(d));
    }
  }
  std::vector<LeafBuffer>* leaves_;
};

void AppendLevels(const std::vector<uint8_t>& levels, int max, std::string* body) {
  if (max == 0) return;
  size_t at = body->size();
  body->append(4, '\0');
  std::vector<uint32_t> v(levels.begin(), levels.end());
  encoding::EncodeRleHybrid(v.data(), v.size(), encoding::BitWidth(max), *body);
  uint32_t len = static_cast<uint32_t>(body->size() - at - 4);
  std::memcpy(body->data() + at, &len, 4);
}

}  // namespace

struct NestedWriter::Impl {
  std::string path;
  std::vector<NestedField> schema;
  WriterOptions options;
  std::unique_ptr<io::FileWriter> sink;
  std::unique_ptr<Compressor> compressor;
  std::vector<PNode> roots;
  std::vector<LeafBuffer> leaves;
  format::FileMetaData meta;
  int64_t rows = 0, group_rows = 0;
  size_t buffered = 0;
  bool closed = false;
  Status failed;

  Status FlushRowGroup() {
    if (group_rows == 0) return Status::OK();
    format::RowGroup rg;
    rg.num_rows = group_rows;
    rg.file_offset = sink->size();
    std::string body, scratch, chunk;
    for (auto& lb : leaves) {
      body.clear();
      chunk.clear();
      AppendLevels(lb.rep, lb.max_rep, &body);
      AppendLevels(lb.def, lb.max_def, &body);
      internal::AppendPlainValues(*lb.values, 0, lb.values->size(), &body);
      int64_t unc = 0, comp = 0;
      format::Statistics st;
      st.null_count = static_cast<int64_t>(
          std::count_if(lb.def.begin(), lb.def.end(), [&](uint8_t d) { return d < lb.max_def; }));
      SLUICE_RETURN_IF_ERROR(internal::AppendDataPageV1(*compressor, static_cast<int32_t>(lb.def.size()),
                                                        format::Encoding::PLAIN, body, std::nullopt, &scratch, &chunk,
                                                        &unc, &comp));
      format::ColumnChunk cc;
      cc.file_offset = sink->size();
      format::ColumnMetaData md;
      md.type = *internal::LeafElement("", lb.type, Repetition::OPTIONAL).type;
      md.encodings = {format::Encoding::PLAIN, format::Encoding::RLE};
      md.path_in_schema = lb.path;
      md.codec = compressor->codec();
      md.num_values = static_cast<int64_t>(lb.def.size());
      md.total_uncompressed_size = unc;
      md.total_compressed_size = comp;
      md.data_page_offset = sink->size();
      md.statistics = std::move(st);
      cc.meta_data = std::move(md);
      rg.total_byte_size += unc;
      SLUICE_RETURN_IF_ERROR(sink->Append(chunk));
      rg.columns.push_back(std::move(cc));
      lb.def.clear();
      lb.rep.clear();
      lb.values = std::make_shared<Column>(lb.type);
      lb.value_bytes = 0;
    }
    meta.row_groups.push_back(std::move(rg));
    group_rows = 0;
    buffered = 0;
    return Status::OK();
  }
};

NestedWriter::NestedWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NestedWriter::~NestedWriter() = default;

Result<std::unique_ptr<NestedWriter>> NestedWriter::Open(const std::string& path, std::vector<NestedField> schema,
                                                         WriterOptions options) {
  if (schema.empty()) return Status::InvalidArgument("{}: a nested Parquet file needs at least one field", path);
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = std::move(options);
  format::SchemaElement root;
  root.name = "schema";
  root.repetition = Repetition::REQUIRED;
  root.num_children = static_cast<int32_t>(schema.size());
  impl->meta.schema.push_back(root);
  for (const auto& f : schema) {
    impl->roots.emplace_back();
    Status st = BuildWriteTree(f, RepOf(f), f.name, "", 0, 0, {}, &impl->leaves, &impl->meta.schema, &impl->roots.back());
    if (!st.ok()) return st.WithContext(path);
  }
  impl->schema = std::move(schema);
  impl->meta.version = 2;
  impl->meta.created_by = impl->options.created_by;
  for (const auto& [k, v] : impl->options.key_value_metadata) impl->meta.key_value_metadata.push_back({k, v});
  SLUICE_ASSIGN_OR_RETURN(impl->sink, io::FileWriter::Open(path, /*truncate=*/true));
  impl->compressor = std::make_unique<Compressor>(internal::CodecOf(impl->options.compression),
                                                  impl->options.zstd_level);
  SLUICE_RETURN_IF_ERROR(impl->sink->Append(std::string_view(format::kMagic, 4)));
  return std::unique_ptr<NestedWriter>(new NestedWriter(std::move(impl)));
}

Status NestedWriter::WriteRow(const std::vector<NestedValue>& row) {
  Impl& w = *impl_;
  if (w.closed) return Status::FailedPrecondition("{}: write after close", w.path);
  if (!w.failed.ok()) return w.failed;
  if (row.size() != w.schema.size()) {
    return Status::InvalidArgument("{}: row has {} values, the schema {} fields", w.path, row.size(), w.schema.size());
  }
  // Remember the buffer sizes: a row that fails halfway is rolled back.
  std::vector<size_t> sizes;
  for (const auto& lb : w.leaves) sizes.push_back(lb.def.size());
  Shredder s(&w.leaves);
  for (size_t i = 0; i < row.size(); ++i) {
    Status st = s.Shred(w.roots[i], w.schema[i], row[i], 0, 0);
    if (!st.ok()) {
      // Roll back the partial row.
      for (size_t l = 0; l < w.leaves.size(); ++l) {
        auto& lb = w.leaves[l];
        size_t keep_values = static_cast<size_t>(
            std::count_if(lb.def.begin(), lb.def.begin() + sizes[l], [&](uint8_t d) { return d == lb.max_def; }));
        lb.def.resize(sizes[l]);
        lb.rep.resize(sizes[l]);
        if (lb.values->size() > keep_values) {
          auto fresh = std::make_shared<Column>(lb.type);
          for (size_t k = 0; k < keep_values; ++k) fresh->AppendFrom(*lb.values, k);
          lb.values = fresh;
        }
      }
      return st.WithContext(w.path);
    }
  }
  ++w.rows;
  ++w.group_rows;
  size_t bytes = 0;
  for (const auto& lb : w.leaves) bytes += lb.def.size() + lb.value_bytes;
  if (bytes >= w.options.row_group_bytes) {
    Status st = w.FlushRowGroup();
    if (!st.ok()) w.failed = st;
    return st;
  }
  return Status::OK();
}

Status NestedWriter::Close() { return internal::CloseWriter(*impl_); }

int64_t NestedWriter::rows_written() const { return impl_->rows; }
int64_t NestedWriter::bytes_written() const { return impl_->sink->size(); }

// ============================================================================= reading

namespace {

// Builds the Parquet tree from the flattened schema (preorder with child counts).
Status BuildReadTree(const std::vector<format::SchemaElement>& elems, size_t* pos, const std::string& parent_path,
                     int parent_def, int parent_rep, int depth, size_t* leaf_counter, PNode* out,
                     const std::string& file) {
  if (*pos >= elems.size()) return Status::DataError("{}: the schema ends early", file);
  if (depth > 64) return Status::DataError("{}: the schema is nested too deeply", file);
  const auto& e = elems[*pos];
  ++*pos;
  out->name = e.name;
  out->path = parent_path.empty() ? e.name : parent_path + "." + e.name;
  out->rep = e.repetition.value_or(Repetition::OPTIONAL);
  SetLevels(*out, parent_def, parent_rep);
  if (out->def_level > 250 || out->rep_level > 250) return Status::DataError("{}: the schema is nested too deeply", file);
  out->leaf_begin = *leaf_counter;
  int32_t n = e.num_children.value_or(0);
  if (n < 0 || static_cast<size_t>(n) > elems.size() - *pos) {
    return Status::DataError("{}: schema element '{}' declares {} children", file, out->path, n);
  }
  if (n == 0 && e.type) {
    out->leaf = true;
    auto info = internal::ResolveLeaf(e, out->path);
    if (!info.ok()) return info.status().WithContext(file);
    out->info = *info;
    ++*leaf_counter;
  } else {
    if (n == 0) return Status::InvalidArgument("{}: group '{}' has no fields", file, out->path);
    out->is_list = e.converted_type == format::ConvertedType::LIST || e.logical_type.kind == format::LogicalType::Kind::kList;
    out->is_map = e.converted_type == format::ConvertedType::MAP ||
                  e.converted_type == format::ConvertedType::MAP_KEY_VALUE ||
                  e.logical_type.kind == format::LogicalType::Kind::kMap;
    for (int32_t i = 0; i < n; ++i) {
      out->children.emplace_back();
      SLUICE_RETURN_IF_ERROR(BuildReadTree(elems, pos, out->path, out->def_level, out->rep_level, depth + 1,
                                           leaf_counter, &out->children.back(), file));
    }
  }
  out->leaf_end = *leaf_counter;
  return Status::OK();
}

// The logical view of a Parquet node: what it reads as.
struct LNode {
  NestedField::Kind kind = NestedField::Kind::kPrimitive;
  const PNode* node = nullptr;      // the node whose nullness this value has
  const PNode* repeated = nullptr;  // lists and maps: the repeated node
  bool nullable = false;
  std::vector<LNode> children;
};

// A node as it appears in a list element or map value slot may itself be repeated (legacy
// 2-level lists): then it is a list of required elements.
Status MakeLogical(const PNode& p, LNode* out, NestedField* field, const std::string& file, bool as_element_of_repeated) {
  field->name = p.name;
  out->node = &p;
  out->nullable = p.rep == Repetition::OPTIONAL;
  field->required = p.rep != Repetition::OPTIONAL;
  if (p.rep == Repetition::REPEATED && !as_element_of_repeated) {
    // A bare repeated field: a list (never null) of its values.
    out->kind = NestedField::Kind::kList;
    field->kind = NestedField::Kind::kList;
    out->repeated = &p;
    out->nullable = false;
    field->required = true;
    LNode elem;
    NestedField ef;
    SLUICE_RETURN_IF_ERROR(MakeLogical(p, &elem, &ef, file, true));
    elem.nullable = false;
    ef.required = true;
    ef.name = "element";
    out->children.push_back(std::move(elem));
    field->children.push_back(std::move(ef));
    return Status::OK();
  }
  if (p.leaf) {
    out->kind = NestedField::Kind::kPrimitive;
    field->kind = NestedField::Kind::kPrimitive;
    field->type = p.info.type;
    if (as_element_of_repeated) out->nullable = false;
    return Status::OK();
  }
  if (p.is_list || p.is_map) {
    if (p.children.size() != 1 || p.children[0].rep != Repetition::REPEATED) {
      return Status::InvalidArgument("{}: {} '{}' does not have the standard layout (one repeated child)", file,
                                     p.is_map ? "map" : "list", p.path);
    }
    const PNode& r = p.children[0];
    out->repeated = &r;
    if (p.is_map) {
      if (r.leaf || r.children.size() != 2) {
        return Status::InvalidArgument("{}: map '{}' needs a key and a value", file, p.path);
      }
      out->kind = field->kind = NestedField::Kind::kMap;
      for (size_t i = 0; i < 2; ++i) {
        LNode c;
        NestedField cf;
        SLUICE_RETURN_IF_ERROR(MakeLogical(r.children[i], &c, &cf, file, false));
        cf.name = i == 0 ? "key" : "value";
        out->children.push_back(std::move(c));
        field->children.push_back(std::move(cf));
      }
      return Status::OK();
    }
    out->kind = field->kind = NestedField::Kind::kList;
    LNode c;
    NestedField cf;
    if (!r.leaf && r.children.size() == 1 && r.name != "array" && r.name != p.name + "_tuple") {
      SLUICE_RETURN_IF_ERROR(MakeLogical(r.children[0], &c, &cf, file, false));  // 3-level
    } else {
      SLUICE_RETURN_IF_ERROR(MakeLogical(r, &c, &cf, file, true));  // 2-level: the repeated node is the element
      c.nullable = false;
      cf.required = true;
    }
    cf.name = "element";
    out->children.push_back(std::move(c));
    field->children.push_back(std::move(cf));
    return Status::OK();
  }
  out->kind = field->kind = NestedField::Kind::kStruct;
  if (as_element_of_repeated) out->nullable = false;
  for (const auto& c : p.children) {
    LNode lc;
    NestedField cf;
    SLUICE_RETURN_IF_ERROR(MakeLogical(c, &lc, &cf, file, false));
    out->children.push_back(std::move(lc));
    field->children.push_back(std::move(cf));
  }
  return Status::OK();
}

struct LeafData {
  internal::LeafInfo info;
  int max_def = 0;
  std::vector<uint8_t> def, rep;
  internal::Values values;
  size_t pos = 0, vpos = 0;
};

class Assembler {
 public:
  Assembler(std::vector<LeafData>* leaves, std::string file) : leaves_(leaves), file_(std::move(file)) {}

  Status Read(const LNode& n, NestedValue* out) {
    LeafData& first = (*leaves_)[n.node->leaf_begin];
    if (first.pos >= first.def.size()) return Corrupt(n, "column ends early");
    int d = first.def[first.pos];
    if (n.kind == NestedField::Kind::kPrimitive) {
      if (d == first.max_def) {
        if (first.vpos >= first.values.size()) return Corrupt(n, "values end early");
        *out = NestedValue::Scalar(internal::ValueAt(first.values, first.vpos++, first.info.type));
      } else {
        *out = NestedValue::Null();
      }
      ++first.pos;
      return Status::OK();
    }
    if (n.nullable && d < n.node->def_level) {
      SkipOne(*n.node);
      *out = NestedValue::Null();
      return Status::OK();
    }
    if (n.kind == NestedField::Kind::kStruct) {
      out->kind = NestedValue::Kind::kStruct;
      out->children.resize(n.children.size());
      for (size_t i = 0; i < n.children.size(); ++i) SLUICE_RETURN_IF_ERROR(Read(n.children[i], &out->children[i]));
      return Status::OK();
    }
    bool is_map = n.kind == NestedField::Kind::kMap;
    out->kind = is_map ? NestedValue::Kind::kMap : NestedValue::Kind::kList;
    const PNode& r = *n.repeated;
    if (d < r.def_level) {
      SkipOne(r);  // an empty list or map
      return Status::OK();
    }
    LeafData& lead = (*leaves_)[r.leaf_begin];
    while (true) {
      size_t before = lead.pos;
      if (is_map) {
        out->entries.emplace_back();
        SLUICE_RETURN_IF_ERROR(Read(n.children[0], &out->entries.back().key));
        SLUICE_RETURN_IF_ERROR(Read(n.children[1], &out->entries.back().value));
      } else {
        out->children.emplace_back();
        SLUICE_RETURN_IF_ERROR(Read(n.children[0], &out->children.back()));
      }
      if (lead.pos == before) return Corrupt(n, "no progress");
      if (lead.pos >= lead.rep.size() || lead.rep[lead.pos] != r.rep_level) break;
      if (lead.def[lead.pos] < r.def_level) return Corrupt(n, "an empty element inside a list");
    }
    return Status::OK();
  }

 private:
  void SkipOne(const PNode& p) {
    for (size_t i = p.leaf_begin; i < p.leaf_end; ++i) {
      LeafData& l = (*leaves_)[i];
      if (l.pos < l.def.size()) ++l.pos;
    }
  }
  Status Corrupt(const LNode& n, std::string_view what) const {
    return Status::DataError("{}: field '{}': inconsistent levels ({})", file_, n.node->path, what);
  }
  std::vector<LeafData>* leaves_;
  std::string file_;
};

Result<NestedFile> ReadNested(const std::string& name, const internal::ByteSource& source,
                              const std::vector<std::string>& columns) {
  SLUICE_ASSIGN_OR_RETURN(auto footer, internal::ReadFooter(name, source));
  const auto& elems = footer.meta.schema;
  int32_t top = elems[0].num_children.value_or(0);
  if (top < 0 || static_cast<size_t>(top) > elems.size() - 1) {
    return Status::DataError("{}: the schema root declares {} fields but {} elements follow", name, top,
                             elems.size() - 1);
  }
  std::vector<PNode> roots(static_cast<size_t>(top));
  size_t pos = 1, leaf_count = 0;
  for (auto& r : roots) SLUICE_RETURN_IF_ERROR(BuildReadTree(elems, &pos, "", 0, 0, 0, &leaf_count, &r, name));
  if (pos != elems.size()) return Status::DataError("{}: the schema has {} elements after its tree", name, elems.size() - pos);
  std::vector<size_t> selected;
  if (columns.empty()) {
    for (size_t i = 0; i < roots.size(); ++i) selected.push_back(i);
  } else {
    for (const auto& c : columns) {
      auto it = std::find_if(roots.begin(), roots.end(), [&](const PNode& p) { return p.name == c; });
      if (it == roots.end()) return Status::NotFound("{}: no field '{}' in the file", name, c);
      selected.push_back(static_cast<size_t>(it - roots.begin()));
    }
  }
  NestedFile out;
  std::vector<LNode> logical(selected.size());
  for (size_t k = 0; k < selected.size(); ++k) {
    out.schema.emplace_back();
    SLUICE_RETURN_IF_ERROR(MakeLogical(roots[selected[k]], &logical[k], &out.schema.back(), name, false));
  }
  // Leaf metadata: the leaves in schema order.
  std::vector<const PNode*> leaf_nodes(leaf_count);
  std::function<void(const PNode&)> collect = [&](const PNode& p) {
    if (p.leaf) leaf_nodes[p.leaf_begin] = &p;
    for (const auto& c : p.children) collect(c);
  };
  for (const auto& r : roots) collect(r);
  // What the chunks read may declare in all (see kNestedLevelsPerFileByte).
  int64_t budget = kNestedLevelsFloor + kNestedLevelsPerFileByte * std::min<int64_t>(footer.file_size, INT64_MAX / 128);
  const int64_t budget_total = budget;
  for (size_t g = 0; g < footer.meta.row_groups.size(); ++g) {
    const auto& rg = footer.meta.row_groups[g];
    if (rg.columns.size() != leaf_count) {
      return Status::DataError("{}: row group {} has {} column chunks, the schema {} leaves", name, g,
                               rg.columns.size(), leaf_count);
    }
    std::vector<LeafData> leaves(leaf_count);
    for (size_t k : selected) {
      for (size_t l = roots[k].leaf_begin; l < roots[k].leaf_end; ++l) {
        const PNode& p = *leaf_nodes[l];
        const auto& cc = rg.columns[l];
        if (!cc.meta_data) return Status::DataError("{}: row group {} column '{}' has no metadata", name, g, p.path);
        if (cc.meta_data->type != p.info.physical) {
          return Status::DataError("{}: row group {} column '{}' has the wrong physical type", name, g, p.path);
        }
        if (cc.meta_data->num_values > budget) {
          return Status::DataError(
              "{}: column chunk of '{}' at offset {} (row group {}) declares {} values, more than the nested reader "
              "reads from a file of {} bytes ({} in all: {} per byte, at least {})",
              name, p.path, cc.meta_data->data_page_offset, g, cc.meta_data->num_values, footer.file_size, budget_total,
              kNestedLevelsPerFileByte, kNestedLevelsFloor);
        }
        budget -= std::max<int64_t>(cc.meta_data->num_values, 0);
        SLUICE_ASSIGN_OR_RETURN(auto cr, internal::ChunkReader::Open(footer, source, p.path, p.info, p.def_level,
                                                                    p.rep_level, *cc.meta_data));
        leaves[l].info = p.info;
        leaves[l].max_def = p.def_level;
        SLUICE_RETURN_IF_ERROR(cr->ReadAll(&leaves[l].def, &leaves[l].rep, &leaves[l].values));
      }
    }
    if (selected.empty()) continue;
    if (static_cast<uint64_t>(rg.num_rows) > leaves[roots[selected[0]].leaf_begin].def.size()) {
      return Status::DataError("{}: row group {} declares {} rows but its column '{}' holds {} entries", name, g,
                               rg.num_rows, roots[selected[0]].path, leaves[roots[selected[0]].leaf_begin].def.size());
    }
    Assembler as(&leaves, name);
    for (int64_t r = 0; r < rg.num_rows; ++r) {
      std::vector<NestedValue> row(selected.size());
      for (size_t k = 0; k < selected.size(); ++k) {
        const LeafData& lead = leaves[roots[selected[k]].leaf_begin];
        if (lead.pos < lead.rep.size() && lead.rep[lead.pos] != 0) {
          return Status::DataError("{}: field '{}': row {} of row group {} does not start a record", name,
                                   roots[selected[k]].path, r, g);
        }
        SLUICE_RETURN_IF_ERROR(as.Read(logical[k], &row[k]));
      }
      out.rows.push_back(std::move(row));
    }
    for (size_t k : selected) {
      for (size_t l = roots[k].leaf_begin; l < roots[k].leaf_end; ++l) {
        if (leaves[l].pos != leaves[l].def.size()) {
          return Status::DataError("{}: column '{}' of row group {} holds more values than its {} rows", name,
                                   leaf_nodes[l]->path, g, rg.num_rows);
        }
      }
    }
  }
  return out;
}

}  // namespace

Result<NestedFile> ReadNestedFile(const std::string& path, const std::vector<std::string>& columns) {
  SLUICE_ASSIGN_OR_RETURN(auto source, internal::OpenFileSource(path));
  return ReadNested(path, *source, columns);
}

Result<NestedFile> ReadNestedBuffer(std::string name, std::string data, const std::vector<std::string>& columns) {
  auto source = internal::MakeBufferSource(std::move(data), name);
  return ReadNested(name, *source, columns);
}

}  // namespace sluice::parquet
