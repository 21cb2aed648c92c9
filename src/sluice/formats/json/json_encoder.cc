// NDJSON encoding. The shape of every output object is fixed by the schema (NULL is written as
// null, never omitted), so the encoder precomputes the literal text between values — braces,
// commas and escaped keys, with dotted names regrouped into nested objects — and a row is just
// those literals interleaved with the values.
#include <cmath>
#include <cstring>

#include "sluice/formats/json/json.h"
#include "sluice/formats/text_convert.h"
#include "sluice/types/decimal.h"
#include "sluice/types/temporal.h"

namespace sluice::formats {
namespace {

// 0 = copy as is, 1 = short escape (\" \\ \n ...), 2 = \u00XX.
struct EscapeTable {
  uint8_t kind[256];
  char short_form[256];
  constexpr EscapeTable() : kind(), short_form() {
    for (int c = 0; c < 0x20; ++c) kind[c] = 2;
    kind['"'] = 1, short_form['"'] = '"';
    kind['\\'] = 1, short_form['\\'] = '\\';
    kind['\n'] = 1, short_form['\n'] = 'n';
    kind['\r'] = 1, short_form['\r'] = 'r';
    kind['\t'] = 1, short_form['\t'] = 't';
    kind['\b'] = 1, short_form['\b'] = 'b';
    kind['\f'] = 1, short_form['\f'] = 'f';
  }
};
constexpr EscapeTable kEscapes;

struct TemplatePiece {
  std::string prefix;  // literal text before the value
  size_t field;
};

struct OutNode {
  std::string key;
  int field = -1;
  std::vector<OutNode> children;
};

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  const char* p = s.data();
  const char* end = p + s.size();
  const char* run = p;
  for (; p < end; ++p) {
    uint8_t k = kEscapes.kind[static_cast<unsigned char>(*p)];
    if (k == 0) continue;
    out.append(run, p);
    if (k == 1) {
      char e[2] = {'\\', kEscapes.short_form[static_cast<unsigned char>(*p)]};
      out.append(e, 2);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      unsigned char c = static_cast<unsigned char>(*p);
      char e[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.append(e, 6);
    }
    run = p + 1;
  }
  out.append(run, end);
  out += '"';
}

struct JsonEncoder::Impl {
  explicit Impl(SchemaPtr s) : schema(std::move(s)) {
    OutNode root;
    std::vector<size_t> flat;  // fields whose dotted path collides with another field
    for (size_t i = 0; i < schema->size(); ++i) {
      const std::string& name = schema->field(i).name;
      if (!Insert(root, name, static_cast<int>(i))) flat.push_back(i);
    }
    for (size_t i : flat) root.children.push_back(OutNode{schema->field(i).name, static_cast<int>(i), {}});
    std::string pending = "{";
    Walk(root, pending);
    pending += '}';
    suffix = std::move(pending);
    for (const auto& f : schema->fields()) types.push_back(f.type);
  }

  // Adds a dotted path to the output tree; false if it collides with a field on its path (then
  // it is written flat under its full name).
  static bool Insert(OutNode& root, const std::string& name, int field) {
    OutNode* node = &root;
    size_t start = 0;
    for (;;) {
      size_t dot = name.find('.', start);
      std::string key = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      OutNode* child = nullptr;
      for (auto& c : node->children) {
        if (c.key == key) child = &c;
      }
      bool last = dot == std::string::npos;
      if (child != nullptr && (child->field >= 0 || last)) return false;  // collision
      if (child == nullptr) {
        node->children.push_back(OutNode{key, -1, {}});
        child = &node->children.back();
      }
      if (last) {
        child->field = field;
        return true;
      }
      node = child;
      start = dot + 1;
    }
  }

  void Walk(const OutNode& node, std::string& pending) {
    bool first = true;
    for (const auto& c : node.children) {
      if (!first) pending += ',';
      first = false;
      AppendJsonString(pending, c.key);
      pending += ':';
      if (c.field >= 0) {
        pieces.push_back(TemplatePiece{std::move(pending), static_cast<size_t>(c.field)});
        pending.clear();
      } else {
        pending += '{';
        Walk(c, pending);
        pending += '}';
      }
    }
  }

  void AppendValue(std::string& out, const Column& col, size_t field, uint32_t row) {
    if (col.IsNull(row)) {
      out += "null";
      return;
    }
    switch (types[field].id) {
      case TypeId::kBool: out += col.Get<uint8_t>(row) ? "true" : "false"; break;
      case TypeId::kInt32: AppendInt64(out, col.Get<int32_t>(row)); break;
      case TypeId::kInt64: AppendInt64(out, col.Get<int64_t>(row)); break;
      case TypeId::kFloat64: {
        double d = col.Get<double>(row);
        if (std::isfinite(d)) {
          AppendFloat64(out, d);
        } else {
          // JSON has no NaN/Infinity; these strings are what the decoder accepts for float64.
          out += std::isnan(d) ? "\"NaN\"" : d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        }
        break;
      }
      case TypeId::kDecimal: AppendDecimal(out, col.Get<int64_t>(row), types[field].scale); break;
      case TypeId::kString: AppendJsonString(out, col.GetString(row)); break;
      case TypeId::kBinary:
        out += '"';
        AppendBase64(out, col.GetString(row));
        out += '"';
        break;
      case TypeId::kDate:
        out += '"';
        AppendDate(out, col.Get<int32_t>(row));
        out += '"';
        break;
      case TypeId::kTimestamp:
        out += '"';
        AppendTimestamp(out, col.Get<int64_t>(row));
        out += '"';
        break;
      case TypeId::kNull: out += "null"; break;
    }
  }

  void EncodeRow(const Batch& batch, uint32_t row, std::string& out) {
    for (const auto& piece : pieces) {
      out += piece.prefix;
      AppendValue(out, *batch.column(piece.field), piece.field, row);
    }
    out += suffix;
  }

  SchemaPtr schema;
  std::vector<DataType> types;
  std::vector<TemplatePiece> pieces;
  std::string suffix;
};

JsonEncoder::JsonEncoder(SchemaPtr schema) : impl_(std::make_unique<Impl>(std::move(schema))) {}
JsonEncoder::~JsonEncoder() = default;

void JsonEncoder::Encode(const Batch& batch, std::string& out) {
  out.reserve(out.size() + batch.active_rows() * (impl_->suffix.size() + impl_->pieces.size() * 16));
  batch.ForEachActive([&](uint32_t row) {
    impl_->EncodeRow(batch, row, out);
    out += '\n';
  });
}

void JsonEncoder::EncodeRow(const Batch& batch, uint32_t physical_row, std::string& out) {
  impl_->EncodeRow(batch, physical_row, out);
}

}  // namespace sluice::formats
