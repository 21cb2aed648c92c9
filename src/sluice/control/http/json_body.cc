#include "sluice/control/http/json_body.h"

#include <limits>

#include "sluice/base/strings.h"

namespace sluice::http {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; the client needs the rest.
std::string_view WithoutExceptionId(std::string_view what) {
  if (!what.empty() && what.front() == '[') {
    size_t end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return what;
}

}  // namespace

ProblemOr<nlohmann::json> ParseJsonObject(std::string_view body) {
  // One set of member names per open object (arrays push nothing; keys occur only in objects).
  std::vector<std::set<std::string, std::less<>>> open_objects;
  int depth = 0;
  std::optional<Problem> shape_problem;
  auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (shape_problem) return false;  // stop building; the document is refused anyway
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (++depth > kMaxJsonDepth) {
          shape_problem = MakeProblem(
              codes::kInvalidBody,
              fmt::format("the JSON body nests deeper than {} levels", kMaxJsonDepth));
          return false;
        }
        if (event == E::object_start) open_objects.emplace_back();
        break;
      case E::object_end:
      case E::array_end:
        --depth;
        if (event == E::object_end && !open_objects.empty()) open_objects.pop_back();
        break;
      case E::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          shape_problem = FieldProblem(codes::kInvalidBody, parsed.get<std::string>(),
                                       "the member appears twice in one object");
          return false;
        }
        break;
      case E::value:
        break;
    }
    return true;
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(body.begin(), body.end(), callback, /*allow_exceptions=*/true,
                                /*ignore_comments=*/false);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts the bytes read, so the offending byte is at offset byte - 1.
    size_t position = e.byte > 0 ? e.byte - 1 : 0;
    if (shape_problem) return *std::move(shape_problem);
    return MakeProblem(codes::kMalformedJson,
                       fmt::format("malformed JSON at byte {}: {}", position, WithoutExceptionId(e.what())))
        .With("position", position);
  } catch (const nlohmann::json::exception& e) {
    if (shape_problem) return *std::move(shape_problem);
    return MakeProblem(codes::kMalformedJson,
                       fmt::format("malformed JSON: {}", WithoutExceptionId(e.what())));
  }
  if (shape_problem) return *std::move(shape_problem);
  if (!doc.is_object()) {
    return MakeProblem(codes::kInvalidBody,
                       fmt::format("the body must be a JSON object, not {}", doc.type_name()));
  }
  return doc;
}

JsonFieldReader::JsonFieldReader(const nlohmann::json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {
  if (!object_.is_object()) {
    errors_.push_back({prefix_.empty() ? "" : prefix_.substr(0, prefix_.size() - 1),
                       codes::kInvalidBody,
                       fmt::format("expected an object, got {}", object_.type_name())});
  }
}

const nlohmann::json* JsonFieldReader::Lookup(std::string_view name) {
  known_.emplace(name);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

void JsonFieldReader::AddTypeError(std::string_view name, std::string_view expected,
                                   const nlohmann::json& got) {
  errors_.push_back({prefix_ + std::string(name), codes::kInvalidField,
                     fmt::format("expected {}, got {}", expected, got.type_name())});
}

void JsonFieldReader::AddMissing(std::string_view name, std::string_view expected) {
  errors_.push_back({prefix_ + std::string(name), codes::kInvalidField,
                     fmt::format("required field missing (expected {})", expected)});
}

void JsonFieldReader::AddError(std::string_view name, std::string message) {
  known_.emplace(name);
  errors_.push_back({prefix_ + std::string(name), codes::kInvalidField, std::move(message)});
}

std::optional<std::string> JsonFieldReader::OptionalString(std::string_view name) {
  const nlohmann::json* v = Lookup(name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    AddTypeError(name, "a string", *v);
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string JsonFieldReader::RequiredString(std::string_view name) {
  if (Lookup(name) == nullptr) {
    AddMissing(name, "a string");
    return "";
  }
  return OptionalString(name).value_or("");
}

std::optional<int64_t> JsonFieldReader::OptionalInt(std::string_view name) {
  const nlohmann::json* v = Lookup(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) {
    auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      errors_.push_back({prefix_ + std::string(name), codes::kInvalidField,
                         "the integer is out of range (64-bit signed)"});
      return std::nullopt;
    }
    return static_cast<int64_t>(u);
  }
  if (!v->is_number_integer()) {
    AddTypeError(name, "an integer", *v);
    return std::nullopt;
  }
  return v->get<int64_t>();
}

int64_t JsonFieldReader::RequiredInt(std::string_view name) {
  if (Lookup(name) == nullptr) {
    AddMissing(name, "an integer");
    return 0;
  }
  return OptionalInt(name).value_or(0);
}

std::optional<double> JsonFieldReader::OptionalNumber(std::string_view name) {
  const nlohmann::json* v = Lookup(name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) {
    AddTypeError(name, "a number", *v);
    return std::nullopt;
  }
  return v->get<double>();
}

std::optional<bool> JsonFieldReader::OptionalBool(std::string_view name) {
  const nlohmann::json* v = Lookup(name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) {
    AddTypeError(name, "a boolean", *v);
    return std::nullopt;
  }
  return v->get<bool>();
}

bool JsonFieldReader::RequiredBool(std::string_view name) {
  if (Lookup(name) == nullptr) {
    AddMissing(name, "a boolean");
    return false;
  }
  return OptionalBool(name).value_or(false);
}

const nlohmann::json* JsonFieldReader::OptionalObject(std::string_view name) {
  const nlohmann::json* v = Lookup(name);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    AddTypeError(name, "an object", *v);
    return nullptr;
  }
  return v;
}

const nlohmann::json* JsonFieldReader::RequiredObject(std::string_view name) {
  if (Lookup(name) == nullptr) {
    AddMissing(name, "an object");
    return nullptr;
  }
  return OptionalObject(name);
}

const nlohmann::json* JsonFieldReader::OptionalArray(std::string_view name) {
  const nlohmann::json* v = Lookup(name);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    AddTypeError(name, "an array", *v);
    return nullptr;
  }
  return v;
}

const nlohmann::json* JsonFieldReader::RequiredArray(std::string_view name) {
  if (Lookup(name) == nullptr) {
    AddMissing(name, "an array");
    return nullptr;
  }
  return OptionalArray(name);
}

const nlohmann::json* JsonFieldReader::OptionalAny(std::string_view name) {
  known_.emplace(name);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(name);
  return it == object_.end() ? nullptr : &*it;
}

std::optional<Problem> JsonFieldReader::Finish() {
  if (object_.is_object()) {
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (known_.find(it.key()) == known_.end()) {
        errors_.push_back({prefix_ + it.key(), codes::kUnknownField, "unknown field"});
      }
    }
  }
  if (errors_.empty()) return std::nullopt;
  std::vector<std::string> parts;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : errors_) {
    parts.push_back(fmt::format("{}: {}", e.field.empty() ? "(body)" : e.field, e.message));
    list.push_back({{"field", e.field}, {"code", std::string(e.code)}, {"message", e.message}});
  }
  Problem p = MakeProblem(errors_.front().code, Join(parts, "; "));
  p.With("errors", std::move(list));
  errors_.clear();
  return p;
}

std::optional<Problem> CheckJsonContentType(const Request& request) {
  std::string type = request.MediaType();
  if (type == kApplicationJson || type.ends_with("+json")) return std::nullopt;
  return MakeProblem(codes::kUnsupportedMediaType,
                     fmt::format("the body must be application/json, not '{}'",
                                 request.headers.Get("Content-Type").value_or("")));
}

}  // namespace sluice::http
