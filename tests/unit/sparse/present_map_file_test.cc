#include "cache/sparse/present_map_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace s3nbd {
namespace {

PresentMapImage Sample() {
  PresentMapImage image;
  for (int i = 0; i < 16; i++) image.volume_uuid[i] = static_cast<uint8_t>(i * 3);
  image.writer_token = NewWriterToken();
  image.block_count = 130;
  image.words = {0x8000000000000001ull, 0, 0x3};
  return image;
}

TEST(PresentMapFileTest, RoundTripAndTokens) {
  PresentMapImage image = Sample();
  EXPECT_EQ(image.writer_token.size(), 32u);
  EXPECT_NE(image.writer_token, NewWriterToken());
  auto back = DecodePresentMap(EncodePresentMap(image));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->volume_uuid, image.volume_uuid);
  EXPECT_EQ(back->writer_token, image.writer_token);
  EXPECT_EQ(back->block_count, 130u);
  EXPECT_EQ(back->words, image.words);
}

TEST(PresentMapFileTest, RejectsDamage) {
  std::string bytes = EncodePresentMap(Sample());
  for (size_t i = 0; i < bytes.size(); i++) {
    std::string t = bytes;
    t[i] ^= 0x10;
    EXPECT_FALSE(DecodePresentMap(t).ok()) << i;
  }
  EXPECT_FALSE(DecodePresentMap(bytes.substr(0, bytes.size() - 9)).ok());
  EXPECT_FALSE(DecodePresentMap("").ok());
}

TEST(PresentMapFileTest, TakeRemovesTheFile) {
  char dir[] = "/tmp/s3nbd-pm-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/c.present";
  EXPECT_EQ(TakePresentMap(path).status().err(), ENOENT);
  ASSERT_TRUE(SavePresentMap(path, Sample()).ok());
  auto image = TakePresentMap(path);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->words, Sample().words);
  EXPECT_NE(access(path.c_str(), F_OK), 0);  // gone: a crash after this forces a listing
  std::ofstream(path) << "garbage";
  EXPECT_EQ(TakePresentMap(path).status().err(), EINVAL);
  EXPECT_NE(access(path.c_str(), F_OK), 0);
  rmdir(dir);
}

TEST(PresentMapFileTest, NeverWritesOrReadsThroughASymlink) {
  char dir[] = "/tmp/s3nbd-pm-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/c.present", victim = std::string(dir) + "/victim";
  std::ofstream(victim) << "precious";
  ASSERT_EQ(symlink(victim.c_str(), (path + ".tmp").c_str()), 0);  // planted at the temp name
  ASSERT_TRUE(SavePresentMap(path, Sample()).ok());
  std::string back;
  std::getline(std::ifstream(victim), back);
  EXPECT_EQ(back, "precious") << "the save wrote through a symlink";
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);  // and at the map's own name
  EXPECT_EQ(TakePresentMap(path).status().err(), ELOOP);
  std::system(("rm -rf '" + std::string(dir) + "'").c_str());
}

}  // namespace
}  // namespace s3nbd
