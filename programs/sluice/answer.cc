// What sluice answers, and where (answer.h).
#include "answer.h"

#include <cctype>
#include <cstdio>
#include <iostream>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace sluice::cli {

namespace {

using nlohmann::ordered_json;

OutputFormat g_error_format = OutputFormat::kTable;

void EmitYaml(YAML::Emitter& out, const ordered_json& j) {
  switch (j.type()) {
    case ordered_json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        out << YAML::Key << k << YAML::Value;
        EmitYaml(out, v);
      }
      out << YAML::EndMap;
      break;
    case ordered_json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& v : j) EmitYaml(out, v);
      out << YAML::EndSeq;
      break;
    case ordered_json::value_t::string: out << j.get<std::string>(); break;
    case ordered_json::value_t::null: out << YAML::Null; break;
    default: out << j.dump(); break;
  }
}

std::string Yaml(const ordered_json& j) {
  YAML::Emitter out;
  EmitYaml(out, j);
  return out.c_str();
}

std::string ProblemLine(const Problem& p) {
  if (p.file.empty()) return p.message;
  if (p.line <= 0) return p.file + ": " + p.message;
  return p.file + ":" + std::to_string(p.line) + ": " + p.message;
}

}  // namespace

void SetErrorFormat(OutputFormat format) { g_error_format = format; }
OutputFormat ErrorFormat() { return g_error_format; }

std::string_view CodeOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kDataError: return "data_error";
    case StatusCode::kIoError: return "io_error";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kAborted: return "aborted";
    case StatusCode::kInternal: return "internal";
  }
  return "internal";
}

int ExitCodeFor(const Status& st) {
  if (st.ok()) return kExitOk;
  return st.IsUserError() ? kExitInvalid : kExitFailure;
}

int Fail(const Failure& f) {
  std::cout.flush();  // a result printed before the error comes first when both go to one place
  switch (g_error_format) {
    case OutputFormat::kTable: {
      std::string text;
      if (f.problems.empty()) {
        text = "error: " + f.message + "\n";
      } else {
        for (const Problem& p : f.problems) text += ProblemLine(p) + "\n";
      }
      if (!f.hint.empty()) text += f.hint + "\n";
      std::fputs(text.c_str(), stderr);
      break;
    }
    case OutputFormat::kJson:
    case OutputFormat::kYaml: {
      ordered_json problems = ordered_json::array();
      for (const Problem& p : f.problems) {
        ordered_json j = ordered_json::object();
        if (!p.file.empty()) j["file"] = p.file;
        if (p.line > 0) j["line"] = p.line;
        j["message"] = p.message;
        problems.push_back(std::move(j));
      }
      ordered_json j = {{"code", std::string(f.code)},
                        {"message", f.message},
                        {"problems", std::move(problems)},
                        {"exit_code", f.exit_code}};
      if (!f.hint.empty()) j["hint"] = f.hint;
      // json: one line, the last on stderr (warnings before it are text lines).
      const std::string text = g_error_format == OutputFormat::kJson ? j.dump() : Yaml(j);
      std::fprintf(stderr, "%s\n", text.c_str());
      break;
    }
  }
  std::fflush(stderr);
  return f.exit_code;
}

void PrintNote(const std::string& text) {
  std::fprintf(stderr, "note: %s\n", text.c_str());
  std::fflush(stderr);
}

int Fail(const Status& st) {
  return Fail(Failure{.code = CodeOf(st.code()), .message = st.message(), .exit_code = ExitCodeFor(st)});
}

int FailUsage(const std::string& message) {
  return Fail(Failure{.code = codes::kUsage, .message = message, .exit_code = kExitInvalid});
}

std::vector<Problem> ProblemsOf(const std::string& message) {
  std::vector<Problem> problems;
  size_t start = 0;
  while (start < message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    const std::string line = message.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    Problem p;
    p.message = line;
    // FILE:LINE: message — the first ':' followed by digits and ':'.
    for (size_t colon = line.find(':'); colon != std::string::npos; colon = line.find(':', colon + 1)) {
      size_t d = colon + 1;
      while (d < line.size() && std::isdigit(static_cast<unsigned char>(line[d]))) ++d;
      if (d == colon + 1 || d >= line.size() || line[d] != ':' || d - colon > 10 || colon == 0) continue;
      p.file = line.substr(0, colon);
      p.line = std::stoll(line.substr(colon + 1, d - colon - 1));
      p.message = line.substr(d + 1 < line.size() && line[d + 1] == ' ' ? d + 2 : d + 1);
      break;
    }
    problems.push_back(std::move(p));
  }
  return problems;
}

int FailSpec(const Status& st) {
  if (st.code() != StatusCode::kInvalidArgument) return Fail(st);
  std::vector<Problem> problems = ProblemsOf(st.message());
  if (problems.empty()) return Fail(st);
  for (const Problem& p : problems) {
    if (p.line <= 0) return Fail(st);
  }
  const std::string message = problems.size() == 1
                                  ? problems[0].file + ":" + std::to_string(problems[0].line) + ": " +
                                        problems[0].message
                                  : problems[0].file + ": " + std::to_string(problems.size()) + " problems in the spec";
  return Fail(Failure{
      .code = codes::kInvalidSpec, .message = message, .exit_code = kExitInvalid, .problems = std::move(problems)});
}

void PrintDocument(const std::string& json, OutputFormat format, const std::string& table_text) {
  switch (format) {
    case OutputFormat::kJson: std::cout << json << std::endl; break;
    case OutputFormat::kYaml: std::cout << Yaml(ordered_json::parse(json)) << std::endl; break;
    case OutputFormat::kTable: std::cout << table_text << std::flush; break;
  }
}

}  // namespace sluice::cli
