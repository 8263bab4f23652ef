#include "serve/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace transformer::serve {

namespace {

// The text format escapes backslash, double quote and line feed in label
// values (and backslash and line feed in HELP text).
std::string escape(const std::string& s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
  return out;
}

}  // namespace

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
    return buffer;
  }
  // The shortest form that reads back as the same double: 0.1, not 0.10000000000000001.
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  std::vector<double> bounds;
  for (double b = start; static_cast<int>(bounds.size()) < count; b *= factor) bounds.push_back(b);
  return bounds;
}

MetricFamily::MetricFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

std::string MetricFamily::series(const std::string& name, const LabelValues& values, const std::string& extra) const {
  if (label_names_.empty() && extra.empty()) return name;
  std::string s = name + "{";
  for (size_t i = 0; i < label_names_.size(); ++i)
    s += (i ? "," : "") + label_names_[i] + "=\"" + escape(values[i], true) + "\"";
  if (!extra.empty()) s += (label_names_.empty() ? "" : ",") + extra;
  return s + "}";
}

void MetricFamily::header(std::string& out, const char* type) const {
  out += "# HELP " + name_ + " " + escape(help_, false) + "\n# TYPE " + name_ + " " + type + "\n";
}

void MetricFamily::check(const LabelValues& values) const {
  assert(values.size() == label_names_.size() && "a metric's label values do not match its label names");
  (void)values;
}

void Counter::add(const LabelValues& values, double amount) {
  check(values);
  std::lock_guard lock(mutex_);
  values_[values] += amount;
}

double Counter::value(const LabelValues& values) const {
  std::lock_guard lock(mutex_);
  const auto it = values_.find(values);
  return it == values_.end() ? 0 : it->second;
}

void Counter::render(std::string& out) const {
  header(out, "counter");
  std::lock_guard lock(mutex_);
  // A counter without labels is 0 before its first event, rather than absent.
  if (values_.empty() && label_names_.empty()) out += name_ + " 0\n";
  for (const auto& [values, value] : values_) out += series(name_, values) + " " + format_sample_value(value) + "\n";
}

void Gauge::set(const LabelValues& values, double value) {
  check(values);
  std::lock_guard lock(mutex_);
  values_[values] = value;
}

void Gauge::render(std::string& out) const {
  header(out, "gauge");
  std::lock_guard lock(mutex_);
  for (const auto& [values, value] : values_) out += series(name_, values) + " " + format_sample_value(value) + "\n";
}

GaugeFunction::GaugeFunction(std::string name, std::string help, std::function<double()> read)
    : MetricFamily(std::move(name), std::move(help), {}), read_(std::move(read)) {}

void GaugeFunction::render(std::string& out) const {
  header(out, "gauge");
  out += name_ + " " + format_sample_value(read_()) + "\n";
}

Histogram::Histogram(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<double> bounds)
    : MetricFamily(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {
  assert(std::is_sorted(bounds_.begin(), bounds_.end()) && "histogram bounds must increase");
}

void Histogram::observe(const LabelValues& values, double value) {
  check(values);
  // The first bucket whose bound is ≥ the value ("le": less or equal).
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  std::lock_guard lock(mutex_);
  Series& s = series_[values];
  if (s.counts.empty()) s.counts.assign(bounds_.size() + 1, 0);
  ++s.counts[bucket];
  s.sum += value;
  ++s.count;
}

void Histogram::render(std::string& out) const {
  header(out, "histogram");
  std::lock_guard lock(mutex_);
  for (const auto& [values, s] : series_) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= bounds_.size(); ++b) {
      cumulative += s.counts[b];
      const std::string le = b < bounds_.size() ? format_sample_value(bounds_[b]) : "+Inf";
      out += series(name_ + "_bucket", values, "le=\"" + le + "\"") + " " + std::to_string(cumulative) + "\n";
    }
    out += series(name_ + "_sum", values) + " " + format_sample_value(s.sum) + "\n";
    out += series(name_ + "_count", values) + " " + std::to_string(s.count) + "\n";
  }
}

template <typename Family>
Family& MetricsRegistry::add(const std::string& name, std::unique_ptr<Family> family) {
  assert(std::find(names_.begin(), names_.end(), name) == names_.end() && "a metric name is registered twice");
  names_.push_back(name);
  Family& added = *family;
  families_.push_back(std::move(family));
  return added;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  return add(name, std::make_unique<Counter>(name, help, std::move(label_names)));
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, std::vector<std::string> label_names) {
  return add(name, std::make_unique<Gauge>(name, help, std::move(label_names)));
}

void MetricsRegistry::gauge_function(const std::string& name, const std::string& help, std::function<double()> read) {
  add(name, std::make_unique<GaugeFunction>(name, help, std::move(read)));
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names, std::vector<double> bounds) {
  return add(name, std::make_unique<Histogram>(name, help, std::move(label_names), std::move(bounds)));
}

std::string MetricsRegistry::render() const {
  std::string out;
  for (const auto& family : families_) family->render(out);
  return out;
}

}  // namespace transformer::serve
