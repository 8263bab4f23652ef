#include "decode/ensemble_check.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace transformer {

namespace {

// The config fields that decide which ids a model reads and writes.
constexpr const char* kSharedFields[] = {"tgt_vocab_size", "pad_id",     "unk_id",     "bos_id",
                                         "eos_id",         "source_bos", "source_eos", "decoder_start"};

void check_pair(const EnsembleMember& first, const EnsembleMember& other) {
  const std::string both = first.dir + " and " + other.dir + " cannot be ensembled: ";
  const nlohmann::json a = first.config->to_json(), b = other.config->to_json();
  for (const char* field : kSharedFields)
    if (a.at(field) != b.at(field))
      throw Error(both + "'" + field + "' is " + a.at(field).dump() + " in " + first.dir + "/config.json but " +
                  b.at(field).dump() + " in " + other.dir + "/config.json (an ensemble's models must read and "
                  "write the same ids)");
  const text::Vocabulary &va = *first.vocabulary, &vb = *other.vocabulary;
  if (va.size() != vb.size())
    throw Error(both + va.path() + " has " + std::to_string(va.size()) + " pieces but " + vb.path() + " has " +
                std::to_string(vb.size()) + " (an ensemble's models need the same vocabulary)");
  for (int32_t id = 0; id < va.size(); ++id)
    if (va.id_to_piece(id) != vb.id_to_piece(id))
      throw Error(both + "piece " + std::to_string(id) + " is '" + va.id_to_piece(id) + "' in " + va.path() +
                  " but '" + vb.id_to_piece(id) + "' in " + vb.path() +
                  " (an ensemble's models need the same vocabulary)");
}

}  // namespace

void check_ensemble(const std::vector<EnsembleMember>& members) {
  for (size_t i = 1; i < members.size(); ++i) check_pair(members[0], members[i]);
}

}  // namespace transformer
