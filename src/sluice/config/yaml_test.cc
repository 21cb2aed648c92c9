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

TEST(Yaml, EnvIsRefusedWithoutTheProcessEnvironmentAndTheValueIsNeverShown) {
  LoadOptions o = FakeEnv();
  o.allow_env = false;
  auto r = LoadYamlString("a: 1\nb:\n  c: \"${env.DATA_DIR}\"\n", "s.yaml", o);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_EQ(m.rfind("s.yaml:3: '${env.DATA_DIR}'", 0), 0u) << m;
  EXPECT_NE(m.find("works with sluice run only"), std::string::npos) << m;
  EXPECT_EQ(m.find("/data"), std::string::npos) << m;
}

TEST(Yaml, RecordsEnvAndSecretValuesButNotConfigForMasking) {
  std::vector<Substitution> seen;
  LoadOptions o = FakeEnv();
  o.resolver = [](std::string_view kind, std::string_view name) -> std::optional<std::string> {
    if (kind == "secret" && name == "pw") return std::string("hunter22");
    if (kind == "config" && name == "region") return std::string("eu-west-1");
    return std::nullopt;
  };
  o.substituted = &seen;
  auto r = LoadYamlString("a: ${env.DATA_DIR}\nb: x${secret.pw}y\nc: ${config.region}\n", "s.yaml", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].value, "/data");
  EXPECT_EQ(seen[0].reference, "${env.DATA_DIR}");
  EXPECT_EQ(seen[1].value, "hunter22");
  EXPECT_EQ(seen[1].reference, "${secret.pw}");
  EXPECT_EQ(MaskSubstituted("s.yaml:2: sink: compression 'xhunter22y' must be zstd", seen),
            "s.yaml:2: sink: compression 'x${secret.pw}y' must be zstd");
}

TEST(Yaml, ShortValuesAreMaskedOnlyWhereQuoted) {
  const std::vector<Substitution> seen = {{"7", "${secret.pin}"}};
  EXPECT_EQ(MaskSubstituted("s.yaml:7: value '7' is not a duration", seen),
            "s.yaml:7: value '${secret.pin}' is not a duration");
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

// A missing component or intermediate key is named where it is missing, with the nearest existing
// key, instead of being created (a new component used to fail as "missing required key 'kind'").
TEST(Yaml, OverrideOfAMissingKeyNamesIt) {
  auto r = LoadYamlString("spec:\n  sources:\n    ticket: {path: a.json}\n    orders: {path: b.json}\n", "s.yaml");
  ASSERT_TRUE(r.ok());
  YAML::Node root = *r;
  Status st = ApplyOverride(root, "spec.sources.tickets.path=x.json");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "--set 'spec.sources.tickets.path=x.json': there is no component 'tickets' among the sources (did you mean "
            "'ticket'?); the sources are: ticket, orders. To add one, give all its settings: --set "
            "'spec.sources.tickets={path: x.json}'");
  st = ApplyOverride(root, "spec.dead_letter.path=dl");
  EXPECT_EQ(st.message(),
            "--set 'spec.dead_letter.path=dl': there is no 'dead_letter' under 'spec'; the keys there are: sources. To "
            "add it, set it whole: --set 'spec.dead_letter={path: dl}'");
  st = ApplyOverride(root, "spce.sources.ticket.path=x");
  EXPECT_EQ(st.message(),
            "--set 'spce.sources.ticket.path=x': there is no 'spce' at the top of the document (did you mean 'spec'?); "
            "the keys there are: spec. To add it, set it whole: --set 'spce={sources: {ticket: {path: x}}}'");
  EXPECT_FALSE(root["spec"]["sources"]["tickets"].IsDefined()) << "nothing is created";
  EXPECT_FALSE(root["spec"]["dead_letter"].IsDefined());
  // The last key may be new; so may a whole component.
  EXPECT_TRUE(ApplyOverride(root, "spec.sources.ticket.format=csv").ok());
  EXPECT_TRUE(ApplyOverride(root, "spec.dead_letter={path: dl}").ok());
  EXPECT_EQ(root["spec"]["dead_letter"]["path"].as<std::string>(), "dl");
}

}  // namespace
}  // namespace sluice::config
