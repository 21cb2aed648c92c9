#include "sluice/base/logging.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace sluice::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kWarn)};

bool JsonFormat() {
  static const bool json = [] {
    const char* f = std::getenv("SLUICE_LOG_FORMAT");
    return f != nullptr && std::strcmp(f, "json") == 0;
  }();
  return json;
}

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_logger_mt("sluice");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
    l->set_level(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

void AppendQuoted(std::string& out, std::string_view v, bool json) {
  bool needs = json || v.empty() || v.find_first_of(" \"=\t\n") != std::string_view::npos;
  if (!needs) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  out += '"';
}

}  // namespace

void SetLevel(Level level) { g_level = static_cast<int>(level); }
bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void Emit(Level level, std::string_view event, std::initializer_list<Field> fields) {
  std::string line;
  bool json = JsonFormat();
  if (json) {
    line = "{\"event\":";
    AppendQuoted(line, event, true);
    for (const auto& f : fields) {
      line += ',';
      AppendQuoted(line, f.key, true);
      line += ':';
      AppendQuoted(line, f.value, true);
    }
    line += '}';
  } else {
    line = std::string(event);
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      AppendQuoted(line, f.value, false);
    }
  }
  switch (level) {
    case Level::kDebug: Logger().debug(line); break;
    case Level::kInfo: Logger().info(line); break;
    case Level::kWarn: Logger().warn(line); break;
    case Level::kError: Logger().error(line); break;
  }
}

}  // namespace sluice::log
