// Spec error tests kept as data (tests/specs/invalid/README.md): each folder holds a
// pipeline.yaml with one problem and expected_errors.txt, the exact lines `sluice validate -f
// pipeline.yaml` prints for it. Every case must fail to compile with exactly those lines.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sluice/pipeline/compile.h"

#ifndef SLUICE_INVALID_SPECS_DIR
#error "SLUICE_INVALID_SPECS_DIR must name tests/specs/invalid (set in src/sluice/pipeline/CMakeLists.txt)"
#endif

namespace sluice::pipeline {
namespace {

namespace fs = std::filesystem;

// Fewer cases than this means the folder was not found or lost cases, not that errors went away.
constexpr size_t kMinCases = 200;

const fs::path kCasesDir = SLUICE_INVALID_SPECS_DIR;

// Folders of kCasesDir that hold a pipeline.yaml, sorted.
std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kCasesDir, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "pipeline.yaml")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Lines of `text`; a final newline does not start another line.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

// A line diff (longest common subsequence): "  " common, "- " only expected, "+ " only got.
std::string Diff(const std::vector<std::string>& want, const std::vector<std::string>& got) {
  const size_t n = want.size(), m = got.size();
  std::vector<std::vector<size_t>> lcs(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = want[i] == got[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && want[i] == got[j]) {
      out += "  " + want[i++] + "\n";
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out += "- " + want[i++] + "\n";
    } else {
      out += "+ " + got[j++] + "\n";
    }
  }
  return out;
}

// A fresh, empty workdir per case, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sluice-invalid-spec-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class InvalidSpec : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    // Cases expect these unset: a kafka source or sink without brokers, an unset ${env.NAME}.
    ::unsetenv("SLUICE_KAFKA_BROKERS");
    ::unsetenv("SLUICE_INVALID_SPEC_UNSET_VARIABLE");
  }
};

TEST_P(InvalidSpec, ReportsExactlyTheExpectedErrors) {
  const fs::path dir = kCasesDir / GetParam();
  const std::string regenerate = "regenerate as tests/specs/invalid/README.md says";
  std::ifstream in(dir / "expected_errors.txt", std::ios::binary);
  ASSERT_TRUE(in) << "missing " << (dir / "expected_errors.txt").string() << "; " << regenerate;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::vector<std::string> want = Lines(ss.str());
  ASSERT_FALSE(want.empty()) << "expected_errors.txt is empty; " << regenerate;

  TempDir work;
  ASSERT_FALSE(work.path().empty()) << "cannot create a temporary workdir";
  CompileOptions options;
  options.workdir = work.path();
  auto plan = CompileFile((dir / "pipeline.yaml").string(), options);
  ASSERT_FALSE(plan.ok()) << GetParam() << "/pipeline.yaml compiles, but should fail with:\n"
                          << ss.str();
  // Messages name the spec by the path it was opened with; the expected lines name it as
  // `sluice validate -f pipeline.yaml` run in the case folder does, and the workdir as WORKDIR.
  const std::vector<std::string> got =
      Lines(ReplaceAll(ReplaceAll(plan.status().message(), (dir / "").string(), ""), work.path(), "WORKDIR"));
  EXPECT_EQ(want, got) << GetParam() << ": the errors differ (- expected, + got):\n"
                       << Diff(want, got) << regenerate;
}

INSTANTIATE_TEST_SUITE_P(Cases, InvalidSpec, ::testing::ValuesIn(CaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// Guards against a folder that was not found (the suite above would then be empty).
TEST(InvalidSpecs, CasesAreFound) {
  EXPECT_GE(CaseNames().size(), kMinCases) << "cases found in " << kCasesDir.string();
}

}  // namespace
}  // namespace sluice::pipeline
