// tests/io/atomic_write_test.cpp — atomic replacement, cleanup on abandon, checksums, mmap.
#include "io/atomic_write.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "core/error.h"
#include "io/checksum.h"
#include "io/mapped_file.h"
#include "io_test_util.h"

namespace bitlm {
namespace {

using testing::HasSubstr;

std::span<const uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

size_t files_in(const std::filesystem::path& dir) {
  return size_t(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()));
}

TEST(AtomicWrite, WritesAndReplacesLeavingNoTempFile) {
  test::TempDir tmp;
  const std::string path = tmp.path("out.bin");
  atomic_write_file(path, bytes_of("first version"));
  EXPECT_EQ(test::read_bytes(path), std::vector<uint8_t>(bytes_of("first version").begin(), bytes_of("first version").end()));
  atomic_write_file(path, bytes_of("v2"));
  EXPECT_EQ(test::read_bytes(path).size(), 2u);
  EXPECT_EQ(files_in(tmp.dir()), 1u);
}

TEST(AtomicWrite, StreamingWriterBuffersSmallAndLargeWrites) {
  test::TempDir tmp;
  const std::string path = tmp.path("stream.bin");
  std::vector<uint8_t> want;
  AtomicFileWriter w(path);
  for (int i = 0; i < 1000; ++i) {  // many small writes, then one larger than the buffer
    const uint8_t b[3] = {uint8_t(i), uint8_t(i >> 8), 7};
    w.write(b, 3);
    want.insert(want.end(), b, b + 3);
  }
  std::vector<uint8_t> big(3 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i * 13);
  w.write(big);
  want.insert(want.end(), big.begin(), big.end());
  w.write_zeros(1000);
  want.resize(want.size() + 1000, 0);
  EXPECT_EQ(w.bytes_written(), want.size());
  EXPECT_FALSE(std::filesystem::exists(path));  // invisible until commit
  w.commit();
  EXPECT_EQ(test::read_bytes(path), want);
}

TEST(AtomicWrite, AbandonedWriterKeepsTheOldFileAndRemovesItsTemp) {
  test::TempDir tmp;
  const std::string path = tmp.path("keep.bin");
  atomic_write_file(path, bytes_of("old"));
  {
    AtomicFileWriter w(path);
    w.write(bytes_of("new content that is never committed"));
    EXPECT_EQ(files_in(tmp.dir()), 2u);
  }
  EXPECT_EQ(test::read_bytes(path).size(), 3u);
  EXPECT_EQ(files_in(tmp.dir()), 1u);
}

// A writer killed mid-write (kill -9) leaves its temp; the next writer of the same path removes
// it, and only it: not the temps of live processes, of other paths, or names of another form.
TEST(AtomicWrite, NextWriterRemovesTheTempsOfDeadWritersOnly) {
  test::TempDir tmp;
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  waitpid(dead, nullptr, 0);  // reaped: its pid runs no process (until reused)
  const std::string d = std::to_string(dead);
  const std::vector<std::string> stale = {"out.bin.tmp." + d + ".0", "out.bin.tmp." + d + ".17"};
  const std::vector<std::string> kept = {"out.bin.tmp." + std::to_string(getpid()) + ".999",  // this process
                                         "out.bin.tmp.1.0",                                     // init: alive
                                         "other.bin.tmp." + d + ".0", "out.bin.tmp." + d,
                                         "out.bin.tmp." + d + ".0.x", "out.bin.tmp.x" + d + ".0"};
  for (const auto& names : {stale, kept})
    for (const std::string& n : names) std::ofstream(tmp.path(n)) << "partial";
  atomic_write_file(tmp.path("out.bin"), bytes_of("whole"));
  for (const std::string& n : stale) EXPECT_FALSE(std::filesystem::exists(tmp.path(n))) << n;
  for (const std::string& n : kept) EXPECT_TRUE(std::filesystem::exists(tmp.path(n))) << n;
  EXPECT_EQ(files_in(tmp.dir()), 1 + kept.size());
}

TEST(AtomicWrite, UnwritableDirectoryIsAnIoErrorNamingThePath) {
  try {
    atomic_write_file("/nonexistent-dir/x.bin", bytes_of("x"));
    FAIL();
  } catch (const IoError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent-dir/x.bin"));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
}

TEST(Checksum, KnownVectorsAndIncremental) {
  EXPECT_EQ(crc32(bytes_of("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32(bytes_of("")), 0u);
  EXPECT_EQ(crc32(bytes_of("The quick brown fox jumps over the lazy dog")), 0x414FA339u);
  EXPECT_EQ(fnv1a64(bytes_of("")), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64(bytes_of("a")), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64(bytes_of("foobar")), 0x85944171f73967e8ull);
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 31 + 7);
  const std::span<const uint8_t> all(data);
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999}) {
    EXPECT_EQ(crc32(all.subspan(cut), crc32(all.first(cut))), crc32(all)) << cut;
    EXPECT_EQ(fnv1a64(all.subspan(cut), fnv1a64(all.first(cut))), fnv1a64(all)) << cut;
  }
  uint32_t bytewise = ~0u;  // slicing-by-8 must equal the one-byte-at-a-time definition
  for (uint8_t b : data) {
    bytewise ^= b;
    for (int k = 0; k < 8; ++k) bytewise = (bytewise & 1) ? 0xEDB88320u ^ (bytewise >> 1) : bytewise >> 1;
  }
  EXPECT_EQ(crc32(all), ~bytewise);
}

TEST(MappedFile, MapsContentEmptyFilesAndReportsErrors) {
  test::TempDir tmp;
  atomic_write_file(tmp.path("a"), bytes_of("hello"));
  const MappedFile m(tmp.path("a"));
  EXPECT_EQ(m.size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), 5), "hello");
  atomic_write_file(tmp.path("empty"), {});
  EXPECT_EQ(MappedFile(tmp.path("empty")).size(), 0u);
  EXPECT_THROW(MappedFile(tmp.path("missing")), IoError);
  EXPECT_THROW(MappedFile(tmp.path("")), IoError);
  try {
    MappedFile m2(tmp.dir().string());
    FAIL();
  } catch (const IoError& e) {
    EXPECT_THAT(e.what(), HasSubstr("Is a directory"));
  }
}

// A model rewritten in place and shortened while mapped: the pages past the new end fault with
// SIGBUS. The CLI's handler names the file and exits 2 instead of dying with a bare "Bus error".
TEST(MappedFileDeathTest, TruncatedWhileMappedIsOneLineAndExitCode2) {
  if (!MappedFile::maps_files()) GTEST_SKIP() << "sanitizer builds read files into the heap instead of mapping them";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  test::TempDir tmp;
  const std::string path = tmp.path("model.gguf");
  atomic_write_file(path, std::vector<uint8_t>(3 * 4096, 1));
  EXPECT_EXIT(
      {
        install_mapped_file_fault_handler();
        const MappedFile m(path);
        std::filesystem::resize_file(path, 4096);
        volatile uint8_t x = m.data()[2 * 4096];
        (void)x;
      },
      testing::ExitedWithCode(2), "model.gguf: the file was truncated or rewritten in place while bitlm was reading it");
}

}  // namespace
}  // namespace bitlm
