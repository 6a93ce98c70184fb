#include "cache/codec/block_codec.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

#include <xxhash.h>

#include "tests/unit/support/memory_block_store.h"

namespace s3nbd {
namespace {

CodecIdentity Id(uint8_t seed = 1, uint32_t bs = 4096) {
  CodecIdentity id;
  for (int i = 0; i < 16; i++) id.uuid[i] = static_cast<uint8_t>(seed * 17 + i);
  id.block_size = bs;
  return id;
}

std::string Enc(const CodecIdentity& id, uint64_t block, std::string_view plain, uint64_t gen = 0) {
  auto r = EncodeBlock(id, block, plain, gen);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::string();
}

std::string Pattern(uint32_t n, char c) {
  std::string s(n, c);
  for (uint32_t i = 0; i < n; i += 7) s[i] = static_cast<char>(i);
  return s;
}

TEST(BlockCodecTest, RoundTrip) {
  auto id = Id();
  std::string plain = Pattern(4096, 'a'), out;
  std::string obj = Enc(id, 9, plain);
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
  std::string obj = Enc(id, 9, Pattern(4096, 'a'));
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
  std::string obj = Enc(id, 3, Pattern(4096, 'q'));
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

// ---- compression, encryption ----

std::shared_ptr<const DataKey> Key(uint8_t seed) {
  auto k = std::make_shared<DataKey>();
  for (size_t i = 0; i < k->bytes.size(); i++) k->bytes[i] = static_cast<uint8_t>(seed + i * 3);
  return k;
}

CodecIdentity Variant(bool zstd, bool encrypt, uint8_t volume = 1) {
  CodecIdentity id = Id(volume);
  id.zstd = zstd;
  if (encrypt) id.key = Key(volume);
  return id;
}

std::string Random(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  for (auto& c : s) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<char>(seed >> 56);
  }
  return s;
}

TEST(BlockCodecTest, RoundTripsEveryCombination) {
  for (bool zstd : {false, true}) {
    for (bool enc : {false, true}) {
      auto id = Variant(zstd, enc);
      for (const std::string& plain : {Pattern(4096, 'c'), Random(4096, 5), std::string(4095, 'x') + "y"}) {
        std::string obj = Enc(id, 12, plain, 777), out;
        uint64_t gen = 0;
        ASSERT_TRUE(DecodeBlock(id, 12, obj, &out, &gen).ok()) << zstd << enc;
        EXPECT_EQ(out, plain);
        EXPECT_EQ(gen, 777u);
        uint8_t flags = static_cast<uint8_t>(obj[5]);
        EXPECT_EQ((flags & kFlagAesGcm) != 0, enc);
        bool compressible = plain != Random(4096, 5);
        EXPECT_EQ((flags & kFlagZstd) != 0, zstd && compressible) << "a block that does not shrink is raw";
        if (zstd && compressible) {
          EXPECT_LT(obj.size(), kBlockHeaderBytes + 4096 / 2);
        }
        if (enc) {
          EXPECT_EQ(obj.find(plain.substr(0, 64)), std::string::npos) << "plaintext visible";
        }
      }
    }
  }
}

TEST(BlockCodecTest, FreshNonceEveryWrite) {
  auto id = Variant(false, true);
  std::string plain = Pattern(4096, 'n');
  std::set<std::string> nonces, objects;
  for (int i = 0; i < 2000; i++) {
    std::string obj = Enc(id, 3, plain, 1);  // same block, same generation, same plaintext
    nonces.insert(obj.substr(kBlockHeaderBytes, kGcmNonceBytes));
    objects.insert(obj);
  }
  EXPECT_EQ(nonces.size(), 2000u);
  EXPECT_EQ(objects.size(), 2000u);
}

TEST(BlockCodecTest, GenerationsIncrease) {
  uint64_t prev = NextGeneration();
  for (int i = 0; i < 1000; i++) {
    uint64_t g = NextGeneration();
    EXPECT_GT(g, prev);
    prev = g;
  }
}

// Recomputes what an attacker without the key can recompute: the header checksum.
std::string Forge(std::string obj, uint64_t as_block, uint64_t tag) {
  for (int i = 0; i < 8; i++) obj[8 + i] = static_cast<char>(as_block >> (8 * i));
  for (int i = 0; i < 8; i++) obj[24 + i] = static_cast<char>(tag >> (8 * i));
  // XXH3 over header 0-39 + payload with seed = block number, as in block_codec.cc.
  std::string header40 = obj.substr(0, 40), payload = obj.substr(kBlockHeaderBytes);
  std::string both = header40 + payload;
  uint64_t sum = XXH3_64bits_withSeed(both.data(), both.size(), as_block);
  for (int i = 0; i < 8; i++) obj[40 + i] = static_cast<char>(sum >> (8 * i));
  return obj;
}

uint64_t TagOf(const CodecIdentity& id) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | id.uuid[i];
  return v;
}

TEST(BlockCodecTest, EncryptedObjectIsBoundToBlockAndVolume) {
  for (bool zstd : {false, true}) {
    auto a = Variant(zstd, true, 1);
    std::string obj = Enc(a, 9, Pattern(4096, 'a'));
    // plain copy to block 8: caught by the header already
    ExpectFails(a, 8, obj, "misplaced object");
    // header rewritten to say block 8, checksum recomputed: AES-GCM AD catches it
    ExpectFails(a, 8, Forge(obj, 8, TagOf(a)), "authentication failed");
    // same key, other volume UUID (e.g. a clone whose descriptor was copied): AD has the UUID
    CodecIdentity b = a;
    b.uuid[15] ^= 1;  // the 8-byte tag is equal, only the full UUID differs
    ExpectFails(b, 9, obj, "authentication failed");
    // other volume, other key
    auto c = Variant(zstd, true, 2);
    ExpectFails(c, 9, Forge(obj, 9, TagOf(c)), "authentication failed");
    // a flipped ciphertext bit with a recomputed checksum
    std::string flipped = obj;
    flipped[kBlockHeaderBytes + 20] ^= 4;
    ExpectFails(a, 9, Forge(flipped, 9, TagOf(a)), "authentication failed");
    ExpectFails(a, 9, flipped, "checksum mismatch");
    // generation edited (replay of an old object relabelled as new): AD covers it
    std::string gen = obj;
    gen[16] ^= 1;
    ExpectFails(a, 9, Forge(gen, 9, TagOf(a)), "authentication failed");
  }
}

TEST(BlockCodecTest, EncryptedVolumeRefusesPlainObjects) {
  auto enc = Variant(false, true);
  std::string planted = Enc(Id(), 4, Pattern(4096, 'p'));  // valid plain object, same uuid
  ExpectFails(enc, 4, planted, "not encrypted but the volume is");
  ExpectFails(Id(), 4, Enc(enc, 4, Pattern(4096, 'p')), "codec flags");
  ExpectFails(Id(), 4, Enc(Variant(true, false), 4, Pattern(4096, 'p')), "codec flags");
}

TEST(BlockCodecTest, HostileCompressedAndEncryptedInputs) {
  for (bool enc : {false, true}) {
    auto id = Variant(true, enc);
    std::string obj = Enc(id, 2, Pattern(4096, 'h'));
    ASSERT_TRUE(static_cast<uint8_t>(obj[5]) & kFlagZstd);
    uint64_t seed = 11;
    for (int i = 0; i < 3000; i++) {
      std::string t = obj;
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      t[(seed >> 33) % t.size()] ^= static_cast<char>(1 + (seed >> 20) % 255);
      if (i % 3 == 0) t.resize((seed >> 40) % (t.size() + 1));
      std::string out = "untouched";
      // a change the checks cannot see must be harmless: e.g. an unused zstd frame bit that
      // still decompresses to the exact plaintext the checksum covers
      bool ok = DecodeBlock(id, 2, t, &out).ok();
      EXPECT_TRUE(ok ? out == Pattern(4096, 'h') : out == "untouched") << "mutation " << i;
      EXPECT_FALSE(ok && enc) << "an encrypted object authenticates every byte";
    }
  }
  // a zstd frame that expands beyond the block (decompression bomb) or falls short
  auto id = Variant(true, false);
  CodecIdentity big_id = Id(1, 8192);
  big_id.zstd = true;
  std::string big = Enc(big_id, 2, Pattern(8192, 'b'));  // valid frame of 8192 bytes
  ASSERT_TRUE(static_cast<uint8_t>(big[5]) & kFlagZstd);
  ExpectFails(id, 2, big, "another block size");
  big[36] = 0;
  big[37] = 0x10;  // header now claims 4096 bytes of plaintext; the frame holds 8192
  ExpectFails(id, 2, big, "does not decompress to exactly 4096");
}

TEST(BlockCodecTest, LayerRoundTripsEncryptedCompressed) {
  auto mem = std::make_unique<testing::MemoryBlockStore>();
  auto* raw = mem.get();
  BlockCodec codec(Variant(true, true), std::move(mem));
  std::string plain = Pattern(4096, 'L'), out;
  ASSERT_TRUE(codec.Write(5, plain).ok());
  ASSERT_TRUE(codec.Read(5, &out).ok());
  EXPECT_EQ(out, plain);
  EXPECT_LT(raw->Get(5).size(), 4096u);
}

}  // namespace
}  // namespace s3nbd
