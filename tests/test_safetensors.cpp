// safetensors and atomic files: round trips, and each kind of bad file named
// in its error (file and tensor or field).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"

namespace transformer::safetensors {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

// A file with the given JSON header text and `data_bytes` bytes of data.
std::string file_with_header(const std::string& header, size_t data_bytes) {
  const uint64_t n = header.size();
  std::string bytes(reinterpret_cast<const char*>(&n), 8);
  return bytes + header + std::string(data_bytes, '\0');
}

std::string parse_error(const std::string& bytes) {
  try {
    File::parse(bytes, "w.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Safetensors, RoundTrip) {
  Writer w;
  w.add("b.weight", Tensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  w.add("a.bias", Tensor({3}, {-1.5f, 0.0f, 7.25f}));
  w.add("scalar", Tensor(Shape{}, {42.0f}));
  w.add_ints("ids", {2, 2}, {1, -2, 300000000000, 4});
  w.set_metadata("format", "transformer");
  const std::string bytes = w.serialize();
  EXPECT_EQ(bytes, w.serialize());  // deterministic
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  EXPECT_EQ((8 + header) % 8, 0u) << "data starts 8-byte aligned";

  const File f = File::parse(bytes, "mem");
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.tensors()[0].name, "a.bias");  // sorted by name
  EXPECT_EQ(f.load_f32("b.weight", {2, 3}).values(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(f.load_f32("a.bias").values(), (std::vector<float>{-1.5f, 0.0f, 7.25f}));
  EXPECT_EQ(f.load_f32("scalar").numel(), 1);
  Shape shape;
  EXPECT_EQ(f.load_ints("ids", &shape), (std::vector<int64_t>{1, -2, 300000000000, 4}));
  EXPECT_EQ(shape, (Shape{2, 2}));
  EXPECT_EQ(f.metadata().at("format"), "transformer");
}

TEST(Safetensors, ReadsI32Ids) {
  const int32_t ids[] = {7, -1, 3};
  std::string bytes = file_with_header(R"({"x":{"dtype":"I32","shape":[3],"data_offsets":[0,12]}})", 0);
  bytes.append(reinterpret_cast<const char*>(ids), sizeof ids);
  Shape shape;
  EXPECT_EQ(File::parse(bytes, "m").load_ints("x", &shape), (std::vector<int64_t>{7, -1, 3}));
}

TEST(Safetensors, TooShortOrTruncated) {
  EXPECT_THAT(parse_error("abc"), HasSubstr("w.safetensors: 3 bytes is too short"));
  std::string bytes = file_with_header(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16);
  EXPECT_THAT(parse_error(bytes.substr(0, 20)), HasSubstr("truncated"));
  EXPECT_THAT(parse_error(bytes.substr(0, bytes.size() - 1)),
              HasSubstr("w.safetensors: tensor 'x': its data ends at byte 16 but the file holds only 15 bytes"));
}

TEST(Safetensors, ImplausibleHeaderSize) {
  std::string bytes(8, '\xff');
  EXPECT_THAT(parse_error(bytes + "{}"), HasSubstr("is implausible"));
}

TEST(Safetensors, CorruptHeader) {
  EXPECT_THAT(parse_error(file_with_header("{not json", 0)), HasSubstr("w.safetensors: the header is not valid JSON"));
  EXPECT_THAT(parse_error(file_with_header("[1, 2]", 0)), HasSubstr("the header is not a JSON object"));
  EXPECT_THAT(parse_error(file_with_header(R"({"x": 5})", 0)), HasSubstr("tensor 'x': the header entry is not an object"));
  EXPECT_THAT(parse_error(file_with_header(R"({"x":{"dtype":"F32","shape":[1]}})", 4)),
              HasSubstr("tensor 'x': the header entry has no 'data_offsets'"));
  EXPECT_THAT(parse_error(file_with_header(R"({"__metadata__":{"a":1}})", 0)),
              HasSubstr("'__metadata__' field 'a' is not a string"));
}

TEST(Safetensors, DuplicateNames) {
  EXPECT_THAT(parse_error(file_with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                           R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                           8)),
              HasSubstr("the header names 'x' twice"));
}

TEST(Safetensors, BadEntries) {
  auto entry = [](const std::string& fields) { return file_with_header(R"({"w":{)" + fields + "}}", 16); };
  EXPECT_THAT(parse_error(entry(R"("dtype":"F33","shape":[4],"data_offsets":[0,16])")),
              HasSubstr("tensor 'w': unknown dtype 'F33'"));
  EXPECT_THAT(parse_error(entry(R"("dtype":"F32","shape":[-4],"data_offsets":[0,16])")),
              HasSubstr("tensor 'w': 'shape' holds -4"));
  EXPECT_THAT(parse_error(entry(R"("dtype":"F32","shape":"4","data_offsets":[0,16])")),
              HasSubstr("tensor 'w': 'shape' is not an array"));
  EXPECT_THAT(parse_error(entry(R"("dtype":"F32","shape":[4],"data_offsets":[16,0])")),
              HasSubstr("tensor 'w': 'data_offsets' has begin 16 after end 0"));
  EXPECT_THAT(parse_error(entry(R"("dtype":"F32","shape":[3],"data_offsets":[0,16])")),
              HasSubstr("tensor 'w': 'data_offsets' span 16 bytes, but F32 of shape [3] needs 12"));
  EXPECT_THAT(parse_error(entry(R"("dtype":"F32","shape":[4],"data_offsets":[0])")),
              HasSubstr("'data_offsets' is not [begin, end]"));
  EXPECT_THAT(parse_error(entry(R"("dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16])")),
              HasSubstr("is too large"));
}

TEST(Safetensors, OverlappingTensors) {
  EXPECT_THAT(parse_error(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                           12)),
              HasSubstr("tensor 'b': its data overlaps tensor 'a'"));
}

TEST(Safetensors, WrongDtypeOrShapeOnLoad) {
  Writer w;
  w.add("f", Tensor({2}, {1, 2}));
  w.add_ints("i", {2}, {1, 2});
  const File f = File::parse(w.serialize(), "m.safetensors");
  EXPECT_THROW(f.load_f32("missing"), Error);
  try {
    f.load_f32("i");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("m.safetensors: tensor 'i' has dtype I64, expected F32"));
  }
  try {
    f.load_f32("f", {3});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("m.safetensors: tensor 'f' has shape [2], expected [3]"));
  }
  Shape s;
  EXPECT_THROW(f.load_ints("f", &s), Error);
}

class AtomicFile : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/transformer-io-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AtomicFile, WritesAndReplacesLeavingNoTemporary) {
  const std::string path = dir_ + "/f.bin";
  write_file_atomic(path, "first");
  write_file_atomic(path, std::string("sec\0nd", 6));
  EXPECT_EQ(read_file(path), std::string("sec\0nd", 6));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(AtomicFile, FailedWriteLeavesThePreviousFileIntact) {
  const std::string path = dir_ + "/f.bin";
  write_file_atomic(path, "keep me");
  // Renaming a file over a non-empty directory fails after the data is
  // written: the same path as a crash between write and rename.
  fs::create_directory(dir_ + "/d");
  write_file_atomic(dir_ + "/d/x", "x");
  EXPECT_THROW(write_file_atomic(dir_ + "/d", "data"), Error);
  EXPECT_EQ(read_file(path), "keep me");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2) << "no temporary left";
  try {
    write_file_atomic(dir_ + "/no/such/dir/f", "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir_ + "/no/such/dir/f: cannot write"));
  }
}

TEST(ReadFile, MissingAndDirectory) {
  try {
    read_file("/nonexistent/x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/x: cannot open: No such file or directory"));
  }
  EXPECT_THROW(read_file("/tmp"), Error);
}

}  // namespace
}  // namespace transformer::safetensors
