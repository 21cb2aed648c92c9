// The registry of built-in kinds, the spec-reading helpers, and the `sample` transform (a kind
// that lives wholly in its component file).
#include <cmath>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/components/registry.h"
#include "sluice/engine/exec/operator.h"

namespace sluice::components {
namespace {

using engine::Role;

TEST(Registry, ListsTheBuiltinKindsInRegistrationOrder) {
  const Registry& r = Builtins();
  EXPECT_EQ(r.Available(Role::kSource), (std::vector<std::string>{"files", "lake", "log", "kafka", "http"}));
  EXPECT_EQ(r.Available(Role::kTransform),
            (std::vector<std::string>{"validate", "map", "route", "aggregate", "dedup", "lookup", "join", "sample"}));
  EXPECT_EQ(r.Available(Role::kSink),
            (std::vector<std::string>{"files", "lake", "warehouse", "log", "kafka", "blackhole"}));
  EXPECT_EQ(r.Planned(Role::kSource), (std::vector<std::string>{"postgres", "s3"}));
  EXPECT_EQ(r.Planned(Role::kSink), (std::vector<std::string>{"features"}));
}

TEST(Registry, FindsByRoleAndName) {
  const Registry& r = Builtins();
  ASSERT_NE(r.Find(Role::kSource, "files"), nullptr);
  ASSERT_NE(r.Find(Role::kSink, "files"), nullptr);
  EXPECT_NE(r.Find(Role::kSource, "files")->compile, r.Find(Role::kSink, "files")->compile);
  EXPECT_EQ(r.Find(Role::kTransform, "files"), nullptr);
  EXPECT_EQ(r.Find(Role::kSource, "nope"), nullptr);
  // A sql model is a transform that takes no inputs and runs after the writers of its refs.
  const KindInfo* sql = r.Find(Role::kTransform, "sql");
  ASSERT_NE(sql, nullptr);
  EXPECT_FALSE(sql->traits.takes_inputs);
  EXPECT_FALSE(sql->traits.listed);
  ASSERT_NE(sql->traits.reads_warehouse_tables, nullptr);
  YAML::Node settings = YAML::Load("sql: select * from {{ ref('silver.a') }} join {{ref( 'gold.b' )}}");
  EXPECT_EQ(sql->traits.reads_warehouse_tables(settings), (std::vector<std::string>{"silver.a", "gold.b"}));
  // Planned kinds have no compile function.
  ASSERT_NE(r.Find(Role::kSource, "s3"), nullptr);
  EXPECT_EQ(r.Find(Role::kSource, "s3")->compile, nullptr);
}

TEST(Registry, EveryKindThatTakesInputsIsNotASource) {
  for (Role role : {Role::kSource, Role::kTransform, Role::kSink}) {
    for (const auto& name : Builtins().Available(role)) {
      const KindInfo* k = Builtins().Find(role, name);
      ASSERT_NE(k, nullptr) << name;
      EXPECT_EQ(k->traits.takes_inputs, role != Role::kSource) << name;
    }
  }
}

// A context over an empty plan, for one component with `settings` (YAML text).
struct Fixture {
  SpecEnvironment env;
  engine::Plan plan;
  SpecContext ctx{"spec.yaml", "", env, plan};
  ComponentSpec spec;
  engine::PlanNode node;

  Fixture(Role role, const std::string& kind, const std::string& settings, SchemaPtr input) {
    spec.name = "c";
    spec.role = role;
    spec.kind = kind;
    spec.node = YAML::Load(settings);
    node.name = "c";
    node.role = role;
    node.kind = kind;
    node.input_schema = std::move(input);
  }
  bool Compile() {
    Builtins().Find(spec.role, spec.kind)->compile(ctx, spec, node);
    return ctx.errors().empty() && node.config != nullptr;
  }
};

TEST(SpecContext, ReportsUnknownKeysWithTheirLineAndADidYouMean) {
  Fixture f(Role::kSink, "blackhole", "kind: blackhole\ninputs: [x]\ndescriptoin: y\n", nullptr);
  EXPECT_FALSE(f.Compile());
  ASSERT_EQ(f.ctx.errors().size(), 1u);
  EXPECT_EQ(f.ctx.errors()[0],
            "spec.yaml:3: c: unknown key 'descriptoin' in a blackhole sink (did you mean 'description'?); allowed "
            "keys: kind, inputs, description");
}

// ----- sample

SchemaPtr UserSchema() {
  return std::make_shared<Schema>(std::vector<Field>{{"user_id", DataType::Int64()}, {"event", DataType::String()}});
}

// Rows (user_id = i / per_user, event = "e<i>") for i in [from, to).
Batch Rows(int64_t from, int64_t to, int64_t per_user) {
  auto users = std::make_shared<Column>(DataType::Int64());
  auto events = std::make_shared<Column>(DataType::String());
  for (int64_t i = from; i < to; ++i) {
    users->Append<int64_t>(i / per_user);
    events->AppendString("e" + std::to_string(i));
  }
  return Batch(UserSchema(), {users, events}, static_cast<size_t>(to - from));
}

class Collect final : public engine::Emitter {
 public:
  Status Emit(size_t, size_t, const Batch& batch) override {
    for (uint32_t r : batch.ActiveSelection()) {
      rows.emplace_back(batch.column(0)->Get<int64_t>(r), std::string(batch.column(1)->GetString(r)));
    }
    return Status::OK();
  }
  std::vector<std::pair<int64_t, std::string>> rows;
};

// Runs a compiled sample node over rows [0, n) in batches of `batch_rows`.
std::vector<std::pair<int64_t, std::string>> RunSample(Fixture& f, int64_t n, int64_t per_user, int64_t batch_rows,
                                                       engine::NodeCounters& counters) {
  Collect out;
  engine::ExecContext ctx;
  ctx.plan = &f.plan;
  ctx.emitter = &out;
  auto op = f.node.config->MakeOperator(f.node, 0, ctx, counters, nullptr);
  for (int64_t from = 0; from < n; from += batch_rows) {
    EXPECT_TRUE(op->Process(0, Rows(from, std::min(n, from + batch_rows), per_user)).ok());
  }
  EXPECT_TRUE(op->Close().ok());
  return out.rows;
}

TEST(Sample, KeepsAboutTheFractionAndAccountsForEveryRecord) {
  constexpr int64_t kRows = 200000;
  for (double fraction : {0.01, 0.1, 0.5, 0.9}) {
    Fixture f(Role::kTransform, "sample", "kind: sample\ninputs: [x]\nfraction: " + std::to_string(fraction),
              UserSchema());
    ASSERT_TRUE(f.Compile()) << ::testing::PrintToString(f.ctx.errors());
    engine::NodeCounters k;
    auto rows = RunSample(f, kRows, 1, 4096, k);
    // Binomial: within 5 standard deviations of n * p.
    const double mean = kRows * fraction;
    const double sd = std::sqrt(kRows * fraction * (1 - fraction));
    EXPECT_NEAR(static_cast<double>(rows.size()), mean, 5 * sd) << fraction;
    EXPECT_EQ(k.in, kRows);
    EXPECT_EQ(k.out, static_cast<int64_t>(rows.size()));
    EXPECT_EQ(k.in, k.out + k.dropped);
  }
}

TEST(Sample, TheSameRecordsWhateverTheBatchesAndRuns) {
  Fixture f(Role::kTransform, "sample", "kind: sample\ninputs: [x]\nfraction: 0.3", UserSchema());
  ASSERT_TRUE(f.Compile());
  engine::NodeCounters k1, k2, k3;
  auto a = RunSample(f, 50000, 1, 50000, k1);
  auto b = RunSample(f, 50000, 1, 7, k2);
  auto c = RunSample(f, 50000, 1, 1000, k3);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_FALSE(a.empty());
}

TEST(Sample, AKeyKeepsAllOrNoneOfItsRecords) {
  Fixture f(Role::kTransform, "sample", "kind: sample\ninputs: [x]\nfraction: 0.2\nkey: user_id", UserSchema());
  ASSERT_TRUE(f.Compile());
  engine::NodeCounters k;
  constexpr int64_t kPerUser = 10;
  auto rows = RunSample(f, 100000, kPerUser, 999, k);
  std::map<int64_t, int> per_user;
  for (const auto& [user, event] : rows) ++per_user[user];
  ASSERT_FALSE(per_user.empty());
  for (const auto& [user, count] : per_user) EXPECT_EQ(count, kPerUser) << "user " << user;
  // About a fifth of the 10,000 users.
  EXPECT_NEAR(static_cast<double>(per_user.size()), 2000, 5 * std::sqrt(10000 * 0.2 * 0.8));
}

TEST(Sample, TheSeedPicksAnotherSampleAndFractionOneKeepsAll) {
  Fixture a(Role::kTransform, "sample", "kind: sample\ninputs: [x]\nfraction: 0.5", UserSchema());
  Fixture b(Role::kTransform, "sample", "kind: sample\ninputs: [x]\nfraction: 0.5\nseed: 7", UserSchema());
  Fixture all(Role::kTransform, "sample", "kind: sample\ninputs: [x]\nfraction: 1", UserSchema());
  ASSERT_TRUE(a.Compile());
  ASSERT_TRUE(b.Compile());
  ASSERT_TRUE(all.Compile());
  engine::NodeCounters ka, kb, kall;
  EXPECT_NE(RunSample(a, 10000, 1, 512, ka), RunSample(b, 10000, 1, 512, kb));
  EXPECT_EQ(RunSample(all, 10000, 1, 512, kall).size(), 10000u);
  EXPECT_EQ(kall.dropped, 0);
}

TEST(Sample, DescribesItsSettings) {
  Fixture f(Role::kTransform, "sample", "kind: sample\ninputs: [x]\nfraction: 0.25\nkey: [user_id]\nseed: 3",
            UserSchema());
  ASSERT_TRUE(f.Compile());
  EXPECT_EQ(f.node.config->Describe().dump(), R"({"fraction":0.25,"key":["user_id"],"seed":3})");
  ASSERT_EQ(f.node.outputs.size(), 1u);
  EXPECT_EQ(*f.node.outputs[0].schema, *UserSchema());
  EXPECT_TRUE(f.node.config->RunsInStreams());
}

TEST(Sample, RejectsBadSettings) {
  struct Case {
    std::string settings;
    std::string error;
  };
  for (const auto& c : std::vector<Case>{
           {"kind: sample\ninputs: [x]",
            "spec.yaml:1: c: missing required key 'fraction': the share of records to keep, e.g. fraction: 0.1"},
           {"kind: sample\ninputs: [x]\nfraction: 0",
            "spec.yaml:3: c: fraction '0' must be a number greater than 0 and at most 1, e.g. 0.1"},
           {"kind: sample\ninputs: [x]\nfraction: 1.5",
            "spec.yaml:3: c: fraction '1.5' must be a number greater than 0 and at most 1, e.g. 0.1"},
           {"kind: sample\ninputs: [x]\nfraction: half",
            "spec.yaml:3: c: fraction 'half' must be a number greater than 0 and at most 1, e.g. 0.1"},
           {"kind: sample\ninputs: [x]\nfraction: 0.1\nseed: -1", "spec.yaml:4: c: 'seed' must be a whole number >= 0"},
           {"kind: sample\ninputs: [x]\nfraction: 0.1\nkey: usr_id",
            "spec.yaml:4: c: key: column 'usr_id' is not in (user_id, event) (did you mean 'user_id'?)"},
       }) {
    Fixture f(Role::kTransform, "sample", c.settings, UserSchema());
    EXPECT_FALSE(f.Compile()) << c.settings;
    EXPECT_EQ(f.ctx.errors(), std::vector<std::string>{c.error}) << c.settings;
  }
}

}  // namespace
}  // namespace sluice::components
