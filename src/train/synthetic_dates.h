// A translation task that needs no download: dates written out in English
// words ("the twenty-first of June nineteen ninety-four", "June
// twenty-first, two thousand and three") → ISO dates ("1994-06-21"). A small
// model learns it in about two minutes on a CPU, and its encoder-decoder
// attention is easy to read: the year's digits look at the year's words, the
// month's at the month, the day's at the ordinal. The demo trains on it.
#pragma once

#include <cstdint>
#include <string>

#include "core/random.h"

namespace transformer {

struct DatePair {
  std::string words;  // source
  std::string iso;    // target, YYYY-MM-DD
};

// One date between 1950-01-01 and 2030-12-28 in one of three spellings.
DatePair random_date(Rng& rng);

// Writes `pairs` aligned lines to source_path and target_path.
void write_dates_corpus(const std::string& source_path, const std::string& target_path, int64_t pairs, uint64_t seed);

}  // namespace transformer
