// The shared reader of JSON fields from files (core/json_fields.h): every
// wrong type, range or missing field is one Error naming the source and the
// field, never a parser exception. The readers that use it (config.json,
// checkpoint metadata, the safetensors header) are tested in their suites.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"
#include "core/json_fields.h"

namespace transformer {
namespace {

using nlohmann::json;
using testing::HasSubstr;
using testing::StrEq;

std::string field_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("a bare exception escaped: ") + e.what();
  }
  return "(no error)";
}

TEST(JsonFields, ParseErrorsNameTheSource) {
  EXPECT_THAT(field_error_of([] { parse_json("{\"a\": ", "f.json"); }), HasSubstr("f.json: not valid JSON ("));
  // A number beyond double: nlohmann's out_of_range, not a parse_error.
  EXPECT_THAT(field_error_of([] { parse_json("{\"a\": 1e400}", "f.json"); }), HasSubstr("f.json: not valid JSON ("));
  EXPECT_EQ(parse_json("{\"a\": 2}", "f.json")["a"], 2);
}

TEST(JsonFields, IntegersAreCheckedForTypeAndRange) {
  const auto integer = [](const std::string& text, int64_t min, int64_t max) {
    return field_error_of([&] { json_integer(json::parse(text), "f.json", "n", min, max); });
  };
  constexpr int64_t lowest = std::numeric_limits<int64_t>::min(), highest = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(integer("\"3\"", lowest, highest), StrEq("f.json: field 'n': expected an integer, got \"3\""));
  EXPECT_THAT(integer("3.0", lowest, highest), StrEq("f.json: field 'n': expected an integer, got 3.0"));
  EXPECT_THAT(integer("null", lowest, highest), StrEq("f.json: field 'n': expected an integer, got null"));
  EXPECT_THAT(integer("-1", 0, highest), StrEq("f.json: field 'n': expected an integer of at least 0, got -1"));
  EXPECT_THAT(integer("0", 1, highest), StrEq("f.json: field 'n': expected an integer of at least 1, got 0"));
  EXPECT_THAT(integer("5", lowest, 4), StrEq("f.json: field 'n': expected an integer of at most 4, got 5"));
  EXPECT_THAT(integer("9", 1, 8), StrEq("f.json: field 'n': expected an integer from 1 to 8, got 9"));
  // Above int64: refused rather than wrapped to -1.
  EXPECT_THAT(integer("18446744073709551615", lowest, highest),
              StrEq("f.json: field 'n': expected an integer, got 18446744073709551615"));
  EXPECT_EQ(json_integer(json::parse("9223372036854775807"), "f", "n"), highest);
  EXPECT_EQ(json_integer(json::parse("-9223372036854775808"), "f", "n"), lowest);
  EXPECT_EQ(json_integer(json(8), "f", "n", 1, 8), 8);
  EXPECT_EQ(json_integer(json(-3), "f", "n", -3, -1), -3);
  EXPECT_THAT(integer("2", -3, -1), StrEq("f.json: field 'n': expected an integer from -3 to -1, got 2"));
}

TEST(JsonFields, OtherTypes) {
  EXPECT_THAT(field_error_of([] { json_number(json("1"), "f", "x"); }), StrEq("f: field 'x': expected a number, got \"1\""));
  EXPECT_EQ(json_number(json(2), "f", "x"), 2.0);
  EXPECT_THAT(field_error_of([] { json_bool(json(0), "f", "b"); }), StrEq("f: field 'b': expected true or false, got 0"));
  EXPECT_THAT(field_error_of([] { json_string(json::array({1}), "f", "s"); }),
              StrEq("f: field 's': expected a string, got [1]"));
}

TEST(JsonFields, Unsigned64BitIntegersAsDecimalStrings) {
  EXPECT_EQ(json_u64_string(json("18446744073709551615"), "f", "r"), 18446744073709551615u);
  EXPECT_EQ(json_u64_string(json("0"), "f", "r"), 0u);
  const std::string expected = "f: field 'r': expected a string of decimal digits (an unsigned 64-bit integer), got ";
  for (const json& bad : {json(12), json(""), json("18446744073709551616"), json("-1"), json("+1"), json(" 1"),
                          json("1 "), json("0x10"), json("1e3")}) {
    SCOPED_TRACE(bad.dump());
    EXPECT_THAT(field_error_of([&] { json_u64_string(bad, "f", "r"); }), StrEq(expected + bad.dump()));
  }
}

TEST(JsonFields, ObjectsNameTheirSourceAndMissingFields) {
  EXPECT_THAT(field_error_of([] { JsonObject(json::array(), "ckpt: metadata 'progress'"); }),
              StrEq("ckpt: metadata 'progress': expected a JSON object, got []"));
  const JsonObject o(json{{"step", "ten"}, {"loss", 0.5}}, "ckpt: metadata 'progress'");
  EXPECT_TRUE(o.has("step"));
  EXPECT_FALSE(o.has("epoch"));
  EXPECT_THAT(field_error_of([&] { o.integer("epoch"); }), StrEq("ckpt: metadata 'progress': field 'epoch' is missing"));
  EXPECT_THAT(field_error_of([&] { o.integer("step", 0); }),
              StrEq("ckpt: metadata 'progress': field 'step': expected an integer of at least 0, got \"ten\""));
  EXPECT_EQ(o.number("loss"), 0.5);
  // The object is a copy: reading from one made of a temporary is safe.
  const JsonObject from_temporary(json::parse("{\"a\": 1}"), "t");
  EXPECT_EQ(from_temporary.integer("a"), 1);
}

TEST(JsonFields, LongValuesAreQuotedShortAndWholeCharactersOnly) {
  // 79 ASCII bytes and then 'é' (2 bytes) straddles the cut at 80.
  const std::string value = std::string(78, 'a') + "é" + std::string(100, 'b');
  const std::string message = field_error_of([&] { json_integer(json(value), "f", "n"); });
  EXPECT_THAT(message, StrEq("f: field 'n': expected an integer, got \"" + std::string(78, 'a') + "…"));
}

}  // namespace
}  // namespace transformer
