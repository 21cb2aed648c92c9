// Fuzzes the expression language: arbitrary text is parsed and bound against a schema with every
// type; whatever binds is evaluated over a small batch. Must never crash; errors are fine.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sluice/expr/expr.h"

namespace {

sluice::Batch MakeBatch() {
  using namespace sluice;
  auto schema = std::make_shared<Schema>(std::vector<Field>{
      {"b", DataType::Bool()}, {"i", DataType::Int32()}, {"l", DataType::Int64()}, {"f", DataType::Float64()},
      {"d", DataType::Decimal(12, 2)}, {"s", DataType::String()}, {"dt", DataType::Date()},
      {"ts", DataType::Timestamp()}, {"data.page", DataType::String()}});
  BatchBuilder bb(schema);
  bb.AppendRow({Value::Bool(true), Value::Int32(7), Value::Int64(-3), Value::Float64(2.5), Value::Decimal(1234, 12, 2),
                Value::String("héllo"), Value::Date(20000), Value::Timestamp(1700000000000000), Value::String("/x")});
  bb.AppendRow({Value::Null(DataType::Bool()), Value::Int32(INT32_MAX), Value::Int64(INT64_MIN),
                Value::Float64(-0.0), Value::Decimal(-99999999, 12, 2), Value::String(""), Value::Null(DataType::Date()),
                Value::Timestamp(-1), Value::Null(DataType::String())});
  return bb.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sluice::Batch batch = MakeBatch();
  std::string text(reinterpret_cast<const char*>(data), size);
  auto bound = sluice::expr::Compile(text, *batch.schema());
  if (!bound.ok()) return 0;
  sluice::expr::EvalContext ctx;
  auto col = sluice::expr::Evaluate(**bound, batch, ctx);
  if (col.ok() && (*col)->size() != batch.num_rows()) __builtin_trap();
  (void)sluice::expr::ToSql(**bound);
  return 0;
}
