// The demo's synthetic task and the demo itself, end to end (briefly).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <regex>

#include "core/file_io.h"
#include "train/synthetic_dates.h"
#include "support/run_cli.h"

namespace transformer {
namespace {

namespace fs = std::filesystem;

TEST(SyntheticDates, WordsAndIsoDateAgree) {
  const char* months[] = {"January", "February", "March",     "April",   "May",      "June",
                          "July",    "August",   "September", "October", "November", "December"};
  const std::regex iso(R"((\d{4})-(\d{2})-(\d{2}))");
  Rng rng(3);
  for (int i = 0; i < 2000; ++i) {
    const DatePair p = random_date(rng);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(p.iso, m, iso)) << p.iso;
    const int year = std::stoi(m[1]), month = std::stoi(m[2]), day = std::stoi(m[3]);
    EXPECT_GE(year, 1950);
    EXPECT_LE(year, 2030);
    ASSERT_GE(month, 1);
    ASSERT_LE(month, 12);
    EXPECT_GE(day, 1);
    EXPECT_LE(day, 31);
    EXPECT_NE(p.words.find(months[month - 1]), std::string::npos) << p.words << " → " << p.iso;
  }
  Rng a(5), b(5);
  EXPECT_EQ(random_date(a).words, random_date(b).words);  // seeded
}

TEST(SyntheticDates, SpellsYearsAsPeopleSayThem) {
  // Every spelling of a known date, found by drawing until each appears.
  Rng rng(11);
  bool seen_1994 = false, seen_2003 = false, seen_2000 = false, seen_2025 = false;
  for (int i = 0; i < 20000; ++i) {
    const DatePair p = random_date(rng);
    const std::string y = p.iso.substr(0, 4);
    if (y == "1994") seen_1994 = seen_1994 || p.words.find("nineteen ninety-four") != std::string::npos;
    if (y == "2003") seen_2003 = seen_2003 || p.words.find("two thousand and three") != std::string::npos;
    if (y == "2000") seen_2000 = seen_2000 || p.words.find("two thousand") != std::string::npos;
    if (y == "2025") seen_2025 = seen_2025 || p.words.find("twenty twenty-five") != std::string::npos;
  }
  EXPECT_TRUE(seen_1994 && seen_2003 && seen_2000 && seen_2025);
}

TEST(Demo, TrainsTranslatesAndWritesTheExplorerPage) {
  char tmpl[] = "/tmp/transformer-demo-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const auto [exit_code, output] = test_support::run_cli("demo --minutes 0.1 --out " + dir + "/run");
  ASSERT_EQ(exit_code, 0) << output;
  EXPECT_THAT(output, testing::HasSubstr("== 4. translating"));
  EXPECT_THAT(output, testing::HasSubstr("the twenty-first of June nineteen ninety-four    → "));
  const std::string page = read_file(dir + "/run/explain.html");
  EXPECT_THAT(page, testing::HasSubstr("id=\"explain-record\""));
  EXPECT_THAT(page, testing::HasSubstr("\"format\":\"transformer-explain\""));
  EXPECT_TRUE(fs::exists(dir + "/run/model/model.safetensors"));
  // The page shows its model learning: the probe of its own sentence, from
  // the untrained model on, and the training curves, inside the page.
  const std::string probes = read_file(dir + "/run/model/probes.jsonl");
  EXPECT_THAT(probes, testing::StartsWith("{\"probes\":[{\"attention\":"));
  EXPECT_THAT(probes, testing::HasSubstr("\"step\":0}"));
  EXPECT_THAT(page, testing::HasSubstr("<script id=\"model-info\" type=\"application/json\">"));
  EXPECT_THAT(page, testing::HasSubstr("\"probes\":[{\"probes\":[{\"attention\":"));
  EXPECT_THAT(page, testing::HasSubstr("\"metrics\":[{"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace transformer
