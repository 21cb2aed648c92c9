#include "sluice/pipeline/template.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "sluice/base/strings.h"
#include "sluice/pipeline/compile.h"
#include "sluice/engine/plan/node_configs.h"

namespace sluice::pipeline {
namespace {

std::string ExamplePath() {
  const char* dir = std::getenv("SLUICE_SOURCE_DIR");
  std::filesystem::path root = dir ? std::filesystem::path(dir)
                                   : std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "..";
  return (root / "examples" / "templates" / "files_to_bronze.yaml").lexically_normal().string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Template Parse(const std::string& text) {
  auto t = ParseTemplate(text, "t.yaml");
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : Template{};
}

std::string Render(const Template& t, const std::map<std::string, std::string>& values) {
  auto r = RenderTemplate(t, values);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : "";
}

// The lines of an error message, to compare whole reports.
std::vector<std::string> Lines(const Status& st) {
  std::vector<std::string> out;
  std::stringstream ss(st.message());
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

// The structure of a tree: node kinds and map keys, scalars as "S" (null counts as a scalar
// slot, since an absent optional value renders as null).
std::string Shape(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
    case YAML::NodeType::Null:
      return "S";
    case YAML::NodeType::Sequence: {
      std::string s = "[";
      for (auto c : n) s += Shape(c) + ",";
      return s + "]";
    }
    case YAML::NodeType::Map: {
      std::string s = "{";
      for (auto kv : n) s += kv.first.Scalar() + ":" + Shape(kv.second) + ",";
      return s + "}";
    }
    default:
      return "?";
  }
}

Result<engine::Plan> CompileRendered(const std::string& text) {
  CompileOptions o;
  o.workdir = "/w";
  return CompileString(text, "rendered.yaml", "/specs/templates", o);
}

// ----- the example template

TEST(Template, ExampleRendersAndCompilesWithDefaults) {
  auto t = ParseTemplate(ReadFile(ExamplePath()), ExamplePath());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->name, "files-to-bronze");
  EXPECT_EQ(t->ns, "platform");
  ASSERT_EQ(t->params.size(), 8u);

  auto text = Render(*t, {{"name", "orders_bronze"}, {"path", "../data/orders.ndjson"}, {"table", "orders"},
                          {"namespace", "sales"}});
  auto plan = CompileRendered(text);
  ASSERT_TRUE(plan.ok()) << plan.status().message() << "\n" << text;
  EXPECT_EQ(plan->pipeline, "orders_bronze");
  EXPECT_EQ(plan->namespace_, "sales");
  auto raw = plan->IndexOf("raw");
  ASSERT_TRUE(raw);
  const auto& src = plan->nodes[*raw].Config<engine::FilesSourceConfig>();
  EXPECT_EQ(src.path, "/specs/data/orders.ndjson");
  EXPECT_TRUE(src.keep_raw);  // default true
  auto valid = plan->IndexOf("valid");
  ASSERT_TRUE(valid);
  const auto& rules = plan->nodes[*valid].Config<engine::ValidateConfig>().rules;
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].check, "amount >= 0");
  EXPECT_EQ(rules[0].on_fail, engine::OnFail::kDeadLetter);
  auto lake = plan->IndexOf("lake");
  ASSERT_TRUE(lake);
  const auto& sink = plan->nodes[*lake].Config<engine::LakeSinkConfig>();
  EXPECT_EQ(sink.table, "bronze.orders");
  EXPECT_EQ(sink.target_file_bytes, 128 << 20);
  EXPECT_EQ(plan->dead_letter.table, "quarantine.orders");
}

TEST(Template, ExampleRendersGivenValues) {
  auto t = ParseTemplate(ReadFile(ExamplePath()), ExamplePath());
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto text = Render(*t, {{"name", "eu_orders"}, {"path", "/data/eu/*.ndjson"}, {"table", "eu_orders"},
                          {"layer", "silver"}, {"min_amount", "0.50"}, {"on_invalid", "drop"},
                          {"keep_raw", "false"}, {"target_file_mb", "64"}});
  auto plan = CompileRendered(text);
  ASSERT_TRUE(plan.ok()) << plan.status().message() << "\n" << text;
  EXPECT_EQ(plan->namespace_, "default");  // the built-in namespace's default
  const auto& src = plan->nodes[*plan->IndexOf("raw")].Config<engine::FilesSourceConfig>();
  EXPECT_EQ(src.path, "/data/eu/*.ndjson");
  EXPECT_FALSE(src.keep_raw);
  const auto& rule = plan->nodes[*plan->IndexOf("valid")].Config<engine::ValidateConfig>().rules.at(0);
  EXPECT_EQ(rule.check, "amount >= 0.5");  // canonical spelling of the number
  EXPECT_EQ(rule.on_fail, engine::OnFail::kDrop);
  const auto& sink = plan->nodes[*plan->IndexOf("lake")].Config<engine::LakeSinkConfig>();
  EXPECT_EQ(sink.table, "silver.eu_orders");
  EXPECT_EQ(sink.target_file_bytes, 64 << 20);
}

// ----- substitution

const char* kTyped = R"yaml(apiVersion: sluice/v1
kind: Template
metadata: {name: typed}
parameters:
  - {name: n, type: int}
  - {name: x, type: number}
  - {name: b, type: bool}
  - {name: s, type: string}
  - {name: opt, type: string, required: false}
pipeline:
  whole_int: "{{ n }}"
  whole_number: "{{n}}"
  ratio: "{{ x }}"
  flag: "{{ b }}"
  text: "{{ s }}"
  embedded: "part-{{ n }}-of-{{ s }}"
  absent: "{{ opt }}"
  absent_embedded: "[{{ opt }}]"
  list: [a, "{{ s }}", "{{ n }}"]
  sql: "select * from {{ ref('silver.orders') }}"
  ns: "{{ namespace }}"
)yaml";

TEST(Template, WholePlaceholdersTakeTheParameterType) {
  Template t = Parse(kTyped);
  std::string text = Render(t, {{"n", "007"}, {"x", "2.50"}, {"b", "true"}, {"s", "123"}});
  YAML::Node r = YAML::Load(text);
  // Plain scalars (tag "?") read back as numbers and bools; the string "123" stays quoted.
  EXPECT_EQ(r["whole_int"].Tag(), "?");
  EXPECT_EQ(r["whole_int"].Scalar(), "7");
  EXPECT_EQ(r["whole_int"].as<int>(), 7);
  EXPECT_EQ(r["whole_number"].Scalar(), "7");
  EXPECT_EQ(r["ratio"].Tag(), "?");
  EXPECT_EQ(r["ratio"].Scalar(), "2.5");
  EXPECT_EQ(r["flag"].Tag(), "?");
  EXPECT_TRUE(r["flag"].as<bool>());
  EXPECT_EQ(r["text"].Tag(), "!");
  EXPECT_EQ(r["text"].Scalar(), "123");
  EXPECT_EQ(r["embedded"].Tag(), "!");
  EXPECT_EQ(r["embedded"].Scalar(), "part-7-of-123");
  EXPECT_TRUE(r["absent"].IsNull());  // an optional value left out: the key counts as unset
  EXPECT_EQ(r["absent_embedded"].Scalar(), "[]");
  ASSERT_TRUE(r["list"].IsSequence());
  EXPECT_EQ(r["list"][1].Scalar(), "123");
  EXPECT_EQ(r["list"][2].as<int>(), 7);
  EXPECT_EQ(r["sql"].Scalar(), "select * from {{ ref('silver.orders') }}");  // the compiler's, left alone
  EXPECT_EQ(r["ns"].Scalar(), "default");
  EXPECT_EQ(Shape(r), Shape(t.pipeline));

  std::string with_opt = Render(t, {{"n", "-3"}, {"x", "1e3"}, {"b", "false"}, {"s", "a"}, {"opt", "o"},
                                    {"namespace", "team-a"}});
  YAML::Node r2 = YAML::Load(with_opt);
  EXPECT_EQ(r2["whole_int"].as<int>(), -3);
  EXPECT_EQ(r2["ratio"].Scalar(), "1000");
  EXPECT_FALSE(r2["flag"].as<bool>());
  EXPECT_EQ(r2["absent"].Scalar(), "o");
  EXPECT_EQ(r2["absent_embedded"].Scalar(), "[o]");
  EXPECT_EQ(r2["ns"].Scalar(), "team-a");
}

// ----- value errors

const char* kChecked = R"yaml(apiVersion: sluice/v1
kind: Template
metadata: {name: checked}
parameters:
  - {name: name, type: string, pattern: "^[a-z][a-z0-9_]{0,62}$"}
  - {name: path, type: string, description: "input files (glob)"}
  - {name: partitions, type: int, default: 4, min: 1, max: 64}
  - {name: count, type: int}
  - {name: ratio, type: number, min: 0, max: 1}
  - {name: layer, type: string, enum: [bronze, silver], default: bronze}
  - {name: strict, type: bool, default: true}
pipeline:
  v: "{{ name }} {{ path }} {{ partitions }} {{ count }} {{ ratio }} {{ layer }} {{ strict }}"
)yaml";

TEST(Template, EveryValueErrorIsReportedAtOnce) {
  Template t = Parse(kChecked);
  auto r = RenderTemplate(t, {{"name", "Orders"},
                              {"partitions", "0"},
                              {"count", "4.5"},
                              {"ratio", "1.5"},
                              {"layer", "bronz"},
                              {"strict", "yes"},
                              {"partitons", "3"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Lines(r.status()),
            (std::vector<std::string>{
                "unknown parameter 'partitons' (did you mean 'partitions'?); the template's parameters are: name, "
                "path, partitions, count, ratio, layer, strict, namespace",
                "parameter 'name': 'Orders' does not match the pattern ^[a-z][a-z0-9_]{0,62}$",
                "parameter 'path': a value is required (input files (glob))",
                "parameter 'partitions': 0 is below the minimum 1",
                "parameter 'count': '4.5' is not an int: write a whole number like 4",
                "parameter 'ratio': 1.5 is above the maximum 1",
                "parameter 'layer': 'bronz' is not one of bronze, silver (did you mean 'bronze'?)",
                "parameter 'strict': 'yes' is not a bool: write true or false",
            }));
}

TEST(Template, ValuesMustParseFully) {
  Template t = Parse(kChecked);
  std::map<std::string, std::string> good = {{"name", "a"}, {"path", "p"}, {"count", "1"}, {"ratio", "0.5"}};
  ASSERT_TRUE(RenderTemplate(t, good).ok());
  for (const char* bad : {"", "1x", " 1", "1 ", "0x10", "1e2", "+", "99999999999999999999"}) {
    auto values = good;
    values["count"] = bad;
    auto r = RenderTemplate(t, values);
    ASSERT_FALSE(r.ok()) << "count=" << bad;
    EXPECT_NE(r.status().message().find("is not an int"), std::string::npos) << r.status().message();
  }
  for (const char* bad : {"nan", "inf", "1.5.2", "", "0.5 "}) {
    auto values = good;
    values["ratio"] = bad;
    EXPECT_FALSE(RenderTemplate(t, values).ok()) << "ratio=" << bad;
  }
  for (const char* bad : {"True", "1", "on", "false "}) {
    auto values = good;
    values["strict"] = bad;
    EXPECT_FALSE(RenderTemplate(t, values).ok()) << "strict=" << bad;
  }
  auto values = good;
  values["namespace"] = "../other";
  auto r = RenderTemplate(t, values);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("parameter 'namespace': '../other' does not match", 0), 0u) << r.status().message();
}

// ----- template errors

TEST(Template, EveryTemplateErrorIsReportedWithItsLine) {
  const char* text = R"yaml(apiVersion: sluice/v1
kind: Template
metadata: {name: broken, namspace: x}
parameters:
  - {name: table, type: strng}
  - {name: partitions, type: int, default: many}
  - {name: layer, type: string, enum: [bronze, silver], default: gold}
  - {name: table, type: string}
  - {name: unused, type: string}
  - {name: code, type: string, pattern: "(["}
  - {name: size, type: int, min: 10, max: 1}
  - {name: flag, type: bool, pattern: "x"}
  - {name: namespace, type: string}
  - {name: level, type: int, min: 1, descripton: "x"}
pipeline:
  a: "{{ tabel }}"
  b: "{{ table }} {{ partitions }} {{ layer }} {{ code }} {{ size }} {{ flag }} {{ level }}"
  c: "{{ table"
  "{{ table }}": x
  d: "{{ not-a-name }}"
)yaml";
  auto r = ParseTemplate(text, "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Lines(r.status()),
            (std::vector<std::string>{
                "t.yaml:3: unknown key 'namspace' in metadata (did you mean 'namespace'?); allowed keys: name, "
                "namespace, description, labels, owner",
                "t.yaml:5: parameter 'table': unknown type 'strng' (did you mean 'string'?); use string, int, "
                "number or bool",
                "t.yaml:6: parameter 'partitions': default 'many' is not an int: write a whole number like 4",
                "t.yaml:7: parameter 'layer': default 'gold' is not one of bronze, silver",
                "t.yaml:8: parameter 'table' is declared twice (first at line 5)",
                "t.yaml:9: parameter 'unused' is never used in the pipeline: use it as {{ unused }} or remove it",
                "t.yaml:10: parameter 'code': invalid pattern '([': missing ]: [",
                "t.yaml:11: parameter 'size': max 1 is below min 10",
                "t.yaml:12: parameter 'flag': 'pattern' applies only to string parameters, not bool",
                "t.yaml:13: parameter 'namespace' is built in (the namespace the pipeline is created in): use "
                "{{ namespace }} without declaring it",
                "t.yaml:14: unknown key 'descripton' in parameter 'level' (did you mean 'description'?); allowed "
                "keys: name, type, description, default, enum, pattern, min, max, required",
                "t.yaml:16: '{{ tabel }}' names no parameter (did you mean 'table'?); declare it under parameters",
                "t.yaml:18: '{{' without a closing '}}' in '{{ table': write {{ name }}",
                "t.yaml:19: placeholders are allowed only in values, not in the key '{{ table }}'",
                "t.yaml:20: '{{ not-a-name }}' is not a placeholder: write {{ name }} with a parameter name",
            }));
}

TEST(Template, DocumentErrors) {
  auto bad_yaml = ParseTemplate("apiVersion: sluice/v1\nkind: Template\nparameters: [a\n", "t.yaml");
  ASSERT_FALSE(bad_yaml.ok());
  EXPECT_EQ(bad_yaml.status().message().rfind("t.yaml:", 0), 0u);
  EXPECT_NE(bad_yaml.status().message().find("invalid YAML"), std::string::npos);

  auto pipeline_kind = ParseTemplate("apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: x}\n", "t.yaml");
  ASSERT_FALSE(pipeline_kind.ok());
  EXPECT_EQ(Lines(pipeline_kind.status()),
            (std::vector<std::string>{
                "t.yaml:1: missing 'pipeline': the pipeline spec (apiVersion, kind, metadata, spec) with "
                "{{ param }} placeholders",
                "t.yaml:2: kind 'Pipeline' is not a template: a template has kind: Template (a Pipeline is compiled, "
                "not rendered)",
            }));

  auto required_with_default = ParseTemplate(R"yaml(apiVersion: sluice/v1
kind: Template
metadata: {name: x}
parameters:
  - {name: a, type: int, default: 1, required: true}
  - {name: b, type: int, enum: [1, two]}
pipeline: {a: "{{ a }}", b: "{{ b }}"}
)yaml",
                                               "t.yaml");
  ASSERT_FALSE(required_with_default.ok());
  EXPECT_EQ(Lines(required_with_default.status()),
            (std::vector<std::string>{
                "t.yaml:5: parameter 'a': a parameter with a default is optional: remove 'required: true' or the "
                "default",
                "t.yaml:6: parameter 'b': enum value 'two' is not an int: write a whole number like 4",
            }));
}

// ----- injection

TEST(Template, ValuesNeverChangeTheStructure) {
  const std::string source = R"yaml(apiVersion: sluice/v1
kind: Template
metadata: {name: inject}
parameters:
  - {name: v, type: string}
pipeline:
  apiVersion: sluice/v1
  kind: Pipeline
  metadata: {name: "{{ v }}", description: "before {{ v }} after"}
  spec:
    sources:
      raw: {kind: files, path: "{{ v }}", format: json}
    sinks:
      out:
        kind: files
        inputs: [raw, "{{ v }}"]
        path: "out/{{ v }}.ndjson"
        note: prefix {{ v }}
)yaml";
  Template t = Parse(source);
  const std::string shape = Shape(t.pipeline);
  const std::vector<std::string> attacks = {
      "x\"\n  sinks: {evil: {kind: files, path: /etc/passwd}}",
      "x'\n    evil: 1",
      "x\n        evil: {kind: files, path: /etc/passwd}",
      "x\n---\nkind: Evil",
      "x\"}, evil: {\"",
      "\"]\nevil: [",
      "{{ v }}",
      "{{ namespace }}",
      "!!python/object/apply:os.system [\"id\"]",
      "!Ref x",
      "*alias",
      "&anchor x",
      "<<: *alias",
      "- a",
      "? k",
      "key: value",
      "[a, b]",
      "{a: b}",
      "# comment",
      "x # comment",
      "|\n  block",
      ">",
      "...",
      "%YAML 1.2",
      "@x",
      "`x`",
      "null",
      "~",
      "true",
      "",
      "  leading",
      "trailing  ",
      "\ttab\r\n",
      "back\\slash \\n \\\" \\x41",
      "caf\xC3\xA9 \xE2\x80\xA8 \xE2\x80\xA9 \xEF\xBB\xBF \xC2\x85",
  };
  for (const std::string& v : attacks) {
    SCOPED_TRACE(v);
    auto text = RenderTemplate(t, {{"v", v}});
    ASSERT_TRUE(text.ok()) << text.status().message();
    YAML::Node r;
    ASSERT_NO_THROW(r = YAML::Load(*text)) << *text;
    EXPECT_EQ(Shape(r), shape) << *text;
    // Every value comes back exactly, never interpreted.
    EXPECT_EQ(r["metadata"]["name"].Scalar(), v) << *text;
    EXPECT_EQ(r["metadata"]["description"].Scalar(), "before " + v + " after");
    EXPECT_EQ(r["spec"]["sources"]["raw"]["path"].Scalar(), v);
    EXPECT_EQ(r["spec"]["sinks"]["out"]["inputs"][1].Scalar(), v);
    EXPECT_EQ(r["spec"]["sinks"]["out"]["path"].Scalar(), "out/" + v + ".ndjson");
    EXPECT_EQ(r["spec"]["sinks"]["out"]["note"].Scalar(), "prefix " + v);
    EXPECT_EQ(r["kind"].Scalar(), "Pipeline");
  }
  // The checks above catch text replacement: an attack spliced into the template's text adds a key.
  std::string spliced = source;
  spliced.replace(spliced.find("prefix {{ v }}"), 14, "prefix " + attacks[2]);
  EXPECT_NE(Shape(YAML::Load(spliced)["pipeline"]), shape) << spliced;
}

TEST(Template, ValuesCannotReachReferences) {
  Template t = Parse(R"yaml(apiVersion: sluice/v1
kind: Template
metadata: {name: refs}
parameters:
  - {name: v, type: string}
  - {name: brokers, type: string, default: "${config.kafka.brokers}"}
pipeline: {a: "{{ v }}", b: "cost ${{ v }}", c: "{{ brokers }}", d: "${env.USER}"}
)yaml");
  auto direct = RenderTemplate(t, {{"v", "${secret.db_password}"}});
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.status().message(),
            "parameter 'v': '${secret.db_password}' holds '${': references to the environment, config and secrets "
            "belong in the template, not in values");
  auto seam = RenderTemplate(t, {{"v", "{env.HOME}"}});
  ASSERT_FALSE(seam.ok());
  EXPECT_EQ(seam.status().message(),
            "t.yaml:7: a value next to '$' or '{' here would form a '${' reference; references belong in the "
            "template");
  // The template's own references (and a default's) pass through for the compiler to resolve.
  YAML::Node r = YAML::Load(Render(t, {{"v", "x"}}));
  EXPECT_EQ(r["b"].Scalar(), "cost $x");
  EXPECT_EQ(r["c"].Scalar(), "${config.kafka.brokers}");
  EXPECT_EQ(r["d"].Scalar(), "${env.USER}");

  auto control = RenderTemplate(t, {{"v", std::string("a\0b", 3)}});
  ASSERT_FALSE(control.ok());
  EXPECT_EQ(control.status().message(), "parameter 'v': 'a\\x00b' holds control characters");
  auto utf8 = RenderTemplate(t, {{"v", "\xC3\x28"}});
  ASSERT_FALSE(utf8.ok());
  EXPECT_EQ(utf8.status().message(), "parameter 'v': the value is not valid UTF-8");
}

TEST(Template, TemplateTextKeepsItsMeaning) {
  // Multi-line SQL stays a literal block; quoted template strings stay strings; flow stays flow.
  Template t = Parse(R"yaml(apiVersion: sluice/v1
kind: Template
metadata: {name: sql}
parameters:
  - {name: table, type: string}
pipeline:
  sql: |
    select *
    from {{ ref('bronze.orders') }}
  target: "silver.{{ table }}"
  version: "1.0"
  flow: {a: [1, "2"], b: ~}
)yaml");
  std::string text = Render(t, {{"table", "orders"}});
  EXPECT_NE(text.find("sql: |\n  select *\n  from {{ ref('bronze.orders') }}\n"), std::string::npos) << text;
  YAML::Node r = YAML::Load(text);
  EXPECT_EQ(r["sql"].Scalar(), "select *\nfrom {{ ref('bronze.orders') }}\n");
  EXPECT_EQ(r["target"].Scalar(), "silver.orders");
  EXPECT_EQ(r["version"].Tag(), "!");
  EXPECT_EQ(r["flow"]["a"][1].Tag(), "!");
  EXPECT_EQ(r["flow"]["a"][0].Tag(), "?");
  EXPECT_TRUE(r["flow"]["b"].IsNull());
  EXPECT_EQ(Shape(r), Shape(t.pipeline));
}

// ----- schema

TEST(Template, SchemaJson) {
  Template t = Parse(kChecked);
  t.description = "d";
  nlohmann::json expected = {
      {"name", "checked"},
      {"namespace", "default"},
      {"description", "d"},
      {"parameters",
       {
           {{"name", "name"}, {"type", "string"}, {"description", ""}, {"default", nullptr}, {"enum", nullptr},
            {"pattern", "^[a-z][a-z0-9_]{0,62}$"}, {"min", nullptr}, {"max", nullptr}, {"required", true}},
           {{"name", "path"}, {"type", "string"}, {"description", "input files (glob)"}, {"default", nullptr},
            {"enum", nullptr}, {"pattern", nullptr}, {"min", nullptr}, {"max", nullptr}, {"required", true}},
           {{"name", "partitions"}, {"type", "int"}, {"description", ""}, {"default", 4}, {"enum", nullptr},
            {"pattern", nullptr}, {"min", 1}, {"max", 64}, {"required", false}},
           {{"name", "count"}, {"type", "int"}, {"description", ""}, {"default", nullptr}, {"enum", nullptr},
            {"pattern", nullptr}, {"min", nullptr}, {"max", nullptr}, {"required", true}},
           {{"name", "ratio"}, {"type", "number"}, {"description", ""}, {"default", nullptr}, {"enum", nullptr},
            {"pattern", nullptr}, {"min", 0.0}, {"max", 1.0}, {"required", true}},
           {{"name", "layer"}, {"type", "string"}, {"description", ""}, {"default", "bronze"},
            {"enum", {"bronze", "silver"}}, {"pattern", nullptr}, {"min", nullptr}, {"max", nullptr},
            {"required", false}},
           {{"name", "strict"}, {"type", "bool"}, {"description", ""}, {"default", true}, {"enum", nullptr},
            {"pattern", nullptr}, {"min", nullptr}, {"max", nullptr}, {"required", false}},
       }},
  };
  EXPECT_EQ(TemplateSchemaJson(t), expected) << TemplateSchemaJson(t).dump(2);
  EXPECT_TRUE(TemplateSchemaJson(t)["parameters"][2]["default"].is_number_integer());
}

}  // namespace
}  // namespace sluice::pipeline
