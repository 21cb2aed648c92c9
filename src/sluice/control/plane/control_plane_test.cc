// The control plane started in-process on 127.0.0.1 (a free port) over a temp workdir, driven
// over real HTTP with the API client: health and readiness, 401 without a token, the first
// admin and its token, a pipeline applied and run by the embedded worker until it succeeds, a
// clean stop; the generated admin password, and what Open refuses.
#include "sluice/control/plane/control_plane.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sluice/client/api_client.h"
#include "sluice/control/metadata/metadata_store.h"

namespace sluice::plane {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
const std::string kPassword = "correct horse battery staple";

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice_plane_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ControlPlaneOptions Options() const {
    ControlPlaneOptions o;
    o.workdir = (dir_ / "work").string();
    o.address = "127.0.0.1";
    o.port = 0;
    o.io_threads = 2;
    o.scheduler_interval_ms = 100;
    return o;
  }

  static client::ApiClient Client(const ControlPlane& plane, const std::string& token = "") {
    client::ApiClientOptions co;
    co.server = plane.url();
    co.token = token;
    co.retries = 0;
    co.timeout_ms = 10000;
    auto c = client::ApiClient::Create(co);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(*c);
  }

  // An access token of `user` through /api/v1/auth/token.
  static std::string Login(client::ApiClient& c, const std::string& user, const std::string& password) {
    auto r = c.Request("POST", "/api/v1/auth/token",
                       json{{"grant_type", "password"}, {"username", user}, {"password", password}}.dump());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    EXPECT_EQ(r->status, 200) << r->body;
    return r->json.value("access_token", "");
  }

  fs::path dir_;
};

TEST_F(ControlPlaneTest, ServesTheApiRunsAPipelineAndStops) {
  std::filesystem::create_directories(dir_ / "work" / "data" / "ops");
  std::ofstream(dir_ / "work" / "data" / "ops" / "in.ndjson") << "{\"id\": 1}\n{\"id\": -2}\n{\"id\": 3}\n";
  ControlPlaneOptions o = Options();
  o.init_admin = "admin";
  o.init_admin_password = kPassword;
  auto opened = ControlPlane::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ControlPlane& plane = **opened;
  EXPECT_EQ(plane.init_admin().what, InitAdminOutcome::What::kCreated);
  EXPECT_EQ(plane.init_admin().user, "admin");
  EXPECT_EQ(plane.init_admin().generated_password, "") << "the password was given";
  EXPECT_EQ(plane.port(), 0) << "nothing listens before Start";
  ASSERT_TRUE(plane.Start().ok());
  ASSERT_NE(plane.port(), 0) << "port 0 picks a free port";
  EXPECT_FALSE(plane.tls());
  EXPECT_EQ(plane.url(), "http://127.0.0.1:" + std::to_string(plane.port()));
  EXPECT_TRUE(fs::exists(dir_ / "work" / "meta.db"));
  EXPECT_TRUE(fs::exists(dir_ / "work" / "secret.key"));
  EXPECT_EQ(plane.Start().code(), StatusCode::kFailedPrecondition) << "started twice";

  auto anonymous = Client(plane);
  auto health = anonymous.Get("/api/v1/health");
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(health->json["status"], "ok");
  auto ready = anonymous.Get("/api/v1/ready");
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(ready->json["status"], "ready");
  EXPECT_EQ(ready->json["metadata"], "sqlite");

  auto unauthenticated = anonymous.Request("GET", "/api/v1/pipelines");
  ASSERT_TRUE(unauthenticated.ok()) << unauthenticated.status().ToString();
  EXPECT_EQ(unauthenticated->status, 401) << unauthenticated->body;
  auto wrong = anonymous.Request("POST", "/api/v1/auth/token",
                                 json{{"grant_type", "password"}, {"username", "admin"}, {"password", "nope"}}.dump());
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 400) << wrong->body;

  const std::string token = Login(anonymous, "admin", kPassword);
  ASSERT_FALSE(token.empty());
  auto admin = Client(plane, token);
  auto whoami = admin.Get("/api/v1/auth/whoami");
  ASSERT_TRUE(whoami.ok()) << whoami.status().ToString();
  EXPECT_EQ(whoami->json["subject"], "user:admin") << whoami->json.dump();

  const std::string spec =
      "apiVersion: sluice/v1\nkind: Pipeline\nmetadata: {name: copy, namespace: ops}\nspec:\n  sources:\n"
      "    in: {kind: files, path: in.ndjson, schema: {fields: [{name: id, type: int64}]}}\n"
      "  transforms:\n    pos: {kind: validate, inputs: [in], rules: [{name: positive, check: \"id > 0\"}]}\n"
      "  sinks:\n    out: {kind: files, inputs: [pos], path: out.ndjson}\n";
  auto applied = admin.Post("/api/v1/pipelines", json{{"spec", spec}, {"message", "first"}});
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_TRUE(applied->json["created"].get<bool>());
  EXPECT_EQ(applied->json["version"], 1);
  auto listed = admin.ListAll("/api/v1/pipelines");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["name"], "copy");

  auto triggered = admin.Post("/api/v1/pipelines/ops/copy/runs", json::object());
  ASSERT_TRUE(triggered.ok()) << triggered.status().ToString();
  const std::string run_id = triggered->json.value("id", "");
  ASSERT_FALSE(run_id.empty()) << triggered->json.dump();
  json run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto got = admin.Get("/api/v1/runs/" + run_id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    run = got->json;
    const std::string status = run.value("status", "");
    if (status == "succeeded" || status == "failed" || status == "cancelled") break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the embedded worker did not finish: " << run.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(run["status"], "succeeded") << run.dump();
  EXPECT_EQ(run["summary"]["components"]["pos"]["in"], 3) << run.dump();
  EXPECT_EQ(run["summary"]["components"]["pos"]["dead_letter"], 1) << run.dump();
  EXPECT_EQ(run["summary"]["components"]["out"]["in"], 2) << run.dump();
  std::stringstream out;
  out << std::ifstream(dir_ / "work" / "data" / "ops" / "out.ndjson").rdbuf();
  EXPECT_EQ(out.str(), "{\"id\":1}\n{\"id\":3}\n");
  auto stored = plane.store().runs().GetRun(run_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, metadata::RunStatus::kSucceeded);
  auto log = admin.Request("GET", "/api/v1/runs/" + run_id + "/logs");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->body.find("run succeeded"), std::string::npos) << log->body;

  const std::string url = plane.url();
  plane.Stop();
  plane.Stop();  // idempotent
  client::ApiClientOptions co;
  co.server = url;
  co.retries = 0;
  co.timeout_ms = 2000;
  auto after = client::ApiClient::Create(co);
  ASSERT_TRUE(after.ok());
  auto refused = after->Request("GET", "/api/v1/health");
  EXPECT_FALSE(refused.ok()) << "nothing listens after Stop";
}

TEST_F(ControlPlaneTest, AGeneratedAdminPasswordWorksAndAnExistingAdminIsKept) {
  ControlPlaneOptions o = Options();
  o.init_admin = "root";
  o.workers = {.batch = 0, .stream = 0};
  std::string password;
  {
    auto plane = ControlPlane::Open(o);
    ASSERT_TRUE(plane.ok()) << plane.status().ToString();
    EXPECT_EQ((*plane)->init_admin().what, InitAdminOutcome::What::kCreated);
    password = (*plane)->init_admin().generated_password;
    EXPECT_GE(password.size(), 20u) << password;
    ASSERT_TRUE((*plane)->Start().ok());
    auto c = Client(**plane);
    const std::string token = Login(c, "root", password);
    ASSERT_FALSE(token.empty());
    auto users = Client(**plane, token).Get("/api/v1/users");
    ASSERT_TRUE(users.ok()) << users.status().ToString();
    ASSERT_EQ(users->json["items"].size(), 1u);
    EXPECT_EQ(users->json["items"][0]["name"], "root");
  }  // the destructor stops it
  auto again = ControlPlane::Open(o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->init_admin().what, InitAdminOutcome::What::kExisted);
  EXPECT_EQ((*again)->init_admin().generated_password, "");
  ASSERT_TRUE((*again)->Start().ok());
  auto c = Client(**again);
  EXPECT_FALSE(Login(c, "root", password).empty()) << "the password of the first start still holds";
}

TEST_F(ControlPlaneTest, OpenSaysWhichStepFailed) {
  OpenStage stage = OpenStage::kRoutes;
  ControlPlaneOptions o = Options();
  o.address = "0.0.0.0";
  auto clear = ControlPlane::Open(o, &stage);
  ASSERT_FALSE(clear.ok());
  EXPECT_EQ(clear.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(clear.status().message().find("without TLS"), std::string::npos) << clear.status().message();
  EXPECT_EQ(stage, OpenStage::kOptions);

  o = Options();
  o.metadata_url = "mysql://nowhere";
  auto metadata = ControlPlane::Open(o, &stage);
  ASSERT_FALSE(metadata.ok());
  EXPECT_EQ(metadata.status().code(), StatusCode::kInvalidArgument) << metadata.status().ToString();
  EXPECT_EQ(stage, OpenStage::kMetadata);

  o = Options();
  o.init_admin = "admin";
  o.init_admin_password = "short";
  auto admin = ControlPlane::Open(o, &stage);
  ASSERT_FALSE(admin.ok());
  EXPECT_EQ(admin.status().code(), StatusCode::kInvalidArgument) << admin.status().ToString();
  EXPECT_EQ(stage, OpenStage::kInitAdmin);

  o = Options();
  o.tls_cert_file = (dir_ / "missing.pem").string();
  o.tls_key_file = (dir_ / "missing.key").string();
  auto tls = ControlPlane::Open(o, &stage);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ((*tls)->Start().code(), StatusCode::kInvalidArgument) << "the certificate cannot be read";
}

}  // namespace
}  // namespace sluice::plane
