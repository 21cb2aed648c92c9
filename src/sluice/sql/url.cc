#include "sluice/sql/url.h"

#include "sluice/base/strings.h"

namespace sluice::sql {

Result<SqlUrl> ParseSqlUrl(std::string_view url, std::string_view what) {
  if (url.starts_with("sqlite:")) {
    std::string_view path = url.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);  // sqlite:///abs/path
    if (path.empty()) return Status::InvalidArgument("{} URL '{}' has no file path: use sqlite:<path>", what, url);
    return SqlUrl{SqlBackend::kSqlite, std::string(path)};
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return SqlUrl{SqlBackend::kPostgres, std::string(url)};
  }
  return Status::InvalidArgument("{} URL '{}': use sqlite:<path> or postgresql://user@host:port/database", what,
                                 RedactUrlPassword(url));
}

}  // namespace sluice::sql
