// Structured logging: one event name plus key=value fields, written as logfmt (or JSON lines when
// SLUICE_LOG_FORMAT=json) to stderr through spdlog. Secrets never belong in fields.
//   SLUICE_LOG(Info, "run.finished", {"pipeline", name}, {"rows", n});
// Thread-safety: safe from any thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace sluice::log {

enum class Level { kDebug, kInfo, kWarn, kError };

struct Field {
  template <typename T>
  Field(std::string_view k, const T& v) : key(k), value(fmt::format("{}", v)) {}
  std::string_view key;
  std::string value;
};

void Emit(Level level, std::string_view event, std::initializer_list<Field> fields);
void SetLevel(Level level);
bool Enabled(Level level);

}  // namespace sluice::log

#define SLUICE_LOG(level, event, ...)                                     \
  do {                                                                    \
    if (::sluice::log::Enabled(::sluice::log::Level::k##level))           \
      ::sluice::log::Emit(::sluice::log::Level::k##level, event, {__VA_ARGS__}); \
  } while (0)
