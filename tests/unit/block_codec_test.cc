#include "cache/block_codec.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/memory_block_store.h"

namespace s3nbd {
namespace {

CodecIdentity Id(uint8_t seed = 1, uint32_t bs = 4096) {
  CodecIdentity id;
  for (int i = 0; i < 16; i++) id.uuid[i] = static_cast<uint8_t>(seed * 17 + i);
  id.block_size = bs;
  return id;
}

std::string Pattern(uint32_t n, char c) {
  std::string s(n, c);
  for (uint32_t i = 0; i < n; i += 7) s[i] = static_cast<char>(i);
  return s;
}

TEST(BlockCodecTest, RoundTrip) {
  auto id = Id();
  std::string plain = Pattern(4096, 'a'), out;
  std::string obj = EncodeBlock(id, 9, plain);
  EXPECT_EQ(obj.size(), kBlockHeaderBytes + 4096);
  EXPECT_EQ(obj.substr(0, 4), "S3NB");
  ASSERT_TRUE(DecodeBlock(id, 9, obj, &out).ok());
  EXPECT_EQ(out, plain);
}

void ExpectFails(const CodecIdentity& id, uint64_t block, const std::string& obj, const std::string& what) {
  std::string out = "untouched";
  Status s = DecodeBlock(id, block, obj, &out);
  ASSERT_FALSE(s.ok()) << what;
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("block " + std::to_string(block)), std::string::npos) << s.message();
  EXPECT_EQ(out, "untouched");  // never garbage or zeros
}

TEST(BlockCodecTest, DetectsEveryKindOfBadObject) {
  auto id = Id();
  std::string obj = EncodeBlock(id, 9, Pattern(4096, 'a'));
  ExpectFails(id, 9, obj.substr(0, 20), "truncated");
  ExpectFails(id, 9, obj.substr(0, obj.size() - 1), "truncated");
  ExpectFails(id, 9, obj + "x", "truncated or padded");
  ExpectFails(id, 9, "garbage" + std::string(100, 'g'), "bad magic");
  ExpectFails(id, 8, obj, "misplaced object: it holds block 9");
  ExpectFails(Id(2), 9, obj, "another volume");
  ExpectFails(Id(1, 8192), 9, obj, "another block size");
  std::string flipped = obj;
  flipped[kBlockHeaderBytes + 100] ^= 1;
  ExpectFails(id, 9, flipped, "checksum mismatch");
  std::string flags = obj;
  flags[5] = 1;
  ExpectFails(id, 9, flags, "codec flags");
  std::string version = obj;
  version[4] = 7;
  ExpectFails(id, 9, version, "version 7");
}

TEST(BlockCodecTest, SurvivesRandomMutations) {
  auto id = Id();
  std::string obj = EncodeBlock(id, 3, Pattern(4096, 'q'));
  uint64_t seed = 7;
  for (int i = 0; i < 5000; i++) {
    std::string t = obj;
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    t[(seed >> 33) % kBlockHeaderBytes] ^= static_cast<char>(1 + (seed >> 20) % 255);
    if (i % 4 == 0) t.resize((seed >> 40) % (t.size() + 1));
    std::string out;
    EXPECT_FALSE(DecodeBlock(id, 3, t, &out).ok());
  }
}

TEST(BlockCodecTest, LayerEncodesOnWriteAndChecksOnRead) {
  auto mem = std::make_unique<testing::MemoryBlockStore>();
  auto* raw = mem.get();
  BlockCodec codec(Id(), std::move(mem));
  std::string plain = Pattern(4096, 'z'), out;
  ASSERT_TRUE(codec.Write(5, plain).ok());
  EXPECT_EQ(raw->Get(5).size(), kBlockHeaderBytes + 4096);
  ASSERT_TRUE(codec.Read(5, &out).ok());
  EXPECT_EQ(out, plain);
  raw->Set(5, raw->Get(5).substr(0, 1000));
  EXPECT_EQ(codec.Read(5, &out).err(), EIO);
  EXPECT_EQ(codec.Read(6, &out).err(), ENOENT);  // absence passes through
}

}  // namespace
}  // namespace s3nbd
