// How our logical types map to SQL column types in each warehouse backend (docs/warehouse.md),
// and back. The reverse maps also accept what analysts commonly declare themselves.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sluice/types/data_type.h"

namespace sluice::warehouse {

// bool BOOLEAN, int32 INTEGER, int64 BIGINT, float64 DOUBLE, decimal(p,s) DECIMAL(p,s),
// string TEXT, binary BLOB, date DATE (text 'YYYY-MM-DD'), timestamp TIMESTAMP (text
// 'YYYY-MM-DD HH:MM:SS.ffffff', UTC).
std::string SqliteTypeName(const DataType& t);
DataType SqliteTypeFromDecl(std::string_view declared);

// bool boolean, int32 integer, int64 bigint, float64 double precision, decimal(p,s) numeric(p,s),
// string text, binary bytea, date date, timestamp timestamp with time zone.
std::string PostgresTypeName(const DataType& t);
// From format_type() output, e.g. "numeric(18,2)", "timestamp with time zone"; nullopt if the
// type has no Sluice counterpart.
std::optional<DataType> PostgresTypeFromName(std::string_view formatted);

}  // namespace sluice::warehouse
