#include "sluice/pipeline/plan_diff.h"

#include <gtest/gtest.h>

#include "sluice/pipeline/compile.h"

namespace sluice::pipeline {
namespace {

engine::Plan Compile(const std::string& transforms, const std::string& extra_field = "") {
  const std::string spec = R"yaml(apiVersion: sluice/v1
kind: Pipeline
metadata: {name: diffed}
spec:
  sources:
    clicks: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: string}, {name: n, type: int64})yaml" +
                           extra_field + R"yaml(]}}
  transforms:
)yaml" + transforms + R"yaml(
  sinks:
    out: {kind: blackhole, inputs: [valid]}
)yaml";
  auto plan = CompileString(spec, "diffed.yaml", "/tmp");
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? *plan : engine::Plan{};
}

TEST(PlanDiff, NamesAddedRemovedAndChangedComponentsWithPaths) {
  const engine::Plan a = Compile("    valid: {kind: validate, inputs: [clicks], rules: [{name: pos, check: \"n > 0\"}]}\n"
                                 "    extra: {kind: map, inputs: [clicks], select: {id: id}}");
  const engine::Plan b = Compile("    valid: {kind: validate, inputs: [clicks], rules: [{name: pos, check: \"n > 1\"}]}",
                                 ", {name: page, type: string}");
  const nlohmann::json d = DiffPlans(a, b);
  EXPECT_EQ(d["added"], nlohmann::json::array());
  EXPECT_EQ(d["removed"], nlohmann::json::array({"extra"}));
  std::map<std::string, std::vector<std::string>> paths;
  for (const auto& c : d["changed"]) {
    for (const auto& ch : c["changes"]) paths[c["component"]].push_back(ch["path"]);
  }
  // The source gained a field (matched by name, not position); the rule's check changed.
  ASSERT_TRUE(paths.count("clicks")) << d.dump(2);
  EXPECT_NE(std::find(paths["clicks"].begin(), paths["clicks"].end(), "/outputs/default/schema/page"), paths["clicks"].end())
      << d.dump(2);
  ASSERT_TRUE(paths.count("valid")) << d.dump(2);
  EXPECT_EQ(DiffPlans(a, a), (nlohmann::json{{"added", nlohmann::json::array()}, {"removed", nlohmann::json::array()},
                                              {"changed", nlohmann::json::array()}}));
}

TEST(PlanDiff, LineDiffHasHunksWithContext) {
  EXPECT_TRUE(DiffLines("a\nb\nc\n", "a\nb\nc\n").empty());
  const auto d = DiffLines("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n", 1);
  const std::vector<std::string> expected = {"@@ -4,3 +4,3 @@", " 4", "-5", "+five", " 6", "@@ -10,1 +10,2 @@", " 10", "+11"};
  EXPECT_EQ(d, expected);
}

}  // namespace
}  // namespace sluice::pipeline
