// POST /api/v1/ingest/{stream}: events (NDJSON, or a JSON array) appended to the log topic
// ingest.<stream> that `http` sources read — acknowledged only after the append is durable.
//
// A request is all or nothing: every event is checked first (valid JSON, an object, at most
// kMaxEventBytes), and a request with any bad event is refused with 400 naming each bad line or
// element, so nothing is half-accepted and the client still holds everything. The events of a
// request go to one partition in one atomic, fsynced batch. With an Idempotency-Key header the
// request claims the key in the metadata database before it appends (so this holds across
// replicas of the server sharing that database): a repeated request gets the first one's response
// and appends nothing (keys are kept for ApiOptions::idempotency_ttl_micros); one that arrives
// while the first is still appending gets 409 conflict with Retry-After. A failed append gives
// the key back. A server that dies between its append and recording the response leaves a claim
// that a retry takes over after kClaimStaleMicros, and appends again (at least once in that
// window).
#include <simdjson.h>

#include <cmath>
#include <map>
#include <mutex>

#include "sluice/base/hash.h"
#include "sluice/base/logging.h"
#include "sluice/control/api/api.h"
#include "sluice/control/http/rate_limiter.h"
#include "sluice/connectors/kafka/kafka.h"
#include "sluice/engine/plan/plan.h"
#include "sluice/io/workdir.h"
#include "sluice/log/log.h"

namespace sluice::api {

struct IngestState {
  IngestState(const ApiOptions& o, const Clock& clock)
      : limiter(o.ingest_requests_per_second, o.ingest_burst, clock) {}
  http::RateLimiter limiter;
  std::mutex mu;
  std::map<std::string, std::shared_ptr<log::Log>> logs;  // GUARDED_BY(mu); by stream
  std::atomic<uint64_t> round_robin{0};
  std::mutex kafka_mu;                    // one request at a time through the producer
  std::unique_ptr<kafka::Producer> producer;  // GUARDED_BY(kafka_mu); opened on first use
};

ApiContext::ApiContext(metadata::MetadataStore& s, ApiOptions o)
    : store(s), options(std::move(o)), clock(options.clock ? *options.clock : SystemClock::Get()),
      ingest(std::make_unique<IngestState>(options, clock)) {}
ApiContext::~ApiContext() = default;

namespace {

using json = nlohmann::json;
using http::PathParams;
using http::Request;
using http::Response;

constexpr size_t kMaxEventBytes = 1 << 20;
constexpr size_t kMaxReportedErrors = 20;
// A claimed Idempotency-Key whose request never answered (its server died mid-append) is taken
// over after this long. An append takes milliseconds; a minute leaves room for a slow disk.
constexpr int64_t kClaimStaleMicros = 60'000'000;

// As `http` sources name streams: [a-z_][a-z0-9_]{0,62}.
bool ValidStreamName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool ValidIdempotencyKey(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

struct Events {
  simdjson::padded_string padded;
  std::vector<std::string_view> views;  // NDJSON: lines of `padded`
  std::vector<std::string> owned;       // arrays: each element, minified
  json errors = json::array();
  size_t bad = 0;
  void Bad(std::string where, std::string message) {
    ++bad;
    if (errors.size() < kMaxReportedErrors) {
      errors.push_back({{"field", std::move(where)}, {"code", "malformed_json"}, {"message", std::move(message)}});
    }
  }
};

void ParseNdjson(std::string_view body, Events& ev) {
  ev.padded = simdjson::padded_string(body);
  simdjson::dom::parser parser;
  const std::string_view text(ev.padded.data(), ev.padded.size());
  size_t line_no = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank lines are not events
    if (line.size() > kMaxEventBytes) {
      ev.Bad("line " + std::to_string(line_no), "the event is over " + std::to_string(kMaxEventBytes) + " bytes");
      continue;
    }
    // The rest of the body (and the padding after it) is readable: no copy per line.
    simdjson::dom::element doc;
    auto err = parser.parse(line.data(), line.size(), false).get(doc);
    if (err) {
      ev.Bad("line " + std::to_string(line_no), simdjson::error_message(err));
    } else if (!doc.is_object()) {
      ev.Bad("line " + std::to_string(line_no), "an event must be a JSON object");
    } else {
      ev.views.push_back(line);
    }
  }
}

void ParseArray(std::string_view body, Events& ev) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc)) {
    ev.Bad("body", simdjson::error_message(err));
    return;
  }
  auto add = [&](simdjson::dom::element e, const std::string& where) {
    if (!e.is_object()) {
      ev.Bad(where, "an event must be a JSON object");
      return;
    }
    std::string text = simdjson::minify(e);
    if (text.size() > kMaxEventBytes) {
      ev.Bad(where, "the event is over " + std::to_string(kMaxEventBytes) + " bytes");
      return;
    }
    ev.owned.push_back(std::move(text));
  };
  if (doc.is_array()) {
    size_t i = 0;
    for (simdjson::dom::element e : doc.get_array()) add(e, "[" + std::to_string(i++) + "]");
  } else {
    add(doc, "body");  // one event
  }
  for (const auto& s : ev.owned) ev.views.push_back(s);
}

Result<std::shared_ptr<log::Log>> StreamLog(ApiContext& ctx, const std::string& stream) {
  IngestState& st = *ctx.ingest;
  std::lock_guard lock(st.mu);
  if (auto it = st.logs.find(stream); it != st.logs.end()) return it->second;
  log::LogOptions lo;
  lo.partitions = 0;
  const std::string root = Workdir(ctx.options.workdir).Log().string();
  const std::string topic = "ingest." + stream;
  auto existing = log::Log::OpenShared(root, topic, lo);
  if (!existing.ok()) {
    lo.partitions = ctx.options.ingest_partitions;  // a new stream
    existing = log::Log::OpenShared(root, topic, lo);
  }
  if (!existing.ok()) return existing.status();
  st.logs[stream] = *existing;
  return *existing;
}

// Produces the events to one partition of the Kafka topic ingest.<stream> and waits until the
// brokers acknowledged every one (an idempotent producer: a retried send is not duplicated).
Result<int32_t> AppendToKafka(ApiContext& ctx, const std::string& stream, uint64_t pick,
                              const std::vector<std::string_view>& events) {
  IngestState& st = *ctx.ingest;
  std::lock_guard lock(st.kafka_mu);
  if (!st.producer) {
    kafka::ProducerOptions po;
    po.brokers = ctx.options.ingest_kafka_brokers;
    SLUICE_ASSIGN_OR_RETURN(st.producer, kafka::Producer::Open(po));
  }
  const std::string topic = engine::IngestTopic(stream);
  SLUICE_ASSIGN_OR_RETURN(int partitions, st.producer->PartitionCount(topic, 10000));
  const auto partition = static_cast<int32_t>(pick % static_cast<uint64_t>(partitions));
  for (const auto& e : events) SLUICE_RETURN_IF_ERROR(st.producer->Produce(topic, partition, {}, e));
  Status flushed = st.producer->Flush(30000);
  if (!flushed.ok()) st.producer.reset();  // a fatal producer error sticks: start over next time
  SLUICE_RETURN_IF_ERROR(flushed);
  return partition;
}

bool IsNdjson(std::string_view media) {
  return media == "application/x-ndjson" || media == "application/ndjson" || media == "application/jsonl";
}

// The checks of an ingest request's head, before its body (up to ingest_max_body_bytes) is read:
// the stream's name, the rate limit and the media type.
std::optional<Response> IngestBeforeBody(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string stream(p.Get("stream"));
  if (!ValidStreamName(stream)) {
    return http::FieldProblem(http::codes::kInvalidField, "stream",
                              "a stream name is [a-z_][a-z0-9_]{0,62}, as http sources name it");
  }
  // Per principal (per address when nobody authenticates).
  if (int64_t wait = ctx.ingest->limiter.Allow(req.caller.authenticated() ? req.caller.subject : req.remote_address);
      wait > 0) {
    const int64_t seconds = std::max<int64_t>(1, (wait + 999'999) / 1'000'000);
    Response r = http::MakeProblem(http::codes::kRateLimited,
                                   "over " + std::to_string(static_cast<int64_t>(ctx.options.ingest_requests_per_second)) +
                                       " ingest requests a second; retry after " + std::to_string(seconds) + " s");
    r.headers.Set("Retry-After", std::to_string(seconds));
    return r;
  }
  const std::string media = req.MediaType();
  if (!IsNdjson(media) && media != "application/json") {
    return http::MakeProblem(http::codes::kUnsupportedMediaType,
                             "send events as application/x-ndjson (one JSON object per line) or application/json "
                             "(an array of objects), not '" + media + "'");
  }
  return std::nullopt;
}

// After IngestBeforeBody admitted the request.
Response Ingest(ApiContext& ctx, const Request& req, const PathParams& p) {
  const std::string stream(p.Get("stream"));
  const bool ndjson = IsNdjson(req.MediaType());
  std::optional<std::string> key;
  if (auto k = req.headers.Get("Idempotency-Key")) {
    if (!ValidIdempotencyKey(*k)) {
      return http::FieldProblem(http::codes::kInvalidField, "Idempotency-Key",
                                "1 to 200 visible ASCII characters");
    }
    key = std::string(*k);
  }
  Events ev;
  if (ndjson) ParseNdjson(req.body, ev);
  else ParseArray(req.body, ev);
  if (ev.bad > 0) {
    return http::MakeProblem(http::codes::kMalformedJson,
                             std::to_string(ev.bad) + " event(s) are not valid JSON objects; nothing was accepted. "
                             "Fix them (see `errors`) and send the request again")
        .With("errors", std::move(ev.errors));
  }
  if (ev.views.empty()) return http::MakeProblem(http::codes::kInvalidBody, "the request holds no events");

  std::string claim_token;
  if (key) {
    auto claim = ctx.store.ingest_keys().ClaimIngestKey(stream, *key, ctx.options.idempotency_ttl_micros,
                                                        kClaimStaleMicros);
    if (!claim.ok()) return http::ProblemFromStatus(claim.status());
    using State = metadata::IngestKeyClaim::State;
    if (claim->state == State::kDone) {
      Response r;
      r.status = 200;
      r.content_type = std::string(http::kApplicationJson);
      r.body = std::move(claim->response);
      r.headers.Set("Idempotent-Replayed", "true");
      return r;
    }
    if (claim->state == State::kInProgress) {
      Response r = http::MakeProblem(http::codes::kConflict,
                                     "a request with this Idempotency-Key is still being appended; send this one "
                                     "again after Retry-After seconds to get its answer");
      r.headers.Set("Retry-After", "1");
      return r;
    }
    claim_token = std::move(claim->token);
  }
  // A failed append gives the key back, so the client's retry appends.
  auto release = [&](const Status& cause) {
    SLUICE_LOG(Error, "ingest.append_failed", {"stream", stream}, {"error", cause.ToString()});
    if (!key) return;
    Status st = ctx.store.ingest_keys().ReleaseIngestKey(stream, *key, claim_token);
    if (!st.ok()) SLUICE_LOG(Warn, "ingest.key_not_released", {"stream", stream}, {"error", st.ToString()});
  };

  const uint64_t pick = key ? Hash64(*key) : ctx.ingest->round_robin.fetch_add(1);
  json out = {{"stream", stream}, {"accepted", ev.views.size()}};
  if (!ctx.options.ingest_kafka_brokers.empty()) {
    auto at = AppendToKafka(ctx, stream, pick, ev.views);
    if (!at.ok()) {
      release(at.status());
      return http::ProblemFromStatus(at.status());
    }
    out["partition"] = *at;
    out["transport"] = "kafka";
  } else {
    auto lg = StreamLog(ctx, stream);
    if (!lg.ok()) {
      release(lg.status());
      return http::ProblemFromStatus(lg.status());
    }
    const int partition = static_cast<int>(pick % static_cast<uint64_t>((*lg)->partitions()));
    auto offset = (*lg)->Append(partition, ev.views);
    if (!offset.ok()) {
      release(offset.status());
      return http::ProblemFromStatus(offset.status());
    }
    out["partition"] = partition;
    out["first_offset"] = *offset;
  }
  const std::string body = out.dump();
  if (key) {
    Status st = ctx.store.ingest_keys().CompleteIngestKey(stream, *key, claim_token, body);
    if (!st.ok()) {
      SLUICE_LOG(Warn, "ingest.key_not_recorded", {"stream", stream}, {"error", st.ToString()});
    }
  }
  Response r;
  r.status = 200;
  r.content_type = std::string(http::kApplicationJson);
  r.body = body;
  return r;
}

}  // namespace

void AddIngestRoutes(ApiContext& ctx, std::vector<http::Route>& routes) {
  ApiContext* c = &ctx;
  routes.push_back(MakeRoute("POST", "/api/v1/ingest/{stream}", "ingestEvents", "ingest.write",
                             [c](const Request& req, const PathParams& p) { return Ingest(*c, req, p); }));
  routes.back().before_body = [c](const Request& req, const PathParams& p) { return IngestBeforeBody(*c, req, p); };
  routes.back().max_body_bytes = ctx.options.ingest_max_body_bytes;
  routes.back().scope = http::Scope::kCluster;  // streams are not namespaced
}

}  // namespace sluice::api
