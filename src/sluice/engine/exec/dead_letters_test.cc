#include "sluice/engine/exec/dead_letters.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sluice/base/digest.h"
#include "sluice/io/faults.h"
#include "sluice/lake/lake_test_util.h"

namespace sluice::engine {
namespace {

namespace fs = std::filesystem;

using Dir = lake::testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<nlohmann::json> Lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(Slurp(path));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// A row of a source with a pii email (and, when `raw`, the original text as `_raw`).
Batch Row(const std::string& email, int64_t id, bool raw) {
  std::vector<Field> fields = {
      {"id", DataType::Int64()}, {"email", DataType::String()}, {"user.phone", DataType::String()}};
  fields[1].pii = true;
  fields[2].pii = true;
  std::vector<Value> row = {Value::Int64(id), Value::String(email), Value::Null(DataType::String())};
  if (raw) {
    fields.push_back(Field{"_raw", DataType::String(), true});
    fields.back().pii = true;
    row.push_back(Value::String("{\"id\": " + std::to_string(id) + ", \"email\": \"" + email + "\"}"));
  }
  BatchBuilder b(std::make_shared<Schema>(std::move(fields)));
  b.AppendRow(row);
  return b.Finish();
}

TEST(DeadLetters, PiiValuesAreMaskedInPayloadRuleAndMessage) {
  Dir dir;
  PiiMasker masker("test key");
  DeadLetterWriter w("p", "v1", 0, dir / "dl.ndjson");
  w.set_pii_masker(&masker);
  w.AddRow("check", Row("ann@x.org", 1, false), 0, "rule", "rule_failed", "rule 'r' failed");
  w.AddRow("conv", Row("ann@x.org", 2, true), 0, "select", "expression_error", "cannot cast 'ann@x.org' to int64");
  w.AddRaw("src", "src", "in.ndjson", 3, "malformed_json", "malformed JSON: {\"email\": \"bob@x.org\"",
           "{\"email\": \"bob@x.org\"", /*pii=*/true);
  ASSERT_TRUE(w.Commit().ok());
  const std::string text = Slurp(dir / "dl.ndjson");
  EXPECT_EQ(text.find("ann@x.org"), std::string::npos) << text;
  EXPECT_EQ(text.find("bob@x.org"), std::string::npos) << text;
  auto lines = Lines(dir / "dl.ndjson");
  ASSERT_EQ(lines.size(), 3u);
  const std::string ann = masker.Mask("ann@x.org");
  auto p0 = nlohmann::json::parse(lines[0]["payload"].get<std::string>());
  auto p1 = nlohmann::json::parse(lines[1]["payload"].get<std::string>());
  EXPECT_EQ(p0["email"], ann);
  EXPECT_EQ(p0["id"], 1) << "other fields stay as they are";
  EXPECT_TRUE(p0["user"]["phone"].is_null()) << "NULL has nothing to hide";
  EXPECT_EQ(p1["email"], ann) << "the original text of a pii record is not the payload; equal values match";
  EXPECT_EQ(p1["_raw"], masker.Mask("{\"id\": 2, \"email\": \"ann@x.org\"}")) << "the original text is masked too";
  EXPECT_EQ(lines[1]["error_message"], "cannot cast '" + ann + "' to int64");
  EXPECT_EQ(lines[2]["payload"], masker.Mask("{\"email\": \"bob@x.org\"") + " (21 bytes)");
  EXPECT_EQ(lines[2]["error_message"], "malformed JSON: " + masker.Mask("{\"email\": \"bob@x.org\""));
}

// A write, fsync or rename that fails makes Commit fail and leaves no dead-letter file, for few
// envelopes (written in one piece at Commit) and for many (streamed to a temporary file first).
// fsync 2 is the directory's, after the rename: the file is in place then, and must go again (a
// batch rerun writes the same dead letters under its own run's name; both would be read).
TEST(DeadLetters, AFailedCommitLeavesNoFile) {
  for (size_t payload_bytes : {size_t{10}, size_t{3} << 20}) {
    for (io::FaultPlan plan :
         {io::FaultPlan{.fail_write = 1}, io::FaultPlan{.fail_fsync = 1}, io::FaultPlan{.fail_fsync = 2},
          io::FaultPlan{.fail_rename = 1}, io::FaultPlan{.disk_bytes = 20}}) {
      SCOPED_TRACE(fmt::format("payload of {} bytes, write {} fsync {} rename {} disk {}", payload_bytes,
                               plan.fail_write, plan.fail_fsync, plan.fail_rename, plan.disk_bytes));
      Dir dir;
      plan.path_prefix = dir.path();
      io::ScopedFaults faults(plan);
      DeadLetterWriter w("p", "v1", 0, dir / "dl.ndjson");
      w.AddRaw("src", "src", "in.ndjson", 3, "malformed_json", "malformed JSON", std::string(payload_bytes, 'x'));
      Status st = w.Commit();
      EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
      EXPECT_EQ(faults.injected(), 1);
      EXPECT_FALSE(fs::exists(dir / "dl.ndjson"));
      for (const auto& e : fs::directory_iterator(dir.path())) ADD_FAILURE() << "left behind: " << e.path();
    }
  }
}

// A writer of a run that fails before its commit leaves no temporary file.
TEST(DeadLetters, AWriterNeverCommittedLeavesNothing) {
  Dir dir;
  {
    DeadLetterWriter w("p", "v1", 0, dir / "dl.ndjson");
    for (int i = 0; i < 40; ++i) {  // 40 payloads of 64 KiB pass the 1 MiB buffer
      w.AddRaw("src", "src", "in.ndjson", i, "malformed_json", "malformed JSON", std::string(size_t{1} << 16, 'x'));
    }
    ASSERT_TRUE(fs::exists(dir / "dl.ndjson.tmp")) << "many envelopes stream to the temporary file";
  }
  for (const auto& e : fs::directory_iterator(dir.path())) ADD_FAILURE() << "left behind: " << e.path();
}

TEST(DeadLetters, RecordsWithoutPiiAreUnchanged) {
  Dir dir;
  PiiMasker masker("k");
  DeadLetterWriter w("p", "v1", 0, dir / "dl.ndjson");
  w.set_pii_masker(&masker);
  auto schema = std::make_shared<Schema>(std::vector<Field>{{"email", DataType::String()}});
  BatchBuilder b(schema);
  b.AppendRow({Value::String("ann@x.org")});
  w.AddRow("c", b.Finish(), 0, "r", "rule_failed", "cannot cast 'ann@x.org' to int64");
  w.AddRaw("src", "src", "f", 1, "malformed_json", "malformed JSON: ann@x.org", "ann@x.org");
  ASSERT_TRUE(w.Commit().ok());
  auto lines = Lines(dir / "dl.ndjson");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["payload"], "{\"email\":\"ann@x.org\"}");
  EXPECT_EQ(lines[0]["error_message"], "cannot cast 'ann@x.org' to int64");
  EXPECT_EQ(lines[1]["payload"], "ann@x.org");
}

TEST(DeadLetters, DecodeMessagesOfPiiSourcesHideTheValue) {
  PiiMasker m("k");
  EXPECT_EQ(MaskDecodeMessage("field 'email': expected int64, got string \"ann@x.org\"", &m),
            "field 'email': expected int64, got string " + m.Mask("ann@x.org"));
  EXPECT_EQ(MaskDecodeMessage("field 'd': expected date, got string \"x@y\" (not a date)", &m),
            "field 'd': expected date, got string " + m.Mask("x@y") + " (not a date)");
  EXPECT_EQ(MaskDecodeMessage("field 'email' (column 2): expected int64, got \"ann@x.org\"", &m),
            "field 'email' (column 2): expected int64, got " + m.Mask("ann@x.org"));
  EXPECT_EQ(MaskDecodeMessage("field 'ssn': expected string, got number 123456789", &m),
            "field 'ssn': expected string, got number " + m.Mask("123456789"));
  EXPECT_EQ(MaskDecodeMessage("malformed JSON: invalid number '12ab'", &m),
            "malformed JSON: invalid number " + m.Mask("12ab"));
  EXPECT_EQ(MaskDecodeMessage("malformed JSON: not json at all", &m), "malformed JSON: " + m.Mask("not json at all"));
  EXPECT_EQ(MaskDecodeMessage("malformed JSON: not json", nullptr), "malformed JSON: a pii value");
  for (const char* kept :
       {"expected 3 fields, got 2", "malformed JSON: invalid literal", "invalid UTF-8 in the record",
        "malformed JSON: unexpected content after the object",
        "field 2: a quote inside an unquoted field; quote the whole field and double the quote (\"\")"}) {
    EXPECT_EQ(MaskDecodeMessage(kept, &m), kept);
  }
}

TEST(DeadLetters, TheWorkdirKeyIsMadeOnceAndKeptPrivate) {
  Dir dir;
  auto first = WorkdirPiiKey(dir / "work");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "work/pii.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Slurp(dir / "work/pii.key"), HexEncode(*first) + "\n");
  auto again = WorkdirPiiKey(dir / "work");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first) << "the same key on every run";
  EXPECT_EQ(fs::directory_iterator(dir / "work") == fs::directory_iterator(), false);
  for (const auto& e : fs::directory_iterator(dir / "work"))
    EXPECT_EQ(e.path().filename(), "pii.key") << "no temporary left";

  fs::create_directories(dir / "bad");
  std::ofstream(dir / "bad/pii.key") << "zz";
  auto bad = WorkdirPiiKey(dir / "bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("must hold 64 hex digits"), std::string::npos) << bad.status().ToString();
}

}  // namespace
}  // namespace sluice::engine
