#include "serve/server_metrics.h"

namespace transformer::serve {

namespace {

// Seconds, from 1 ms to about 33 s: a greedy sentence on a free replica
// takes milliseconds, a long beam under load seconds.
std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

}  // namespace

ServerMetrics::ServerMetrics(MetricsRegistry& r)
    : requests(r.counter("transformer_http_requests_total", "HTTP requests answered, by endpoint and status.",
                         {"endpoint", "status"})),
      request_seconds(r.histogram("transformer_http_request_duration_seconds",
                                  "Time from a request's head being read to its answer, by endpoint.", {"endpoint"},
                                  latency_buckets())),
      sentences(r.counter("transformer_sentences_translated_total",
                          "Sentences translated (an empty one needs no translation and is not counted).")),
      source_tokens(r.counter("transformer_source_tokens_total", "Source tokens (as the encoder reads them) translated.")),
      target_tokens(r.counter("transformer_target_tokens_total", "Output tokens of the best hypotheses.")),
      queue_wait_seconds(r.histogram("transformer_queue_wait_seconds",
                                     "Time a sentence waited, from its request being queued to its batch starting on "
                                     "a replica.",
                                     {}, latency_buckets())),
      compute_seconds(r.histogram("transformer_batch_compute_seconds", "Time a batch took on its replica.", {},
                                  latency_buckets())),
      batch_sentences(r.histogram("transformer_batch_sentences", "Sentences per batch.", {},
                                  {1, 2, 4, 8, 16, 32, 64, 128, 256})),
      batch_tokens(r.histogram("transformer_batch_tokens", "Source tokens per batch.", {},
                               {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192})),
      replica_busy_seconds(r.counter("transformer_replica_busy_seconds_total",
                                     "Time each model replica spent translating; its rate is the replica's "
                                     "utilisation.",
                                     {"replica"})),
      cancelled_sentences(r.counter("transformer_sentences_cancelled_total",
                                    "Sentences that left the queue untranslated, by reason.", {"reason"})) {}

std::string endpoint_label(const std::string& path) {
  for (const char* known : {"/healthz", "/livez", "/metrics", "/v1/translate", "/v1/explain", "/v1/model-info", "/"})
    if (path == known) return path;
  return "other";
}

}  // namespace transformer::serve
