// What the server measures, as GET /metrics shows it (docs/SERVE.md,
// "Metrics"): requests by endpoint and status, their latency, the work the
// replicas did and how long it waited. The gauges of live state (queue
// length, busy replicas, readiness) are read from the server at each scrape
// and are registered by it.
#pragma once

#include <string>

#include "serve/metrics.h"

namespace transformer::serve {

struct ServerMetrics {
  explicit ServerMetrics(MetricsRegistry& registry);

  Counter& requests;                 // {endpoint, status}
  Histogram& request_seconds;        // {endpoint}: head read → answer written
  Counter& sentences;                // translated (empty ones included)
  Counter& source_tokens;            // encoder tokens of the translated sentences
  Counter& target_tokens;            // output tokens of their best hypotheses
  Histogram& queue_wait_seconds;     // per sentence: queued → its batch starts on a replica
  Histogram& compute_seconds;        // per batch: its time on a replica
  Histogram& batch_sentences;        // sentences per batch
  Histogram& batch_tokens;           // source tokens per batch
  Counter& replica_busy_seconds;     // {replica}: its rate is the replica's utilisation
  Counter& cancelled_sentences;      // {reason}: left the queue without a translation
};

// The endpoint label of a path: the server's own paths as they are, any
// other "other" (a label per path a client makes up would grow without
// bound).
std::string endpoint_label(const std::string& path);

}  // namespace transformer::serve
