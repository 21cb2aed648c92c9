// Hashing and masking: hash(x, ...) (a 64-bit hash of one or more values, or with 'sha256' the
// hex SHA-256 of a string) and mask(x). What they return is not personal data (IsPii).
#include <cmath>
#include <iterator>
#include <limits>

#include "sluice/base/digest.h"
#include "sluice/base/hash.h"
#include "sluice/base/pii.h"
#include "sluice/base/strings.h"
#include "sluice/expr/functions_internal.h"

namespace sluice::expr {
namespace {

// Integers of every width hash as their int64 value so equal keys of int32 and int64 agree.
uint64_t HashRow(const ArgView& v, TypeId t, uint32_t r) {
  switch (t) {
    case TypeId::kString:
    case TypeId::kBinary: return Hash64(v.Str(r));
    case TypeId::kFloat64: {
      double d = v.Get<double>(r);
      if (d == 0) d = 0;  // -0.0 == 0.0
      if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
      return Hash64(std::string_view(reinterpret_cast<const char*>(&d), sizeof d));
    }
    default: {
      int64_t x = v.Int(r);
      return Hash64(std::string_view(reinterpret_cast<const char*>(&x), sizeof x));
    }
  }
}
ColumnPtr HashKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  std::vector<ArgView> views;
  std::vector<TypeId> types;
  for (size_t i = 0; i < node.args.size(); ++i) {
    views.emplace_back(args[i]);
    types.push_back(args[i].col->type().id);
  }
  return MapFixed<int64_t>(node, args, node.args.size(), in, [&](uint32_t r) {
    uint64_t h = HashRow(views[0], types[0], r);
    for (size_t i = 1; i < views.size(); ++i) h = HashCombine(h, HashRow(views[i], types[i], r));
    return static_cast<int64_t>(h);
  });
}
// hash(x, 'sha256'): the lower-case hex SHA-256 of a string's bytes.
ColumnPtr Sha256Kernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  return MapString(node, args, 1, in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    buf = HexEncode(Sha256(s.Str(r)));
    return std::string_view(buf);
  });
}
// The digests hash() names by a string literal as its second argument.
constexpr std::string_view kDigestAlgorithms[] = {"sha256"};

Status ResolveHash(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, SIZE_MAX));
  if (c.args.size() == 2 && c.IsLiteral(1) && c.ArgType(1).id == TypeId::kString) {
    const std::string& algorithm = c.Literal(1).string_value();
    if (algorithm != kDigestAlgorithms[0]) {
      std::vector<std::string> known(std::begin(kDigestAlgorithms), std::end(kDigestAlgorithms));
      return c.Error("unknown hash algorithm '{}'{}; hash(x, 'sha256') is the hex SHA-256 of x", algorithm,
                     DidYouMeanSuffix(algorithm, known));
    }
    if (c.ArgType(0).id != TypeId::kBinary) SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
    c.type = DataType::String();  // the algorithm stays an argument, so plans show it
    c.kernel = &Sha256Kernel;
    return Status::OK();
  }
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (c.ArgType(i).id == TypeId::kNull) SLUICE_RETURN_IF_ERROR(c.Coerce(i, DataType::Int64()));
  }
  c.type = DataType::Int64();
  c.kernel = &HashKernel;
  return Status::OK();
}

// mask(x): every character but the last four as '*' (base/pii.h).
ColumnPtr MaskKernel(const BoundExpr& node, const Datum* args, const EvalInput& in) {
  ArgView s(args[0]);
  return MapString(node, args, 1, in, [&](uint32_t r, std::string& buf) -> std::optional<std::string_view> {
    buf = MaskKeepLast4(s.Str(r));
    return std::string_view(buf);
  });
}
Status ResolveMask(CallBinding& c) {
  SLUICE_RETURN_IF_ERROR(c.Arity(1, 1));
  SLUICE_RETURN_IF_ERROR(RequireStrings(c, {0}));
  c.type = DataType::String();
  c.kernel = &MaskKernel;
  return Status::OK();
}

constexpr FunctionDef kHashFunctions[] = {
    {"hash", &ResolveHash},
    {"mask", &ResolveMask},
};

}  // namespace

std::span<const FunctionDef> HashFunctions() { return kHashFunctions; }

}  // namespace sluice::expr
