// IngestKeyStore: the idempotency keys of the ingest API — a part of the metadata store
// (MetadataStore::ingest_keys()). A request with a key claims it before it appends (one row per
// (stream, key), claimed in one statement, so of any number of requests on any number of servers
// sharing this database exactly one gets the claim); the claim holder appends, then records its
// response, which every later request with the key gets for `ttl`.
//
// Errors: FailedPrecondition for a claim that is no longer held; Unavailable when the database
// cannot be reached.
// Thread-safety: any thread (StoreBase).
#pragma once

#include <cstdint>
#include <string>

#include "sluice/control/metadata/store_base.h"

namespace sluice::metadata {

struct IngestKeyClaim {
  enum class State {
    kClaimed,     // this request holds the key: append, then CompleteIngestKey or ReleaseIngestKey
    kDone,        // an earlier request appended: `response` is its answer
    kInProgress,  // another request holds the key and has not answered yet
  };
  State state = State::kClaimed;
  std::string response;
  std::string token;  // kClaimed: names this claim to CompleteIngestKey and ReleaseIngestKey
};

class IngestKeyStore : public StoreBase {
 public:
  using StoreBase::StoreBase;

  // A claim older than `stale_micros` that never completed (its server died) is taken over; so is
  // an answer older than `ttl_micros`.
  Result<IngestKeyClaim> ClaimIngestKey(const std::string& stream, const std::string& key, int64_t ttl_micros,
                                        int64_t stale_micros);
  // Records the response of the request that holds the claim `token` (FailedPrecondition when it
  // no longer does: the claim went stale and another request took it over).
  Status CompleteIngestKey(const std::string& stream, const std::string& key, const std::string& token,
                           const std::string& response);
  // Gives the claim up (the append failed): the next request with the key claims it.
  Status ReleaseIngestKey(const std::string& stream, const std::string& key, const std::string& token);
};

}  // namespace sluice::metadata
