// Hive-style partition directories and the Delta text form of partition values.
//
// A partition value is text in the Delta log (`partitionValues`) and, escaped, a directory name
// (`date=2026-11-21/`). The two escapings differ and both matter for other engines:
//   - directory names escape what Hive and Spark escape (control characters, `"#%'*/:=?\{[]^`
//     and DEL) as %XX, so `a=b/c` becomes `p=a%3Db%2Fc`; NULL (and the empty string, which the
//     Delta protocol reads as NULL) is the directory `__HIVE_DEFAULT_PARTITION__`;
//   - the `path` of an add/remove action is a URI (RFC 2396), so the `%` of an escaped directory
//     name is itself escaped there (`p=a%253Db...`). AddFile::path holds the decoded file path.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/base/status.h"
#include "sluice/columnar/column.h"
#include "sluice/types/value.h"

namespace sluice::lake {

inline constexpr std::string_view kHiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__";

// Escapes one partition value for a directory name (Hive's rules).
std::string EscapePartitionValue(std::string_view value);
// Reverses EscapePartitionValue; malformed %XX sequences are kept as they are (Hive does too).
std::string UnescapePartitionValue(std::string_view text);

// "col1=v1/col2=v2" for the values in column order; nullopt (NULL) -> __HIVE_DEFAULT_PARTITION__.
std::string PartitionDirectory(const std::vector<std::string>& columns,
                               const std::vector<std::optional<std::string>>& values);

// The Delta text form of row `row` of `column` (protocol "Partition Value Serialization"):
// booleans true/false, numbers in decimal, dates yyyy-mm-dd, timestamps ISO-8601 in UTC
// ("2026-11-21T10:15:30.123456Z"), decimals with their scale. NULL and "" give nullopt.
// Binary columns cannot be partition columns (InvalidArgument).
Result<std::optional<std::string>> FormatPartitionValue(const Column& column, size_t row);
// Parses the text form back into a Value of `type` (nullopt -> NULL of that type). Accepts the
// other timestamp form of the protocol too ("2026-11-21 10:15:30.123456").
Result<Value> ParsePartitionValue(const std::optional<std::string>& text, DataType type);

// True if a column of this type may partition a table.
bool IsPartitionableType(DataType type);

// URI-encodes a relative file path for the log (every byte outside the unreserved set and
// "/=:@!$&'()*+,;" becomes %XX), and decodes it back (InvalidArgument on a malformed escape).
std::string EncodeLogPath(std::string_view path);
Result<std::string> DecodeLogPath(std::string_view uri);

}  // namespace sluice::lake
