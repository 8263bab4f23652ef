// safetensors and atomic files: round trips, byte-exact output, and each kind
// of bad file named in its error (the file, then the tensor or field).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"

namespace transformer::safetensors {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

// A file with the given JSON header text (unpadded, as any writer may produce)
// and `data_bytes` zero bytes of data.
std::string file_with_header(const std::string& header, size_t data_bytes) {
  const uint64_t n = header.size();
  std::string bytes(reinterpret_cast<const char*>(&n), 8);
  return bytes + header + std::string(data_bytes, '\0');
}

// The message of the Error that parsing throws, or "(no error)".
std::string parse_error(const std::string& bytes) {
  try {
    File::parse(bytes, "w.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The error for a file whose only tensor 'w' has the given header fields and
// 16 bytes of data.
std::string entry_error(const std::string& fields) {
  return parse_error(file_with_header(R"({"w":{)" + fields + "}}", 16));
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
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
  w.add("empty", Tensor(Shape{2, 0}));
  w.add_ints("ids", {2, 2}, {1, -2, 300000000000, 4});
  w.set_metadata("format", "transformer");
  const std::string bytes = w.serialize();
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  EXPECT_EQ((8 + header) % 8, 0u) << "data starts 8-byte aligned";

  const File f = File::parse(bytes, "mem");
  ASSERT_EQ(f.tensors().size(), 5u);
  EXPECT_EQ(f.tensors()[0].name, "a.bias");  // sorted by name
  EXPECT_TRUE(f.contains("ids"));
  EXPECT_FALSE(f.contains("format"));
  EXPECT_EQ(f.load_f32("b.weight", {2, 3}).values(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(f.load_f32("a.bias").values(), (std::vector<float>{-1.5f, 0.0f, 7.25f}));
  EXPECT_EQ(f.load_f32("scalar").values(), std::vector<float>{42.0f});
  EXPECT_EQ(f.load_f32("empty").shape(), (Shape{2, 0}));
  Shape shape;
  EXPECT_EQ(f.load_ints("ids", &shape), (std::vector<int64_t>{1, -2, 300000000000, 4}));
  EXPECT_EQ(shape, (Shape{2, 2}));
  EXPECT_EQ(f.info("ids").dtype, "I64");
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "transformer"}}));
}

TEST(Safetensors, ByteExactAndIndependentOfInsertionOrder) {
  Writer a, b;
  a.add("y", Tensor({1}, {2.0f}));
  a.add("x", Tensor({1}, {1.0f}));
  a.set_metadata("k", "v");
  b.set_metadata("k", "v");
  b.add("x", Tensor({1}, {1.0f}));
  b.add("y", Tensor({1}, {2.0f}));
  EXPECT_EQ(a.serialize(), b.serialize());

  const std::string header = R"({"__metadata__":{"k":"v"},)"
                             R"("x":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},)"
                             R"("y":{"data_offsets":[4,8],"dtype":"F32","shape":[1]}})";
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  const float values[] = {1.0f, 2.0f};
  EXPECT_EQ(a.serialize(), file_with_header(padded, 0) + std::string(reinterpret_cast<const char*>(values), 8));
}

TEST(Safetensors, ReadsI32Ids) {
  const int32_t ids[] = {7, -1, 3};
  std::string bytes = file_with_header(R"({"x":{"dtype":"I32","shape":[3],"data_offsets":[0,12]}})", 0);
  bytes.append(reinterpret_cast<const char*>(ids), sizeof ids);
  Shape shape;
  EXPECT_EQ(File::parse(bytes, "m").load_ints("x", &shape), (std::vector<int64_t>{7, -1, 3}));
  EXPECT_EQ(shape, Shape{3});
}

TEST(Safetensors, WritesAndReadsAFile) {
  char tmpl[] = "/tmp/transformer-st-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/model.safetensors";
  Writer w;
  w.add("x", Tensor({2}, {3, 4}));
  w.write(path);
  const File f = File::read(path);
  EXPECT_EQ(f.source(), path);
  EXPECT_EQ(f.load_f32("x").values(), (std::vector<float>{3, 4}));
  EXPECT_THAT(error_of([&] { f.info("nope"); }), HasSubstr(path + ": no tensor 'nope'"));
  EXPECT_THAT(error_of([&] { File::read(dir + "/missing.safetensors"); }),
              HasSubstr(dir + "/missing.safetensors: cannot open"));
  fs::remove_all(dir);
}

TEST(Safetensors, TooShort) {
  EXPECT_THAT(parse_error("abc"), HasSubstr("w.safetensors: 3 bytes is too short"));
}

TEST(Safetensors, HeaderLargerThanFile) {
  const std::string bytes = file_with_header(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16);
  EXPECT_THAT(parse_error(bytes.substr(0, 20)), HasSubstr("w.safetensors: the header needs"));
  EXPECT_THAT(parse_error(bytes.substr(0, 20)), HasSubstr("truncated"));
}

TEST(Safetensors, ImplausibleHeaderSize) {
  const std::string bytes(8, '\xff');
  EXPECT_THAT(parse_error(bytes + "{}"), HasSubstr("w.safetensors: header size 18446744073709551615 is implausible"));
}

TEST(Safetensors, TruncatedData) {
  const std::string bytes = file_with_header(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16);
  EXPECT_THAT(parse_error(bytes.substr(0, bytes.size() - 1)),
              HasSubstr("w.safetensors: tensor 'x': its data ends at byte 16 but the file holds only 15 bytes of data "
                        "(truncated?)"));
}

TEST(Safetensors, HeaderNotJsonOrNotAnObject) {
  EXPECT_THAT(parse_error(file_with_header("{not json", 0)), HasSubstr("w.safetensors: the header is not valid JSON"));
  EXPECT_THAT(parse_error(file_with_header("[1, 2]", 0)), HasSubstr("w.safetensors: the header is not a JSON object"));
}

TEST(Safetensors, EntryNotAnObject) {
  EXPECT_THAT(parse_error(file_with_header(R"({"x": 5})", 0)),
              HasSubstr("w.safetensors: tensor 'x': the header entry is not an object"));
}

TEST(Safetensors, MissingFields) {
  EXPECT_THAT(entry_error(R"("shape":[4],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': the header entry has no 'dtype'"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': the header entry has no 'shape'"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4])"),
              HasSubstr("w.safetensors: tensor 'w': the header entry has no 'data_offsets'"));
}

TEST(Safetensors, UnknownField) {
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4],"data_offsets":[0,16],"offset":0)"),
              HasSubstr("w.safetensors: tensor 'w': unknown field 'offset'"));
}

TEST(Safetensors, WrongFieldTypes) {
  EXPECT_THAT(entry_error(R"("dtype":4,"shape":[4],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': 'dtype' is not a string"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":"4","data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': 'shape' is not an array"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4.0],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': 'shape' holds 4.0, not a non-negative integer"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4],"data_offsets":"0-16")"),
              HasSubstr("w.safetensors: tensor 'w': 'data_offsets' is not [begin, end]"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4],"data_offsets":[0,16.5])"),
              HasSubstr("w.safetensors: tensor 'w': 'data_offsets' is not [begin, end]"));
}

TEST(Safetensors, NegativeDimension) {
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[-4],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': 'shape' holds -4, not a non-negative integer"));
}

TEST(Safetensors, ShapeProductOverflow) {
  // 2^62 * 4 elements: the element count alone overflows 64 bits once
  // multiplied by the element size.
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': 'shape' [4611686018427387904,4] is too large"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': 'shape' [18446744073709551615] is too large"));
}

TEST(Safetensors, UnknownDtype) {
  EXPECT_THAT(entry_error(R"("dtype":"F33","shape":[4],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': unknown dtype 'F33'"));
}

TEST(Safetensors, BadDataOffsets) {
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4],"data_offsets":[0])"),
              HasSubstr("w.safetensors: tensor 'w': 'data_offsets' is not [begin, end]"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4],"data_offsets":[-4,12])"),
              HasSubstr("w.safetensors: tensor 'w': 'data_offsets' is not [begin, end]"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4],"data_offsets":[16,0])"),
              HasSubstr("w.safetensors: tensor 'w': 'data_offsets' has begin 16 after end 0"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[4],"data_offsets":[8,24])"),
              HasSubstr("w.safetensors: tensor 'w': its data ends at byte 24 but the file holds only 16"));
}

TEST(Safetensors, ByteLengthDisagreesWithShape) {
  EXPECT_THAT(entry_error(R"("dtype":"F32","shape":[3],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': 'data_offsets' span 16 bytes, but F32 of shape [3] needs 12"));
  EXPECT_THAT(entry_error(R"("dtype":"I64","shape":[4],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': 'data_offsets' span 16 bytes, but I64 of shape [4] needs 32"));
}

TEST(Safetensors, OverlappingTensors) {
  EXPECT_THAT(parse_error(file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                           12)),
              HasSubstr("w.safetensors: tensor 'b': its data overlaps tensor 'a'"));
  // 'c' lies inside 'a' even though the empty 'b' starts between them.
  EXPECT_THAT(parse_error(file_with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                           R"("b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                                           R"("c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                           16)),
              HasSubstr("w.safetensors: tensor 'c': its data overlaps tensor 'a'"));
}

TEST(Safetensors, EmptyTensorsOverlapNothing) {
  const std::string bytes = file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                             R"("b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                                             R"("c":{"dtype":"I64","shape":[0,3],"data_offsets":[4,4]}})",
                                             8);
  EXPECT_EQ(parse_error(bytes), "(no error)");
}

TEST(Safetensors, DuplicateNames) {
  EXPECT_THAT(parse_error(file_with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                           R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                           8)),
              HasSubstr("w.safetensors names 'x' twice"));
  EXPECT_THAT(entry_error(R"("dtype":"F32","dtype":"I64","shape":[2],"data_offsets":[0,16])"),
              HasSubstr("w.safetensors: tensor 'w': the header entry names 'dtype' twice"));
}

TEST(Safetensors, BadMetadata) {
  EXPECT_THAT(parse_error(file_with_header(R"({"__metadata__":{"a":1}})", 0)),
              HasSubstr("w.safetensors: '__metadata__': field 'a': expected a string, got 1"));
  EXPECT_THAT(parse_error(file_with_header(R"({"__metadata__":["a"]})", 0)),
              HasSubstr("w.safetensors: '__metadata__' is not an object"));
}

TEST(Safetensors, KnownDtypesThatCannotBeLoaded) {
  const File f = File::parse(file_with_header(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                                              R"("f":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                              8),
                             "m.safetensors");
  EXPECT_THAT(error_of([&] { f.load_f32("h"); }), HasSubstr("m.safetensors: tensor 'h' has dtype F16, expected F32"));
  Shape shape;
  EXPECT_THAT(error_of([&] { f.load_ints("f", &shape); }),
              HasSubstr("m.safetensors: tensor 'f' has dtype F32, expected I64 or I32"));
}

TEST(Safetensors, WrongDtypeOrShapeOnLoad) {
  Writer w;
  w.add("f", Tensor({2}, {1, 2}));
  w.add_ints("i", {2}, {1, 2});
  const File f = File::parse(w.serialize(), "m.safetensors");
  EXPECT_THAT(error_of([&] { f.load_f32("missing"); }), HasSubstr("m.safetensors: no tensor 'missing'"));
  EXPECT_THAT(error_of([&] { f.load_f32("i"); }), HasSubstr("m.safetensors: tensor 'i' has dtype I64, expected F32"));
  EXPECT_THAT(error_of([&] { f.load_f32("f", {3}); }),
              HasSubstr("m.safetensors: tensor 'f' has shape [2], expected [3]"));
}

// Quantized weights (docs/FORMATS.md): I8 and BF16 written and read back
// byte for byte, and each checked for its dtype and shape when loaded.
TEST(Safetensors, I8AndBf16RoundTripAndAreChecked) {
  Writer w;
  w.add_i8("q", {2, 3}, {-127, -1, 0, 1, 2, 127});
  w.add_bf16("b", {2}, {0x3F80, 0xC000});
  w.add("f", Tensor({2}, {1, 2}));
  const File f = File::parse(w.serialize(), "m.safetensors");
  EXPECT_EQ(f.info("q").dtype, "I8");
  EXPECT_EQ(f.info("b").dtype, "BF16");
  EXPECT_EQ(f.load_i8("q", {2, 3}), (std::vector<int8_t>{-127, -1, 0, 1, 2, 127}));
  EXPECT_EQ(f.load_bf16("b", {2}), (std::vector<uint16_t>{0x3F80, 0xC000}));
  EXPECT_THAT(error_of([&] { f.load_i8("b", {2}); }), HasSubstr("m.safetensors: tensor 'b' has dtype BF16, expected I8"));
  EXPECT_THAT(error_of([&] { f.load_bf16("f", {2}); }), HasSubstr("m.safetensors: tensor 'f' has dtype F32, expected BF16"));
  EXPECT_THAT(error_of([&] { f.load_i8("q", {3, 2}); }),
              HasSubstr("m.safetensors: tensor 'q' has shape [2, 3], expected [3, 2]"));
  EXPECT_THAT(error_of([&] { f.load_f32("q"); }), HasSubstr("m.safetensors: tensor 'q' has dtype I8, expected F32"));
  // The header's byte span must fit the dtype: 2 bytes per BF16, 1 per I8.
  EXPECT_THAT(entry_error(R"("dtype":"BF16","shape":[3],"data_offsets":[0,4])"),
              HasSubstr("'data_offsets' span 4 bytes, but BF16 of shape [3] needs 6"));
  EXPECT_THAT(entry_error(R"("dtype":"I8","shape":[2,2],"data_offsets":[0,5])"),
              HasSubstr("'data_offsets' span 5 bytes, but I8 of shape [2, 2] needs 4"));
  EXPECT_THAT(error_of([&] { w.add_i8("q", {2, 2}, {1, 2, 3}); }), HasSubstr("tensor 'q' of shape [2, 2] cannot hold 3 values"));
}

TEST(Safetensors, WriterRejectsWhatCannotBeWritten) {
  Writer w;
  EXPECT_THAT(error_of([&] { w.add("__metadata__", Tensor({1}, {1})); }), HasSubstr("'__metadata__' cannot name"));
  EXPECT_THAT(error_of([&] { w.add_ints("ids", {2, 2}, {1, 2, 3}); }),
              HasSubstr("tensor 'ids' of shape [2, 2] cannot hold 3 values"));
  w.set_metadata("path", "\xff\xfe");
  EXPECT_THAT(error_of([&] { w.serialize(); }), HasSubstr("cannot write the header"));
}

class AtomicFile : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/transformer-io-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Entries in the test directory: a leftover temporary shows up here.
  size_t entries() const { return std::distance(fs::directory_iterator(dir_), fs::directory_iterator()); }
  std::string dir_;
};

TEST_F(AtomicFile, WritesAndReplacesLeavingNoTemporary) {
  const std::string path = dir_ + "/f.bin";
  write_file_atomic(path, "first");
  EXPECT_EQ(read_file(path), "first");
  write_file_atomic(path, std::string("sec\0nd", 6));
  EXPECT_EQ(read_file(path), std::string("sec\0nd", 6));
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFile, MissingDirectory) {
  EXPECT_THAT(error_of([&] { write_file_atomic(dir_ + "/no/such/dir/f", "x"); }),
              HasSubstr(dir_ + "/no/such/dir/f: cannot write: No such file or directory"));
  EXPECT_EQ(entries(), 0u);
}

TEST_F(AtomicFile, FailedRenameLeavesThePreviousFileIntact) {
  // Renaming a file over a non-empty directory fails after the data is
  // written and synced: the last step that can fail.
  const std::string target = dir_ + "/d";
  fs::create_directory(target);
  write_file_atomic(target + "/keep", "keep me");
  EXPECT_THAT(error_of([&] { write_file_atomic(target, "data"); }), HasSubstr(target + ": cannot replace: "));
  EXPECT_EQ(read_file(target + "/keep"), "keep me");
  EXPECT_EQ(entries(), 1u) << "no temporary left";
}

TEST_F(AtomicFile, FailedWriteLeavesThePreviousFileIntact) {
  const std::string path = dir_ + "/f.bin";
  write_file_atomic(path, "keep me");
  // A file size limit makes write() fail part way (EFBIG), like a full disk,
  // and unlike a read-only directory it holds for root too.
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills us instead of failing write()
  rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string error = error_of([&] { write_file_atomic(path, std::string(1 << 20, 'x')); });
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_THAT(error, HasSubstr(path + ": cannot write: File too large"));
  EXPECT_EQ(read_file(path), "keep me");
  EXPECT_EQ(entries(), 1u) << "no temporary left";
}

TEST_F(AtomicFile, WritesThroughALinkToTheFileItPointsTo) {
  // Replacing the link itself would leave the file it names as it was:
  // `--html /dev/stdout > page.html` would lose the page.
  fs::create_directory(dir_ + "/real");
  write_file_atomic(dir_ + "/real/f", "old");
  fs::create_symlink("real/f", dir_ + "/relative");
  fs::create_symlink(dir_ + "/relative", dir_ + "/chain");  // a link to a link
  write_file_atomic(dir_ + "/chain", "new");
  EXPECT_EQ(read_file(dir_ + "/real/f"), "new");
  EXPECT_TRUE(fs::is_symlink(dir_ + "/chain"));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/relative"));
  // A dangling link: the file it names is created.
  fs::create_symlink("real/g", dir_ + "/dangling");
  write_file_atomic(dir_ + "/dangling", "made");
  EXPECT_EQ(read_file(dir_ + "/real/g"), "made");
  EXPECT_TRUE(fs::is_symlink(dir_ + "/dangling"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ + "/real"), fs::directory_iterator()), 2) << "no temporary left";
}

TEST_F(AtomicFile, DevicesAndFifosAreWrittenInPlaceAndChecked) {
  // Through links in the test's directory: a regression that replaced the
  // path would replace a link, never the machine's devices.
  fs::create_symlink("/dev/full", dir_ + "/full");
  fs::create_symlink("/dev/null", dir_ + "/null");
  EXPECT_EQ(error_of([&] { write_file_atomic(dir_ + "/full", "x"); }),
            dir_ + "/full: cannot write: No space left on device");
  write_file_atomic(dir_ + "/null", "x");
  EXPECT_EQ(fs::read_symlink(dir_ + "/full"), "/dev/full");
  EXPECT_EQ(fs::read_symlink(dir_ + "/null"), "/dev/null");
  EXPECT_TRUE(fs::is_character_file("/dev/full"));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));

  // A FIFO (a pipe, as /dev/stdout may be): the reader gets the bytes.
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_file(fifo); });
  write_file_atomic(fifo, "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(entries(), 3u) << "no temporary left";
}

TEST(AppendFile, AppendsAndNamesAFailedWrite) {
  char tmpl[] = "/tmp/transformer-append-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    AppendFile log(dir + "/log");
    log.append("one\n");
    log.append("two\n");
  }
  AppendFile(dir + "/log").append("three\n");
  EXPECT_EQ(read_file(dir + "/log"), "one\ntwo\nthree\n");
  fs::create_symlink("/dev/full", dir + "/full");
  AppendFile full(dir + "/full");
  EXPECT_EQ(error_of([&] { full.append("x\n"); }), dir + "/full: cannot write: No space left on device");
  EXPECT_THAT(error_of([&] { AppendFile(dir + "/no/such/dir/log"); }),
              HasSubstr(dir + "/no/such/dir/log: cannot open for writing: No such file or directory"));
  fs::remove_all(dir);
}

TEST(ReadFile, MissingAndDirectory) {
  EXPECT_THAT(error_of([] { read_file("/nonexistent/x"); }),
              HasSubstr("/nonexistent/x: cannot open: No such file or directory"));
  EXPECT_THAT(error_of([] { read_file("/tmp"); }), HasSubstr("/tmp: cannot read: is a directory"));
}

}  // namespace
}  // namespace transformer::safetensors
