#include "sluice/config/yaml.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

LoadOptions FakeEnv() {
  LoadOptions o;
  o.env = [](std::string_view n) -> std::optional<std::string> {
    if (n == "DATA_DIR") return std::string("/data");
    return std::nullopt;
  };
  return o;
}

TEST(Yaml, SubstitutesEnv) {
  auto r = LoadYamlString("a:\n  path: ${env.DATA_DIR}/x.json\n", "s.yaml", FakeEnv());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["a"]["path"].as<std::string>(), "/data/x.json");
}

TEST(Yaml, MissingEnvNamesFileAndLine) {
  auto r = LoadYamlString("a: 1\nb:\n  c: ${env.NOPE}\n", "s.yaml", FakeEnv());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("s.yaml:3: environment variable 'NOPE' is not set", 0), 0u)
      << r.status().message();
}

TEST(Yaml, SyntaxErrorNamesLine) {
  auto r = LoadYamlString("a: [1, 2\nb: 3\n", "bad.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.yaml:"), std::string::npos);
}

TEST(Yaml, Overrides) {
  auto r = LoadYamlString("spec:\n  sources:\n    raw: {path: a.json}\n", "s.yaml");
  ASSERT_TRUE(r.ok());
  YAML::Node root = *r;
  ASSERT_TRUE(ApplyOverride(root, "spec.sources.raw.path=b.json").ok());
  ASSERT_TRUE(ApplyOverride(root, "spec.mode=batch").ok());
  EXPECT_EQ(root["spec"]["sources"]["raw"]["path"].as<std::string>(), "b.json");
  EXPECT_EQ(root["spec"]["mode"].as<std::string>(), "batch");
  EXPECT_FALSE(ApplyOverride(root, "novalue").ok());
  EXPECT_FALSE(ApplyOverride(root, "spec.mode.x=1").ok());
}

}  // namespace
}  // namespace sluice::config
