// A small registry of metrics written in the Prometheus text exposition
// format 0.0.4, what GET /metrics answers (docs/SERVE.md lists the metrics).
//
// Three kinds, each a family of series told apart by label values:
// counters (only go up), gauges (any value, or read from a function at each
// scrape, for what the server already keeps: queue length, busy replicas),
// and histograms (counts of observations below fixed bucket bounds, their
// sum and count, from which Prometheus computes quantiles). Every family
// has its own mutex: updates from concurrent requests only contend within
// one family, and a scrape sees each family consistent.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace transformer::serve {

// Label values, in the order of the family's label names.
using LabelValues = std::vector<std::string>;

class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names);
  virtual ~MetricFamily() = default;
  // The family's "# HELP", "# TYPE" and sample lines.
  virtual void render(std::string& out) const = 0;

 protected:
  // name{label="value",...}, with `extra` (le="…") last; values escaped.
  std::string series(const std::string& name, const LabelValues& values, const std::string& extra = "") const;
  void header(std::string& out, const char* type) const;
  void check(const LabelValues& values) const;  // as many values as label names

  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
};

class Counter : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  void add(const LabelValues& values, double amount = 1);
  double value(const LabelValues& values) const;
  void render(std::string& out) const override;

 private:
  std::map<LabelValues, double> values_;
};

class Gauge : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  void set(const LabelValues& values, double value);
  void render(std::string& out) const override;

 private:
  std::map<LabelValues, double> values_;
};

// A gauge without labels whose value is read at each scrape.
class GaugeFunction : public MetricFamily {
 public:
  GaugeFunction(std::string name, std::string help, std::function<double()> read);
  void render(std::string& out) const override;

 private:
  std::function<double()> read_;
};

class Histogram : public MetricFamily {
 public:
  // `bounds`: the buckets' upper bounds, increasing; +Inf is added.
  Histogram(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds);
  void observe(const LabelValues& values, double value);
  void render(std::string& out) const override;

 private:
  struct Series {
    std::vector<uint64_t> counts;  // per bucket, not cumulative; the last one is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  const std::vector<double> bounds_;
  std::map<LabelValues, Series> series_;
};

class MetricsRegistry {
 public:
  // The families are rendered in the order they were added; names must be
  // unique (an internal error otherwise).
  Counter& counter(const std::string& name, const std::string& help, std::vector<std::string> label_names = {});
  Gauge& gauge(const std::string& name, const std::string& help, std::vector<std::string> label_names = {});
  void gauge_function(const std::string& name, const std::string& help, std::function<double()> read);
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                       std::vector<double> bounds);

  std::string render() const;

 private:
  template <typename Family>
  Family& add(const std::string& name, std::unique_ptr<Family> family);

  std::vector<std::unique_ptr<MetricFamily>> families_;
  std::vector<std::string> names_;
};

// Bucket bounds: `count` bounds from `start`, each `factor` times the last.
std::vector<double> exponential_buckets(double start, double factor, int count);

// A sample value as Prometheus writes it: integers without a fraction,
// others with enough digits to read back the same double, +Inf, -Inf, NaN.
std::string format_sample_value(double value);

}  // namespace transformer::serve
