#include "train/synthetic_dates.h"

#include <cstdio>

#include "core/file_io.h"

namespace transformer {

namespace {

const char* const kOnes[] = {"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                             "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                             "seventeen", "eighteen", "nineteen"};
const char* const kTens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
const char* const kOrdinalOnes[] = {"", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                                    "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
                                    "sixteenth", "seventeenth", "eighteenth", "nineteenth"};
const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};
const int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};  // February: 28, never a leap day

// 1 … 99 in words: "seven", "forty", "forty-two".
std::string number(int n) {
  if (n < 20) return kOnes[n];
  return std::string(kTens[n / 10]) + (n % 10 ? std::string("-") + kOnes[n % 10] : "");
}

// 1 … 31: "first", "twentieth", "twenty-first".
std::string ordinal(int n) {
  if (n < 20) return kOrdinalOnes[n];
  if (n % 10 == 0) return n == 20 ? "twentieth" : "thirtieth";
  return std::string(kTens[n / 10]) + "-" + kOrdinalOnes[n % 10];
}

// As people say years: "nineteen ninety-four", "two thousand", "two thousand
// and three", "twenty twelve".
std::string year_words(int year) {
  if (year < 2000) return "nineteen " + number(year - 1900);
  if (year == 2000) return "two thousand";
  if (year < 2010) return "two thousand and " + number(year - 2000);
  return "twenty " + number(year - 2000);
}

}  // namespace

DatePair random_date(Rng& rng) {
  const int year = 1950 + static_cast<int>(rng.next_u64() % 81);
  const int month = 1 + static_cast<int>(rng.next_u64() % 12);
  const int day = 1 + static_cast<int>(rng.next_u64() % kDaysInMonth[month - 1]);
  const std::string m = kMonths[month - 1], d = ordinal(day), y = year_words(year);
  DatePair pair;
  switch (rng.next_u64() % 3) {
    case 0: pair.words = "the " + d + " of " + m + " " + y; break;
    case 1: pair.words = m + " " + d + ", " + y; break;
    default: pair.words = d + " " + m + " " + y; break;
  }
  char iso[40];  // room for any three ints, which keeps -Wformat-truncation quiet
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02d", year, month, day);
  pair.iso = iso;
  return pair;
}

void write_dates_corpus(const std::string& source_path, const std::string& target_path, int64_t pairs, uint64_t seed) {
  Rng rng(seed);
  std::string source, target;
  for (int64_t i = 0; i < pairs; ++i) {
    const DatePair pair = random_date(rng);
    source += pair.words + "\n";
    target += pair.iso + "\n";
  }
  write_file_atomic(source_path, source);
  write_file_atomic(target_path, target);
}

}  // namespace transformer
