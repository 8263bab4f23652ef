#include "explain/probe_snapshot.h"

#include <cmath>

namespace transformer::explain {

namespace {

using nlohmann::json;

// [H][Tq][Tk] weights → the same nesting in thousandths; a masked (0) or
// missing weight is 0.
json thousandths(const json& weights) {
  json heads = json::array();
  for (const auto& head : weights) {
    json rows = json::array();
    for (const auto& row : head) {
      json out = json::array();
      for (const auto& w : row) out.push_back(w.is_number() ? static_cast<int>(std::lround(w.get<double>() * 1000)) : 0);
      rows.push_back(std::move(out));
    }
    heads.push_back(std::move(rows));
  }
  return heads;
}

json layers(const json& stack, const char* field) {
  json out = json::array();
  for (const auto& layer : stack["layers"]) out.push_back(thousandths(layer[field]["weights"]));
  return out;
}

double rounded(const json& p) { return std::round(p.get<double>() * 1e4) / 1e4; }

}  // namespace

json probe_snapshot(const json& record) {
  json steps = json::array();
  for (const auto& step : record["steps"]) {
    json top = json::array();
    for (const auto& entry : step["top"]) {
      if (top.size() == static_cast<size_t>(kSnapshotTopK)) break;
      top.push_back({{"piece", entry["piece"]}, {"prob", rounded(entry["prob"])}});
    }
    steps.push_back({{"top", std::move(top)},
                     {"chosen", {{"piece", step["chosen"]["piece"]}, {"prob", rounded(step["chosen"]["prob"])}}}});
  }
  return {{"source", record["source"]["pieces"]},
          {"target", record["target"]["pieces"]},
          {"output", record["output"]["text"]},
          {"steps", std::move(steps)},
          {"attention",
           {{"encoder", layers(record["encoder"], "self_attention")},
            {"decoder", layers(record["decoder"], "self_attention")},
            {"cross", layers(record["decoder"], "cross_attention")}}}};
}

}  // namespace transformer::explain
