#include "sluice/formats/parquet/parquet_metadata.h"

#include <algorithm>

#include "sluice/formats/parquet/thrift_compact.h"

namespace sluice::parquet::format {

using thrift::CompactDecoder;
using thrift::CompactEncoder;
using thrift::CType;

const char* TypeName(Type t) {
  switch (t) {
    case Type::BOOLEAN: return "BOOLEAN";
    case Type::INT32: return "INT32";
    case Type::INT64: return "INT64";
    case Type::INT96: return "INT96";
    case Type::FLOAT: return "FLOAT";
    case Type::DOUBLE: return "DOUBLE";
    case Type::BYTE_ARRAY: return "BYTE_ARRAY";
    case Type::FIXED_LEN_BYTE_ARRAY: return "FIXED_LEN_BYTE_ARRAY";
  }
  return "UNKNOWN";
}

const char* EncodingName(Encoding e) {
  switch (e) {
    case Encoding::PLAIN: return "PLAIN";
    case Encoding::PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
    case Encoding::RLE: return "RLE";
    case Encoding::BIT_PACKED: return "BIT_PACKED";
    case Encoding::DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
    case Encoding::DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
    case Encoding::DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
    case Encoding::RLE_DICTIONARY: return "RLE_DICTIONARY";
    case Encoding::BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
  }
  return "UNKNOWN";
}

const char* CodecName(Codec c) {
  switch (c) {
    case Codec::UNCOMPRESSED: return "UNCOMPRESSED";
    case Codec::SNAPPY: return "SNAPPY";
    case Codec::GZIP: return "GZIP";
    case Codec::LZO: return "LZO";
    case Codec::BROTLI: return "BROTLI";
    case Codec::LZ4: return "LZ4";
    case Codec::ZSTD: return "ZSTD";
    case Codec::LZ4_RAW: return "LZ4_RAW";
  }
  return "UNKNOWN";
}

// ============================================================================= serialization

namespace {

void WriteStatistics(CompactEncoder& e, int16_t id, const Statistics& s) {
  e.FieldStructBegin(id);
  if (s.max) e.FieldBinary(1, *s.max);
  if (s.min) e.FieldBinary(2, *s.min);
  if (s.null_count) e.FieldI64(3, *s.null_count);
  if (s.distinct_count) e.FieldI64(4, *s.distinct_count);
  if (s.max_value) e.FieldBinary(5, *s.max_value);
  if (s.min_value) e.FieldBinary(6, *s.min_value);
  e.EndStruct();
}

void WriteTimeUnit(CompactEncoder& e, int16_t id, TimeUnit u) {
  e.FieldStructBegin(id);
  e.FieldStructBegin(static_cast<int16_t>(u));
  e.EndStruct();
  e.EndStruct();
}

void WriteLogicalType(CompactEncoder& e, int16_t id, const LogicalType& lt) {
  e.FieldStructBegin(id);
  e.FieldStructBegin(static_cast<int16_t>(lt.kind));
  switch (lt.kind) {
    case LogicalType::Kind::kDecimal:
      e.FieldI32(1, lt.scale);
      e.FieldI32(2, lt.precision);
      break;
    case LogicalType::Kind::kTime:
    case LogicalType::Kind::kTimestamp:
      e.FieldBool(1, lt.adjusted_to_utc);
      WriteTimeUnit(e, 2, lt.unit);
      break;
    case LogicalType::Kind::kInteger:
      e.FieldI8(1, lt.bit_width);
      e.FieldBool(2, lt.is_signed);
      break;
    default:
      break;
  }
  e.EndStruct();
  e.EndStruct();
}

void WriteSchemaElement(CompactEncoder& e, const SchemaElement& s) {
  e.BeginStruct();
  if (s.type) e.FieldI32(1, static_cast<int32_t>(*s.type));
  if (s.type_length) e.FieldI32(2, *s.type_length);
  if (s.repetition) e.FieldI32(3, static_cast<int32_t>(*s.repetition));
  e.FieldBinary(4, s.name);
  if (s.num_children) e.FieldI32(5, *s.num_children);
  if (s.converted_type) e.FieldI32(6, static_cast<int32_t>(*s.converted_type));
  if (s.scale) e.FieldI32(7, *s.scale);
  if (s.precision) e.FieldI32(8, *s.precision);
  if (s.field_id) e.FieldI32(9, *s.field_id);
  if (s.logical_type.kind != LogicalType::Kind::kNone && s.logical_type.kind != LogicalType::Kind::kOther) {
    WriteLogicalType(e, 10, s.logical_type);
  }
  e.EndStruct();
}

void WriteKeyValues(CompactEncoder& e, int16_t id, const std::vector<KeyValue>& kvs) {
  e.FieldListBegin(id, CType::kStruct, kvs.size());
  for (const auto& kv : kvs) {
    e.ElemStructBegin();
    e.FieldBinary(1, kv.key);
    if (kv.value) e.FieldBinary(2, *kv.value);
    e.EndStruct();
  }
}

void WriteColumnMetaData(CompactEncoder& e, int16_t id, const ColumnMetaData& m) {
  e.FieldStructBegin(id);
  e.FieldI32(1, static_cast<int32_t>(m.type));
  e.FieldListBegin(2, CType::kI32, m.encodings.size());
  for (Encoding enc : m.encodings) e.ElemI32(static_cast<int32_t>(enc));
  e.FieldListBegin(3, CType::kBinary, m.path_in_schema.size());
  for (const auto& p : m.path_in_schema) e.ElemBinary(p);
  e.FieldI32(4, static_cast<int32_t>(m.codec));
  e.FieldI64(5, m.num_values);
  e.FieldI64(6, m.total_uncompressed_size);
  e.FieldI64(7, m.total_compressed_size);
  e.FieldI64(9, m.data_page_offset);
  if (m.index_page_offset) e.FieldI64(10, *m.index_page_offset);
  if (m.dictionary_page_offset) e.FieldI64(11, *m.dictionary_page_offset);
  if (m.statistics) WriteStatistics(e, 12, *m.statistics);
  e.EndStruct();
}

}  // namespace

void SerializeFileMetaData(const FileMetaData& m, std::string* out) {
  CompactEncoder e(out);
  e.BeginStruct();
  e.FieldI32(1, m.version);
  e.FieldListBegin(2, CType::kStruct, m.schema.size());
  for (const auto& s : m.schema) WriteSchemaElement(e, s);
  e.FieldI64(3, m.num_rows);
  e.FieldListBegin(4, CType::kStruct, m.row_groups.size());
  for (const auto& rg : m.row_groups) {
    e.ElemStructBegin();
    e.FieldListBegin(1, CType::kStruct, rg.columns.size());
    for (const auto& cc : rg.columns) {
      e.ElemStructBegin();
      if (cc.file_path) e.FieldBinary(1, *cc.file_path);
      e.FieldI64(2, cc.file_offset);
      if (cc.meta_data) WriteColumnMetaData(e, 3, *cc.meta_data);
      e.EndStruct();
    }
    e.FieldI64(2, rg.total_byte_size);
    e.FieldI64(3, rg.num_rows);
    if (rg.file_offset) e.FieldI64(5, *rg.file_offset);
    if (rg.total_compressed_size) e.FieldI64(6, *rg.total_compressed_size);
    if (rg.ordinal) e.FieldI16(7, *rg.ordinal);
    e.EndStruct();
  }
  if (!m.key_value_metadata.empty()) WriteKeyValues(e, 5, m.key_value_metadata);
  if (m.created_by) e.FieldBinary(6, *m.created_by);
  if (m.column_orders > 0) {
    e.FieldListBegin(7, CType::kStruct, m.column_orders);
    for (int32_t i = 0; i < m.column_orders; ++i) {
      e.ElemStructBegin();
      e.FieldStructBegin(1);
      e.EndStruct();
      e.EndStruct();
    }
  }
  e.EndStruct();
}

void SerializePageHeader(const PageHeader& h, std::string* out) {
  CompactEncoder e(out);
  e.BeginStruct();
  e.FieldI32(1, static_cast<int32_t>(h.type));
  e.FieldI32(2, h.uncompressed_page_size);
  e.FieldI32(3, h.compressed_page_size);
  if (h.crc) e.FieldI32(4, *h.crc);
  if (h.data_page_header) {
    const auto& d = *h.data_page_header;
    e.FieldStructBegin(5);
    e.FieldI32(1, d.num_values);
    e.FieldI32(2, static_cast<int32_t>(d.encoding));
    e.FieldI32(3, static_cast<int32_t>(d.definition_level_encoding));
    e.FieldI32(4, static_cast<int32_t>(d.repetition_level_encoding));
    if (d.statistics) WriteStatistics(e, 5, *d.statistics);
    e.EndStruct();
  }
  if (h.dictionary_page_header) {
    const auto& d = *h.dictionary_page_header;
    e.FieldStructBegin(7);
    e.FieldI32(1, d.num_values);
    e.FieldI32(2, static_cast<int32_t>(d.encoding));
    if (d.is_sorted) e.FieldBool(3, *d.is_sorted);
    e.EndStruct();
  }
  if (h.data_page_header_v2) {
    const auto& d = *h.data_page_header_v2;
    e.FieldStructBegin(8);
    e.FieldI32(1, d.num_values);
    e.FieldI32(2, d.num_nulls);
    e.FieldI32(3, d.num_rows);
    e.FieldI32(4, static_cast<int32_t>(d.encoding));
    e.FieldI32(5, d.definition_levels_byte_length);
    e.FieldI32(6, d.repetition_levels_byte_length);
    e.FieldBool(7, d.is_compressed);
    if (d.statistics) WriteStatistics(e, 8, *d.statistics);
    e.EndStruct();
  }
  e.EndStruct();
}

// ============================================================================= parsing

namespace {

Status GetI32(CompactDecoder& d, CType t, int32_t* v) {
  if (t == CType::kByte) {
    int8_t b;
    SLUICE_RETURN_IF_ERROR(d.ReadByte(&b));
    *v = b;
    return Status::OK();
  }
  if (t != CType::kI32 && t != CType::kI16) return d.Error("expected an i32 field");
  return d.ReadI32(v);
}

Status GetI64(CompactDecoder& d, CType t, int64_t* v) {
  if (t != CType::kI64 && t != CType::kI32 && t != CType::kI16) return d.Error("expected an i64 field");
  return d.ReadI64(v);
}

Status GetBinary(CompactDecoder& d, CType t, std::string* v) {
  if (t != CType::kBinary) return d.Error("expected a binary field");
  return d.ReadBinary(v);
}

Status GetBool(CompactDecoder& d, CType t, bool* v) { return d.ReadBool(t, v); }

Status GetEnum(CompactDecoder& d, CType t, int32_t lo, int32_t hi, const char* what, int32_t* v) {
  SLUICE_RETURN_IF_ERROR(GetI32(d, t, v));
  if (*v < lo || *v > hi) return d.Error(fmt::format("invalid {} value {}", what, *v));
  return Status::OK();
}

Status ExpectStruct(CompactDecoder& d, CType t) {
  if (t != CType::kStruct) return d.Error("expected a struct field");
  return Status::OK();
}

// Iterates the fields of a struct: `f(type, id)` handles a field or skips it.
template <typename F>
Status ForEachField(CompactDecoder& d, F&& f) {
  SLUICE_RETURN_IF_ERROR(d.BeginStruct());
  while (true) {
    CType t;
    int16_t id;
    SLUICE_RETURN_IF_ERROR(d.ReadFieldHeader(&t, &id));
    if (t == CType::kStop) break;
    SLUICE_RETURN_IF_ERROR(f(t, id));
  }
  d.EndStruct();
  return Status::OK();
}

Status ParseStatistics(CompactDecoder& d, Statistics* s) {
  return ForEachField(d, [&](CType t, int16_t id) -> Status {
    std::string v;
    int64_t n;
    switch (id) {
      case 1: SLUICE_RETURN_IF_ERROR(GetBinary(d, t, &v)); s->max = std::move(v); return Status::OK();
      case 2: SLUICE_RETURN_IF_ERROR(GetBinary(d, t, &v)); s->min = std::move(v); return Status::OK();
      case 3: SLUICE_RETURN_IF_ERROR(GetI64(d, t, &n)); s->null_count = n; return Status::OK();
      case 4: SLUICE_RETURN_IF_ERROR(GetI64(d, t, &n)); s->distinct_count = n; return Status::OK();
      case 5: SLUICE_RETURN_IF_ERROR(GetBinary(d, t, &v)); s->max_value = std::move(v); return Status::OK();
      case 6: SLUICE_RETURN_IF_ERROR(GetBinary(d, t, &v)); s->min_value = std::move(v); return Status::OK();
      default: return d.Skip(t);
    }
  });
}

Status ParseTimeUnit(CompactDecoder& d, TimeUnit* u) {
  bool seen = false;
  SLUICE_RETURN_IF_ERROR(ForEachField(d, [&](CType t, int16_t id) -> Status {
    if (id >= 1 && id <= 3) {
      *u = static_cast<TimeUnit>(id);
      seen = true;
    }
    return d.Skip(t);
  }));
  if (!seen) return d.Error("time unit without a known member");
  return Status::OK();
}

Status ParseLogicalType(CompactDecoder& d, LogicalType* lt) {
  return ForEachField(d, [&](CType t, int16_t id) -> Status {
    SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t));
    switch (id) {
      case 5: {
        lt->kind = LogicalType::Kind::kDecimal;
        return ForEachField(d, [&](CType ft, int16_t fid) -> Status {
          if (fid == 1) return GetI32(d, ft, &lt->scale);
          if (fid == 2) return GetI32(d, ft, &lt->precision);
          return d.Skip(ft);
        });
      }
      case 7:
      case 8: {
        lt->kind = id == 7 ? LogicalType::Kind::kTime : LogicalType::Kind::kTimestamp;
        return ForEachField(d, [&](CType ft, int16_t fid) -> Status {
          if (fid == 1) return GetBool(d, ft, &lt->adjusted_to_utc);
          if (fid == 2) {
            SLUICE_RETURN_IF_ERROR(ExpectStruct(d, ft));
            return ParseTimeUnit(d, &lt->unit);
          }
          return d.Skip(ft);
        });
      }
      case 10: {
        lt->kind = LogicalType::Kind::kInteger;
        return ForEachField(d, [&](CType ft, int16_t fid) -> Status {
          if (fid == 1) {
            int32_t w;
            SLUICE_RETURN_IF_ERROR(GetI32(d, ft, &w));
            lt->bit_width = static_cast<int8_t>(w);
            return Status::OK();
          }
          if (fid == 2) return GetBool(d, ft, &lt->is_signed);
          return d.Skip(ft);
        });
      }
      case 1: case 2: case 3: case 4: case 6: case 11: case 12: case 13: case 14: case 15:
        lt->kind = static_cast<LogicalType::Kind>(id);
        return d.Skip(t);
      default:
        lt->kind = LogicalType::Kind::kOther;
        return d.Skip(t);
    }
  });
}

Status ParseSchemaElement(CompactDecoder& d, SchemaElement* s) {
  bool has_name = false;
  SLUICE_RETURN_IF_ERROR(ForEachField(d, [&](CType t, int16_t id) -> Status {
    int32_t v;
    switch (id) {
      case 1: SLUICE_RETURN_IF_ERROR(GetEnum(d, t, 0, 7, "physical type", &v)); s->type = static_cast<Type>(v); return Status::OK();
      case 2: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); s->type_length = v; return Status::OK();
      case 3: SLUICE_RETURN_IF_ERROR(GetEnum(d, t, 0, 2, "repetition", &v)); s->repetition = static_cast<Repetition>(v); return Status::OK();
      case 4: has_name = true; return GetBinary(d, t, &s->name);
      case 5: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); s->num_children = v; return Status::OK();
      case 6: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); s->converted_type = static_cast<ConvertedType>(v); return Status::OK();
      case 7: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); s->scale = v; return Status::OK();
      case 8: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); s->precision = v; return Status::OK();
      case 9: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); s->field_id = v; return Status::OK();
      case 10: SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t)); return ParseLogicalType(d, &s->logical_type);
      default: return d.Skip(t);
    }
  }));
  if (!has_name) return d.Error("schema element without a name");
  return Status::OK();
}

template <typename T, typename F>
Status ParseList(CompactDecoder& d, CType t, CType want, std::vector<T>* out, F&& parse_elem) {
  if (t != CType::kList) return d.Error("expected a list field");
  CType elem;
  uint32_t n;
  SLUICE_RETURN_IF_ERROR(d.ReadListHeader(&elem, &n));
  if (elem != want) return d.Error("unexpected list element type");
  out->clear();
  // n is at most the bytes left, but an element takes far more memory than its one byte:
  // grow as elements actually parse.
  out->reserve(std::min<uint32_t>(n, 1024));
  for (uint32_t i = 0; i < n; ++i) {
    out->emplace_back();
    SLUICE_RETURN_IF_ERROR(parse_elem(&out->back()));
  }
  return Status::OK();
}

Status ParseKeyValue(CompactDecoder& d, KeyValue* kv) {
  return ForEachField(d, [&](CType t, int16_t id) -> Status {
    if (id == 1) return GetBinary(d, t, &kv->key);
    if (id == 2) {
      std::string v;
      SLUICE_RETURN_IF_ERROR(GetBinary(d, t, &v));
      kv->value = std::move(v);
      return Status::OK();
    }
    return d.Skip(t);
  });
}

Status ParseColumnMetaData(CompactDecoder& d, ColumnMetaData* m) {
  uint32_t seen = 0;
  SLUICE_RETURN_IF_ERROR(ForEachField(d, [&](CType t, int16_t id) -> Status {
    int32_t v;
    int64_t n;
    switch (id) {
      case 1: seen |= 1; SLUICE_RETURN_IF_ERROR(GetEnum(d, t, 0, 7, "physical type", &v)); m->type = static_cast<Type>(v); return Status::OK();
      case 2:
        seen |= 2;
        return ParseList(d, t, CType::kI32, &m->encodings, [&](Encoding* e) -> Status {
          int32_t x;
          SLUICE_RETURN_IF_ERROR(d.ReadI32(&x));
          *e = static_cast<Encoding>(x);
          return Status::OK();
        });
      case 3:
        seen |= 4;
        return ParseList(d, t, CType::kBinary, &m->path_in_schema, [&](std::string* s) { return d.ReadBinary(s); });
      case 4: seen |= 8; SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); m->codec = static_cast<Codec>(v); return Status::OK();
      case 5: seen |= 16; return GetI64(d, t, &m->num_values);
      case 6: return GetI64(d, t, &m->total_uncompressed_size);
      case 7: seen |= 32; return GetI64(d, t, &m->total_compressed_size);
      case 9: seen |= 64; return GetI64(d, t, &m->data_page_offset);
      case 10: SLUICE_RETURN_IF_ERROR(GetI64(d, t, &n)); m->index_page_offset = n; return Status::OK();
      case 11: SLUICE_RETURN_IF_ERROR(GetI64(d, t, &n)); m->dictionary_page_offset = n; return Status::OK();
      case 12:
        SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t));
        m->statistics.emplace();
        return ParseStatistics(d, &*m->statistics);
      default: return d.Skip(t);
    }
  }));
  if (seen != 127) return d.Error("column metadata misses a required field");
  return Status::OK();
}

Status ParseColumnChunk(CompactDecoder& d, ColumnChunk* c) {
  return ForEachField(d, [&](CType t, int16_t id) -> Status {
    switch (id) {
      case 1: {
        std::string p;
        SLUICE_RETURN_IF_ERROR(GetBinary(d, t, &p));
        c->file_path = std::move(p);
        return Status::OK();
      }
      case 2: return GetI64(d, t, &c->file_offset);
      case 3:
        SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t));
        c->meta_data.emplace();
        return ParseColumnMetaData(d, &*c->meta_data);
      default: return d.Skip(t);
    }
  });
}

Status ParseRowGroup(CompactDecoder& d, RowGroup* rg) {
  uint32_t seen = 0;
  SLUICE_RETURN_IF_ERROR(ForEachField(d, [&](CType t, int16_t id) -> Status {
    int64_t n;
    int32_t v;
    switch (id) {
      case 1:
        seen |= 1;
        return ParseList(d, t, CType::kStruct, &rg->columns, [&](ColumnChunk* c) { return ParseColumnChunk(d, c); });
      case 2: seen |= 2; return GetI64(d, t, &rg->total_byte_size);
      case 3: seen |= 4; return GetI64(d, t, &rg->num_rows);
      case 5: SLUICE_RETURN_IF_ERROR(GetI64(d, t, &n)); rg->file_offset = n; return Status::OK();
      case 6: SLUICE_RETURN_IF_ERROR(GetI64(d, t, &n)); rg->total_compressed_size = n; return Status::OK();
      case 7: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); rg->ordinal = static_cast<int16_t>(v); return Status::OK();
      default: return d.Skip(t);
    }
  }));
  if ((seen & 5) != 5) return d.Error("row group misses a required field");
  if (rg->num_rows < 0) return d.Error("negative row count");
  return Status::OK();
}

Status ParseDataPageHeader(CompactDecoder& d, DataPageHeader* h) {
  uint32_t seen = 0;
  SLUICE_RETURN_IF_ERROR(ForEachField(d, [&](CType t, int16_t id) -> Status {
    int32_t v;
    switch (id) {
      case 1: seen |= 1; return GetI32(d, t, &h->num_values);
      case 2: seen |= 2; SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); h->encoding = static_cast<Encoding>(v); return Status::OK();
      case 3: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); h->definition_level_encoding = static_cast<Encoding>(v); return Status::OK();
      case 4: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); h->repetition_level_encoding = static_cast<Encoding>(v); return Status::OK();
      case 5:
        SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t));
        h->statistics.emplace();
        return ParseStatistics(d, &*h->statistics);
      default: return d.Skip(t);
    }
  }));
  if (seen != 3) return d.Error("data page header misses a required field");
  if (h->num_values < 0) return d.Error("negative value count");
  return Status::OK();
}

Status ParseDataPageHeaderV2(CompactDecoder& d, DataPageHeaderV2* h) {
  uint32_t seen = 0;
  SLUICE_RETURN_IF_ERROR(ForEachField(d, [&](CType t, int16_t id) -> Status {
    int32_t v;
    switch (id) {
      case 1: seen |= 1; return GetI32(d, t, &h->num_values);
      case 2: seen |= 2; return GetI32(d, t, &h->num_nulls);
      case 3: seen |= 4; return GetI32(d, t, &h->num_rows);
      case 4: seen |= 8; SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); h->encoding = static_cast<Encoding>(v); return Status::OK();
      case 5: seen |= 16; return GetI32(d, t, &h->definition_levels_byte_length);
      case 6: seen |= 32; return GetI32(d, t, &h->repetition_levels_byte_length);
      case 7: return GetBool(d, t, &h->is_compressed);
      case 8:
        SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t));
        h->statistics.emplace();
        return ParseStatistics(d, &*h->statistics);
      default: return d.Skip(t);
    }
  }));
  if (seen != 63) return d.Error("data page v2 header misses a required field");
  if (h->num_values < 0 || h->num_nulls < 0 || h->num_nulls > h->num_values || h->num_rows < 0 ||
      h->definition_levels_byte_length < 0 || h->repetition_levels_byte_length < 0) {
    return d.Error("data page v2 header has negative or inconsistent counts");
  }
  return Status::OK();
}

Status ParseDictionaryPageHeader(CompactDecoder& d, DictionaryPageHeader* h) {
  uint32_t seen = 0;
  SLUICE_RETURN_IF_ERROR(ForEachField(d, [&](CType t, int16_t id) -> Status {
    int32_t v;
    switch (id) {
      case 1: seen |= 1; return GetI32(d, t, &h->num_values);
      case 2: seen |= 2; SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); h->encoding = static_cast<Encoding>(v); return Status::OK();
      case 3: {
        bool b;
        SLUICE_RETURN_IF_ERROR(GetBool(d, t, &b));
        h->is_sorted = b;
        return Status::OK();
      }
      default: return d.Skip(t);
    }
  }));
  if (seen != 3) return d.Error("dictionary page header misses a required field");
  if (h->num_values < 0) return d.Error("negative dictionary size");
  return Status::OK();
}

}  // namespace

Result<FileMetaData> ParseFileMetaData(const uint8_t* data, size_t size, int64_t base_offset) {
  CompactDecoder d(data, size, base_offset);
  FileMetaData m;
  uint32_t seen = 0;
  Status st = ForEachField(d, [&](CType t, int16_t id) -> Status {
    switch (id) {
      case 1: seen |= 1; return GetI32(d, t, &m.version);
      case 2:
        seen |= 2;
        return ParseList(d, t, CType::kStruct, &m.schema, [&](SchemaElement* s) { return ParseSchemaElement(d, s); });
      case 3: seen |= 4; return GetI64(d, t, &m.num_rows);
      case 4:
        seen |= 8;
        return ParseList(d, t, CType::kStruct, &m.row_groups, [&](RowGroup* rg) { return ParseRowGroup(d, rg); });
      case 5:
        return ParseList(d, t, CType::kStruct, &m.key_value_metadata, [&](KeyValue* kv) { return ParseKeyValue(d, kv); });
      case 6: {
        std::string s;
        SLUICE_RETURN_IF_ERROR(GetBinary(d, t, &s));
        m.created_by = std::move(s);
        return Status::OK();
      }
      case 7: {
        if (t != CType::kList) return d.Error("expected a list field");
        CType elem;
        uint32_t n;
        SLUICE_RETURN_IF_ERROR(d.ReadListHeader(&elem, &n));
        for (uint32_t i = 0; i < n; ++i) SLUICE_RETURN_IF_ERROR(d.Skip(elem));
        m.column_orders = static_cast<int32_t>(n);
        return Status::OK();
      }
      default: return d.Skip(t);
    }
  });
  if (!st.ok()) return st;
  if (seen != 15) return d.Error("file metadata misses a required field");
  if (m.schema.empty()) return d.Error("file metadata has an empty schema");
  if (m.num_rows < 0) return d.Error("negative row count");
  return m;
}

Result<PageHeader> ParsePageHeader(const uint8_t* data, size_t size, int64_t base_offset, size_t* header_size) {
  CompactDecoder d(data, size, base_offset);
  PageHeader h;
  uint32_t seen = 0;
  Status st = ForEachField(d, [&](CType t, int16_t id) -> Status {
    int32_t v;
    switch (id) {
      case 1: seen |= 1; SLUICE_RETURN_IF_ERROR(GetEnum(d, t, 0, 3, "page type", &v)); h.type = static_cast<PageType>(v); return Status::OK();
      case 2: seen |= 2; return GetI32(d, t, &h.uncompressed_page_size);
      case 3: seen |= 4; return GetI32(d, t, &h.compressed_page_size);
      case 4: SLUICE_RETURN_IF_ERROR(GetI32(d, t, &v)); h.crc = v; return Status::OK();
      case 5:
        SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t));
        h.data_page_header.emplace();
        return ParseDataPageHeader(d, &*h.data_page_header);
      case 7:
        SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t));
        h.dictionary_page_header.emplace();
        return ParseDictionaryPageHeader(d, &*h.dictionary_page_header);
      case 8:
        SLUICE_RETURN_IF_ERROR(ExpectStruct(d, t));
        h.data_page_header_v2.emplace();
        return ParseDataPageHeaderV2(d, &*h.data_page_header_v2);
      default: return d.Skip(t);
    }
  });
  if (!st.ok()) return st;
  if (seen != 7) return Status::DataError("page header misses a required field at offset {}", base_offset);
  if (h.uncompressed_page_size < 0 || h.compressed_page_size < 0) {
    return Status::DataError("page header has a negative size at offset {}", base_offset);
  }
  *header_size = d.position();
  return h;
}

}  // namespace sluice::parquet::format
