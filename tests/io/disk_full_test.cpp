// tests/io/disk_full_test.cpp — the writers when the disk fills up mid-file (RLIMIT_FSIZE stands in
// for a full disk: fault_util.h): an IoError naming the file and the cause, the previous file
// byte-for-byte intact, and no temporary file left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/ggml_types.h"
#include "fault_util.h"
#include "io/atomic_write.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace bitlm {
namespace {

using testing::HasSubstr;

size_t files_in(const std::filesystem::path& dir) {
  return size_t(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()));
}

// Runs `write` (which replaces `path`) with a 64 KiB file-size limit and checks the failure.
template <class Fn>
void expect_disk_full_keeps_old_file(const test::TempDir& tmp, const std::string& path, Fn&& write) {
  const std::vector<uint8_t> before = test::read_bytes(path);
  ASSERT_FALSE(before.empty());
  {
    test::FileSizeLimit limit(64 << 10);
    try {
      write();
      ADD_FAILURE() << "the write past the limit succeeded";
    } catch (const IoError& e) {
      EXPECT_THAT(e.what(), HasSubstr(path));
      EXPECT_THAT(e.what(), HasSubstr("File too large"));
    }
  }
  EXPECT_EQ(test::read_bytes(path), before) << "the previous file changed";
  EXPECT_EQ(files_in(tmp.dir()), 1u) << "a temporary file was left behind";
}

TEST(DiskFull, AtomicWriterFailsAndKeepsThePreviousFile) {
  test::TempDir tmp;
  const std::string path = tmp.path("out.bin");
  atomic_write_file(path, std::vector<uint8_t>(1000, 7));
  expect_disk_full_keeps_old_file(tmp, path, [&] { atomic_write_file(path, std::vector<uint8_t>(3 << 20, 1)); });
  // Small writes buffered until commit fail there, at the flush.
  expect_disk_full_keeps_old_file(tmp, path, [&] {
    AtomicFileWriter w(path);
    for (int i = 0; i < 100; ++i) w.write(std::vector<uint8_t>(1000, uint8_t(i)));
    w.commit();
  });
}

TEST(DiskFull, GgufWriterFailsAndKeepsThePreviousFile) {
  test::TempDir tmp;
  const std::string path = tmp.path("model.gguf");
  auto writer = [](size_t n_floats) {
    GgufWriter w;
    w.set("general.architecture", GgufValue::string("bitnet"));
    w.add_tensor("t", {uint64_t(n_floats)}, kGgmlF32, std::vector<uint8_t>(n_floats * 4, 0x3f));
    return w;
  };
  writer(16).write(path);
  ASSERT_NO_THROW(GgufFile::open(path));
  expect_disk_full_keeps_old_file(tmp, path, [&] { writer(1 << 20).write(path); });
  EXPECT_EQ(GgufFile::open(path)->tensors()[0].ne[0], 16u);
}

TEST(DiskFull, SafetensorsWriterFailsAndKeepsThePreviousFile) {
  test::TempDir tmp;
  const std::string path = tmp.path("t.safetensors");
  auto writer = [](size_t n_floats) {
    SafetensorsWriter w;
    w.add_f32("x", {uint64_t(n_floats)}, std::vector<float>(n_floats, 1.5f));
    return w;
  };
  writer(16).write(path);
  expect_disk_full_keeps_old_file(tmp, path, [&] { writer(1 << 20).write(path); });
  EXPECT_EQ(SafetensorsFile::open(path)->read_f32("x").size(), 16u);
}

}  // namespace
}  // namespace bitlm
