// Tests of the copy-free codec paths: DecodeBlockInto / DecodeBlockRange / EncodeBlockInto and
// BlockCodec::ReadRange. Each must accept exactly what DecodeBlock accepts, refuse the rest
// with DecodeBlock's message, and return exactly the verified plaintext.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "cache/codec/block_codec.h"
#include "tests/unit/support/memory_block_store.h"

namespace s3nbd {
namespace {

constexpr uint32_t kBs = 4096;

std::shared_ptr<const DataKey> Key(uint8_t seed) {
  auto k = std::make_shared<DataKey>();
  for (size_t i = 0; i < k->bytes.size(); i++) k->bytes[i] = static_cast<uint8_t>(seed + i * 5);
  return k;
}

CodecIdentity Variant(bool zstd, bool encrypt, uint8_t volume = 1) {
  CodecIdentity id;
  for (int i = 0; i < 16; i++) id.uuid[i] = static_cast<uint8_t>(volume * 31 + i);
  id.block_size = kBs;
  id.zstd = zstd;
  if (encrypt) id.key = Key(volume);
  return id;
}

struct Combo {
  bool zstd, enc;
};
const Combo kCombos[] = {{false, false}, {true, false}, {false, true}, {true, true}};

// Compressible but not constant: every byte position is distinguishable.
std::string Pattern(uint32_t n, uint8_t salt) {
  std::string s(n, '\0');
  for (uint32_t i = 0; i < n; i++)
    s[i] = static_cast<char>((i / 64) * 7 + salt + (i % 3 == 0 ? i : 0));
  return s;
}

std::string Random(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  for (auto& c : s) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<char>(seed >> 56);
  }
  return s;
}

std::string Enc(const CodecIdentity& id, uint64_t block, std::string_view plain, uint64_t gen = 0) {
  auto r = EncodeBlock(id, block, plain, gen);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::string();
}

TEST(BlockCodecRangeTest, DecodeIntoFillsTheWholeBufferForEveryCombination) {
  for (Combo c : kCombos) {
    auto id = Variant(c.zstd, c.enc);
    for (const std::string& plain : {Pattern(kBs, 3), Random(kBs, 9)}) {
      std::string obj = Enc(id, 7, plain, 4242);
      std::string dest(kBs, '\x5a');
      uint64_t gen = 0;
      Status s = DecodeBlockInto(id, 7, obj, dest, &gen);
      ASSERT_TRUE(s.ok()) << s.message() << " zstd=" << c.zstd << " enc=" << c.enc;
      EXPECT_EQ(dest, plain);
      EXPECT_EQ(gen, 4242u);
    }
  }
}

TEST(BlockCodecRangeTest, RangesReturnExactlyTheAskedBytes) {
  const std::pair<uint32_t, uint32_t> ranges[] = {{0, 1},       {0, 512},     {100, 200},
                                                  {4095, 1},    {1000, 3096}, {0, kBs - 1},
                                                  {1, kBs - 1}, {0, kBs},     {17, 0}};
  for (Combo c : kCombos) {
    auto id = Variant(c.zstd, c.enc);
    std::string plain = Pattern(kBs, 11);
    std::string obj = Enc(id, 3, plain);
    for (auto [off, len] : ranges) {
      std::string dest(kBs + 2, '#');  // a guard byte on each side of the range
      Status s = DecodeBlockRange(id, 3, obj, off, len, dest.data() + 1);
      ASSERT_TRUE(s.ok()) << s.message() << " " << off << "+" << len;
      EXPECT_EQ(dest.substr(1, len), plain.substr(off, len)) << off << "+" << len;
      EXPECT_EQ(dest[0], '#');
      EXPECT_EQ(dest.substr(1 + len), std::string(kBs + 1 - len, '#')) << "wrote past the range";
    }
  }
}

TEST(BlockCodecRangeTest, OutOfRangeAndWrongBufferAreRefused) {
  auto id = Variant(false, false);
  std::string obj = Enc(id, 1, Pattern(kBs, 1));
  char buf[16];
  EXPECT_EQ(DecodeBlockRange(id, 1, obj, kBs - 8, 16, buf).err(), EINVAL);
  EXPECT_EQ(DecodeBlockRange(id, 1, obj, kBs, 1, buf).err(), EINVAL);
  std::string small(kBs - 1, '\0');
  EXPECT_EQ(DecodeBlockInto(id, 1, obj, small).err(), EINVAL);
}

// Every path must refuse what DecodeBlock refuses, with the same errno and message, and must
// accept only objects that decode to the same plaintext.
void ExpectSameVerdict(const CodecIdentity& id, uint64_t block, const std::string& obj,
                       const std::string& what) {
  std::string ref;
  Status want = DecodeBlock(id, block, obj, &ref);
  std::string whole(kBs, '\0');
  Status into = DecodeBlockInto(id, block, obj, whole);
  ASSERT_EQ(into.ok(), want.ok()) << what << ": " << into.message() << " / " << want.message();
  EXPECT_EQ(into.err(), want.err()) << what;
  EXPECT_EQ(into.message(), want.message()) << what;
  if (want.ok()) {
    EXPECT_EQ(whole, ref) << what;
  }
  for (auto [off, len] : {std::pair<uint32_t, uint32_t>{0, kBs}, {10, 100}, {kBs - 3, 3}}) {
    std::string part(len, '\0');
    Status range = DecodeBlockRange(id, block, obj, off, len, part.data());
    ASSERT_EQ(range.ok(), want.ok()) << what << " range " << off << ": " << range.message();
    EXPECT_EQ(range.message(), want.message()) << what << " range " << off;
    if (want.ok()) {
      EXPECT_EQ(part, ref.substr(off, len)) << what;
    }
  }
}

TEST(BlockCodecRangeTest, TamperedObjectsAreRefusedThroughEveryPath) {
  for (Combo c : kCombos) {
    auto id = Variant(c.zstd, c.enc);
    std::string obj = Enc(id, 9, Pattern(kBs, 5));
    std::string tag = " zstd=" + std::to_string(c.zstd) + " enc=" + std::to_string(c.enc);
    ExpectSameVerdict(id, 9, obj, "intact" + tag);
    ExpectSameVerdict(id, 8, obj, "misplaced" + tag);
    ExpectSameVerdict(Variant(c.zstd, c.enc, 2), 9, obj, "other volume" + tag);
    ExpectSameVerdict(id, 9, obj.substr(0, 30), "short header" + tag);
    ExpectSameVerdict(id, 9, obj.substr(0, obj.size() - 1), "truncated" + tag);
    ExpectSameVerdict(id, 9, obj + "x", "padded" + tag);
    for (size_t pos : {size_t{5}, size_t{33}, size_t{40}, kBlockHeaderBytes + 1, obj.size() / 2,
                       obj.size() - 1}) {
      std::string t = obj;
      t[pos] ^= 0x10;
      ExpectSameVerdict(id, 9, t, "flip at " + std::to_string(pos) + tag);
    }
    uint64_t seed = 99;
    for (int i = 0; i < 400; i++) {
      std::string t = obj;
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      t[(seed >> 33) % t.size()] ^= static_cast<char>(1 + (seed >> 20) % 255);
      if (i % 5 == 0) t.resize((seed >> 40) % (t.size() + 1));
      ExpectSameVerdict(id, 9, t, "mutation " + std::to_string(i) + tag);
    }
  }
}

TEST(BlockCodecRangeTest, PlainPayloadOfTheWrongLengthIsRefusedInRangeReads) {
  // A plain object whose header and payload agree on a payload shorter than the block: the
  // in-place fast path must not be taken, and the message is DecodeBlock's.
  auto id = Variant(false, false);
  std::string obj = Enc(id, 2, Pattern(kBs, 2));
  obj.resize(kBlockHeaderBytes + 100);
  obj[32] = 100;
  obj[33] = 0;
  ExpectSameVerdict(id, 2, obj, "short payload");
  char buf[10];
  EXPECT_NE(DecodeBlockRange(id, 2, obj, 0, 10, buf).message().find("payload length differs"),
            std::string::npos);
}

TEST(BlockCodecRangeTest, EncodeIntoReusesTheBufferAndMatchesEncodeBlock) {
  for (Combo c : kCombos) {
    auto id = Variant(c.zstd, c.enc);
    std::string buffer(3 * kBs, '\x77');  // larger than any object, full of junk
    for (uint64_t block : {1u, 2u, 3u}) {
      std::string plain =
          block == 2 ? Random(kBs, block) : Pattern(kBs, static_cast<uint8_t>(block));
      Result<size_t> n = EncodeBlockInto(id, block, plain, 55, &buffer);
      ASSERT_TRUE(n.ok()) << n.status().message();
      std::string obj = buffer.substr(0, *n);
      if (!c.enc) {
        EXPECT_EQ(obj, Enc(id, block, plain, 55)) << "same bytes as EncodeBlock";
      }
      std::string back;
      ASSERT_TRUE(DecodeBlock(id, block, obj, &back).ok());
      EXPECT_EQ(back, plain);
    }
    std::string empty;  // and an empty buffer grows
    Result<size_t> n = EncodeBlockInto(id, 4, Pattern(kBs, 4), 1, &empty);
    ASSERT_TRUE(n.ok());
    std::string back;
    ASSERT_TRUE(DecodeBlock(id, 4, empty.substr(0, *n), &back).ok());
  }
}

// ---- the layer ----

struct Layer {
  testing::MemoryBlockStore* raw;
  std::unique_ptr<BlockCodec> codec;
  explicit Layer(const CodecIdentity& id) {
    auto mem = std::make_unique<testing::MemoryBlockStore>();
    raw = mem.get();
    codec = std::make_unique<BlockCodec>(id, std::move(mem));
  }
};

TEST(BlockCodecRangeTest, LayerReadRangeForEveryCombination) {
  for (Combo c : kCombos) {
    Layer l(Variant(c.zstd, c.enc));
    std::vector<std::string> plains;
    for (uint64_t b = 0; b < 4; b++) {
      plains.push_back(b == 1 ? Random(kBs, b) : Pattern(kBs, static_cast<uint8_t>(b)));
      ASSERT_TRUE(l.codec->Write(b, plains[b]).ok());
    }
    // interleave whole and partial reads of different blocks: per-thread scratch must never
    // leak one block's bytes into another's answer
    for (int round = 0; round < 3; round++) {
      for (uint64_t b = 0; b < 4; b++) {
        std::string whole(kBs, '\0');
        ASSERT_TRUE(l.codec->ReadRange(b, 0, kBs, whole.data()).ok());
        EXPECT_EQ(whole, plains[b]);
        uint32_t off = static_cast<uint32_t>(round * 1000 + b * 7), len = 513;
        std::string part(len, '\0');
        ASSERT_TRUE(l.codec->ReadRange(b, off, len, part.data()).ok());
        EXPECT_EQ(part, plains[b].substr(off, len));
      }
    }
    char one;
    EXPECT_EQ(l.codec->ReadRange(9, 0, 1, &one).err(), ENOENT);  // absence passes through
  }
}

TEST(BlockCodecRangeTest, LayerReadRangeRefusesCorruptObjectsLikeRead) {
  for (Combo c : kCombos) {
    Layer l(Variant(c.zstd, c.enc));
    std::string plain = Pattern(kBs, 8);
    ASSERT_TRUE(l.codec->Write(5, plain).ok());
    std::string good = l.raw->Get(5);
    std::string flipped = good;
    flipped[flipped.size() - 2] ^= 1;
    std::string huge = good + std::string(5 * kBs, 'h');  // padded far beyond a block
    for (const std::string& bad : {good.substr(0, good.size() / 2), flipped, huge}) {
      l.raw->Set(5, bad);
      std::string via_read;
      Status r = l.codec->Read(5, &via_read);
      std::string whole(kBs, '\0'), part(10, '\0');
      Status w = l.codec->ReadRange(5, 0, kBs, whole.data());
      Status p = l.codec->ReadRange(5, 100, 10, part.data());
      EXPECT_EQ(r.err(), EIO);
      EXPECT_EQ(w.err(), EIO);
      EXPECT_EQ(p.err(), EIO);
      EXPECT_EQ(w.message(), r.message());
      EXPECT_EQ(p.message(), r.message());
    }
    l.raw->Set(5, good);  // and after a refusal, the next good read is right
    std::string whole(kBs, '\0');
    ASSERT_TRUE(l.codec->ReadRange(5, 0, kBs, whole.data()).ok());
    EXPECT_EQ(whole, plain);
  }
}

TEST(BlockCodecRangeTest, LayerPassesInnerErrorsThrough) {
  Layer l(Variant(false, false));
  ASSERT_TRUE(l.codec->Write(1, Pattern(kBs, 1)).ok());
  l.raw->fail_next = 1;
  l.raw->fail_errno = EAGAIN;
  char buf[8];
  Status s = l.codec->ReadRange(1, 0, 8, buf);
  EXPECT_EQ(s.err(), EAGAIN);
  EXPECT_NE(s.message().find("injected fault"), std::string::npos);
}

}  // namespace
}  // namespace s3nbd
