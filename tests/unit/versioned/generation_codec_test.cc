// Block generation objects: round trips for every flag combination, the header layout, and a
// failing object for every check of the decoder (in docs/format.md's order and wording).
#include "cache/versioned/generation_codec.h"

#include <gtest/gtest.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>
#include <memory>
#include <vector>

#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr uint32_t kBs = 4096;

std::shared_ptr<const DataKey> Key(uint8_t base) {
  auto k = std::make_shared<DataKey>();
  for (size_t i = 0; i < k->bytes.size(); ++i) k->bytes[i] = static_cast<uint8_t>(base + i);
  return k;
}

GenerationIdentity Id(bool zstd, bool encrypted) {
  GenerationIdentity id;
  for (size_t i = 0; i < 16; ++i) id.codec.uuid[i] = static_cast<uint8_t>(0xa0 + i);
  id.codec.block_size = kBs;
  id.codec.zstd = zstd;
  if (encrypted) id.codec.key = Key(1);
  id.volume = "vol1";
  return id;
}

std::string Compressible() {
  std::string s(kBs, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>("s3nbd v2 "[i % 9]);
  return s;
}

std::string Random() {
  std::string s(kBs, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& c : s) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

struct Encoded {
  std::string object;
  GenerationExpect expect;
};

Encoded Encode(const GenerationIdentity& id, std::string_view plain, uint64_t block = 7,
               uint64_t epoch = 3, uint64_t gen = 42) {
  Encoded e;
  auto n = EncodeGenerationInto(id, block, epoch, gen, plain, &e.object, &e.expect.checksum);
  EXPECT_TRUE(n.ok()) << n.status().message();
  if (n.ok()) e.object.resize(*n);
  e.expect.block = block;
  e.expect.epoch = epoch;
  e.expect.gen = gen;
  return e;
}

Status Decode(const GenerationIdentity& id, const GenerationExpect& want, std::string_view object,
              std::string* out) {
  out->assign(kBs, '\xee');
  return DecodeGenerationInto(id, want, object, std::span<char>(out->data(), out->size()));
}

// Fails with EIO, naming volume and block, with `cause` in the message.
void ExpectRefused(const GenerationIdentity& id, const GenerationExpect& want,
                   std::string_view object, const std::string& cause) {
  std::string out;
  Status s = Decode(id, want, object, &out);
  ASSERT_FALSE(s.ok()) << "expected: " << cause;
  EXPECT_EQ(s.err(), EIO) << s.message();
  EXPECT_NE(s.message().find("volume vol1/block " + std::to_string(want.block) + ": "),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find(cause), std::string::npos) << s.message();
}

void ExpectRoundTrip(const GenerationIdentity& id, const std::string& plain, uint8_t want_flags) {
  Encoded e = Encode(id, plain);
  EXPECT_EQ(static_cast<uint8_t>(e.object[5]), want_flags);
  EXPECT_EQ(GetLE<uint64_t>(e.object.data() + 88), e.expect.checksum);
  std::string out;
  Status s = Decode(id, e.expect, e.object, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(out, plain);
}

TEST(GenerationCodecTest, RoundTripsEveryFlagCombination) {
  ExpectRoundTrip(Id(false, false), Random(), 0);
  ExpectRoundTrip(Id(true, false), Compressible(), kFlagZstd);
  ExpectRoundTrip(Id(true, false), Random(), 0);  // incompressible: stored plain
  ExpectRoundTrip(Id(false, true), Random(), kFlagAesGcm);
  ExpectRoundTrip(Id(true, true), Compressible(), kFlagZstd | kFlagAesGcm);
  ExpectRoundTrip(Id(true, true), Random(), kFlagAesGcm);
}

TEST(GenerationCodecTest, HeaderLayoutIsTheDocumentedOne) {
  GenerationIdentity id = Id(false, false);
  std::string plain = Random();
  Encoded e = Encode(id, plain, 0x0102030405060708ull, 9, 10);
  const char* h = e.object.data();
  ASSERT_EQ(e.object.size(), 96u + kBs);
  EXPECT_EQ(std::string(h, 4), "S3NB");
  EXPECT_EQ(h[4], 2);
  EXPECT_EQ(h[5], 0);
  EXPECT_EQ(GetLE<uint16_t>(h + 6), 96);
  EXPECT_EQ(GetLE<uint64_t>(h + 8), 0x0102030405060708ull);
  EXPECT_EQ(GetLE<uint64_t>(h + 16), 9u);
  EXPECT_EQ(GetLE<uint64_t>(h + 24), 10u);
  EXPECT_EQ(std::memcmp(h + 32, id.codec.uuid.data(), 16), 0);
  EXPECT_EQ(GetLE<uint32_t>(h + 48), kBs);
  EXPECT_EQ(GetLE<uint32_t>(h + 52), kBs);
  EXPECT_EQ(std::string(h + 56, 32), std::string(32, '\0'));  // plain: zero salt
  // XXH3-64, seed = block, over bytes 0-87 then the plaintext: computed independently here.
  std::string covered = e.object.substr(0, 88) + plain;
  EXPECT_EQ(GetLE<uint64_t>(h + 88),
            XXH3_64bits_withSeed(covered.data(), covered.size(), 0x0102030405060708ull));
  EXPECT_EQ(e.object.substr(96), plain);
  auto hd = ReadGenerationHeader(e.object);
  ASSERT_TRUE(hd.ok());
  EXPECT_EQ(hd->block, 0x0102030405060708ull);
  EXPECT_EQ(hd->epoch, 9u);
  EXPECT_EQ(hd->gen, 10u);
  EXPECT_EQ(hd->checksum, e.expect.checksum);
  EXPECT_FALSE(ReadGenerationHeader(e.object.substr(0, 95)).ok());
}

TEST(GenerationCodecTest, EncryptedObjectsHaveAFreshSaltNoNonceAndAChecksumOfThePayload) {
  GenerationIdentity id = Id(false, true);
  std::string plain = Random();
  Encoded a = Encode(id, plain), b = Encode(id, plain);
  EXPECT_EQ(a.object.size(), 96u + kBs + 16);  // ciphertext + tag, no stored nonce
  EXPECT_NE(a.object.substr(56, 32), std::string(32, '\0'));
  EXPECT_NE(a.object.substr(56, 32), b.object.substr(56, 32));
  EXPECT_NE(a.object.substr(96), b.object.substr(96));
  EXPECT_EQ(a.object.find(plain.substr(0, 64)), std::string::npos);
  std::string covered = a.object.substr(0, 88) + a.object.substr(96);
  EXPECT_EQ(a.expect.checksum, XXH3_64bits_withSeed(covered.data(), covered.size(), 7));
}

TEST(GenerationCodecTest, FixedSaltIsDeterministic) {
  GenerationIdentity id = Id(true, true);
  ObjectSalt salt;
  for (size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<uint8_t>(i);
  std::string a, b;
  uint64_t sa = 0, sb = 0;
  auto na = EncodeGenerationWithSaltForTest(id, 1, 1, 1, Compressible(), salt, &a, &sa);
  auto nb = EncodeGenerationWithSaltForTest(id, 1, 1, 1, Compressible(), salt, &b, &sb);
  ASSERT_TRUE(na.ok() && nb.ok());
  EXPECT_EQ(a.substr(0, *na), b.substr(0, *nb));
  EXPECT_EQ(sa, sb);
  EXPECT_EQ(a.substr(56, 32), std::string(reinterpret_cast<const char*>(salt.data()), 32));
}

TEST(GenerationCodecTest, EncodeRefusesAPlaintextOfAnotherSize) {
  std::string buf;
  uint64_t sum;
  auto n = EncodeGenerationInto(Id(false, false), 1, 1, 1, std::string(100, 'x'), &buf, &sum);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().err(), EINVAL);
}

TEST(GenerationCodecTest, DecodeBufferOfAnotherSizeIsEinval) {
  GenerationIdentity id = Id(false, false);
  Encoded e = Encode(id, Random());
  std::string small(100, 0);
  EXPECT_EQ(
      DecodeGenerationInto(id, e.expect, e.object, std::span<char>(small.data(), small.size()))
          .err(),
      EINVAL);
}

class GenerationChecksTest : public ::testing::Test {
 protected:
  GenerationIdentity plain_id_ = Id(false, false);
  Encoded plain_ = Encode(plain_id_, Random());
};

TEST_F(GenerationChecksTest, Truncated) {
  ExpectRefused(plain_id_, plain_.expect, plain_.object.substr(0, 95),
                "shorter than its 96-byte header (truncated)");
  ExpectRefused(plain_id_, plain_.expect, "", "object is 0 bytes");
}

TEST_F(GenerationChecksTest, BadMagic) {
  std::string o = plain_.object;
  o[3] = 'S';
  ExpectRefused(plain_id_, plain_.expect, o, "bad magic");
}

TEST_F(GenerationChecksTest, Version1ObjectWhereAGenerationIsExpected) {
  auto v1 = EncodeBlock(plain_id_.codec, 7, Random(), 5);
  ASSERT_TRUE(v1.ok());
  ExpectRefused(plain_id_, plain_.expect, *v1,
                "block object version 1 where the manifest expects a version-2");
  std::string o = plain_.object;
  o[4] = 3;
  ExpectRefused(plain_id_, plain_.expect, o, "block object version 3");
}

TEST_F(GenerationChecksTest, HeaderLength) {
  std::string o = plain_.object;
  PutLE<uint16_t>(o.data() + 6, 104);
  ExpectRefused(plain_id_, plain_.expect, o, "bad header length 104 (expected 96)");
}

TEST_F(GenerationChecksTest, ReservedFlagBits) {
  for (uint8_t bit : {4, 8, 0x80}) {
    std::string o = plain_.object;
    o[5] = static_cast<char>(bit);
    ExpectRefused(plain_id_, plain_.expect, o, "unknown format: reserved flag bits");
  }
}

TEST_F(GenerationChecksTest, FlagsTheVolumeDoesNotEnable) {
  std::string o = plain_.object;
  o[5] = kFlagZstd;  // zstd object on a volume without compression
  ExpectRefused(plain_id_, plain_.expect, o, "codec flags 1 this volume does not enable");
  Encoded sealed = Encode(Id(false, true), Random());
  ExpectRefused(plain_id_, sealed.expect, sealed.object,
                "codec flags 2 this volume does not enable");
}

TEST_F(GenerationChecksTest, PlainObjectOnAnEncryptedVolume) {
  GenerationIdentity enc = Id(false, true);
  ExpectRefused(enc, plain_.expect, plain_.object, "object is not encrypted but the volume is");
}

TEST_F(GenerationChecksTest, BlockNumber) {
  GenerationExpect want = plain_.expect;
  want.block = 8;
  ExpectRefused(plain_id_, want, plain_.object, "misplaced object: it holds block 7");
}

TEST_F(GenerationChecksTest, WrongEpochOrGenIsReplayedOrMisplaced) {
  GenerationExpect want = plain_.expect;
  want.epoch = 4;
  ExpectRefused(plain_id_, want, plain_.object,
                "replayed or misplaced object: holds generation 3-42, manifest expects 4-42");
  want = plain_.expect;
  want.gen = 41;
  ExpectRefused(plain_id_, want, plain_.object,
                "replayed or misplaced object: holds generation 3-42, manifest expects 3-41");
}

TEST_F(GenerationChecksTest, OtherVolumeUuid) {
  GenerationIdentity other = plain_id_;
  other.codec.uuid[15] ^= 1;  // only the last byte differs: all 16 are bound
  ExpectRefused(other, plain_.expect, plain_.object, "object belongs to another volume");
}

TEST_F(GenerationChecksTest, PayloadLength) {
  ExpectRefused(plain_id_, plain_.expect, plain_.object.substr(0, plain_.object.size() - 1),
                "truncated or padded: payload 4095 bytes, header says 4096");
  ExpectRefused(plain_id_, plain_.expect, plain_.object + "x",
                "truncated or padded: payload 4097 bytes");
}

TEST_F(GenerationChecksTest, PlaintextLengthOfAnotherBlockSize) {
  GenerationIdentity big = plain_id_;
  big.codec.block_size = 2 * kBs;
  std::string out(2 * kBs, 0);
  Status s = DecodeGenerationInto(big, plain_.expect, plain_.object,
                                  std::span<char>(out.data(), out.size()));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("object holds 4096 bytes, volume block size is 8192"),
            std::string::npos)
      << s.message();
}

TEST_F(GenerationChecksTest, SaltOnAPlainObjectIsAnUnknownFormat) {
  std::string o = plain_.object;
  o[70] = 1;
  ExpectRefused(plain_id_, plain_.expect, o, "unknown format: salt set on an unencrypted object");
}

TEST_F(GenerationChecksTest, WrongExpectedChecksumIsStaleOrReplaced) {
  GenerationExpect want = plain_.expect;
  want.checksum ^= 0x10;
  char a[17], b[17];
  std::snprintf(a, sizeof a, "%016llx", static_cast<unsigned long long>(plain_.expect.checksum));
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(want.checksum));
  ExpectRefused(plain_id_, want, plain_.object,
                std::string("stale or replaced object: checksum ") + a + ", manifest expects " + b);
}

TEST_F(GenerationChecksTest, ReplayWithEditedHeaderAndRecomputedChecksumIsStale) {
  // An older generation of the block, its header edited to the expected epoch-gen and its
  // checksum recomputed: only the manifest's expected checksum catches it.
  Encoded old = Encode(plain_id_, Random() + "", 7, 3, 41);
  std::string o = old.object;
  PutLE<uint64_t>(o.data() + 24, 42);
  std::string covered = o.substr(0, 88) + o.substr(96);
  PutLE<uint64_t>(o.data() + 88, XXH3_64bits_withSeed(covered.data(), covered.size(), 7));
  std::string other = Random();
  other[0] ^= 1;
  Encoded current = Encode(plain_id_, other, 7, 3, 42);
  ExpectRefused(plain_id_, current.expect, o, "stale or replaced object");
}

TEST_F(GenerationChecksTest, TamperedPayloadByteIsAChecksumMismatch) {
  std::string o = plain_.object;
  o[96 + 1000] ^= 1;
  ExpectRefused(plain_id_, plain_.expect, o, "checksum mismatch (object corrupted)");
  Encoded z = Encode(Id(true, false), Compressible());
  std::string zo = z.object;
  zo[zo.size() - 3] ^= 0x40;  // inside the zstd frame
  std::string out;
  Status s = Decode(Id(true, false), z.expect, zo, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err(), EIO);
  EXPECT_TRUE(s.message().find("checksum mismatch") != std::string::npos ||
              s.message().find("does not decompress") != std::string::npos)
      << s.message();
}

TEST_F(GenerationChecksTest, TamperedEncryptedBytes) {
  GenerationIdentity enc = Id(true, true);
  Encoded e = Encode(enc, Compressible());
  std::string o = e.object;
  o[100] ^= 1;  // ciphertext, checksum not recomputed
  ExpectRefused(enc, e.expect, o, "checksum mismatch (object corrupted)");
  // Edited salt with a recomputed checksum (what an attacker without the key can do).
  o = e.object;
  o[60] ^= 1;
  std::string covered = o.substr(0, 88) + o.substr(96);
  uint64_t sum = XXH3_64bits_withSeed(covered.data(), covered.size(), 7);
  PutLE<uint64_t>(o.data() + 88, sum);
  GenerationExpect want = e.expect;
  want.checksum = sum;
  ExpectRefused(enc, want, o, "authentication failed (AES-GCM)");
}

TEST_F(GenerationChecksTest, WrongKey) {
  GenerationIdentity enc = Id(false, true);
  Encoded e = Encode(enc, Random());
  GenerationIdentity other = enc;
  other.codec.key = Key(2);
  ExpectRefused(other, e.expect, e.object, "authentication failed (AES-GCM)");
}

TEST_F(GenerationChecksTest, EncryptedPayloadShorterThanTag) {
  GenerationIdentity enc = Id(false, true);
  Encoded e = Encode(enc, Random());
  std::string o = e.object.substr(0, 96 + 10);
  PutLE<uint32_t>(o.data() + 48, 10);
  std::string covered = o.substr(0, 88) + o.substr(96);
  uint64_t sum = XXH3_64bits_withSeed(covered.data(), covered.size(), 7);
  PutLE<uint64_t>(o.data() + 88, sum);
  GenerationExpect want = e.expect;
  want.checksum = sum;
  ExpectRefused(enc, want, o, "shorter than its tag (truncated)");
}

TEST_F(GenerationChecksTest, PlainPayloadOfAnotherLength) {
  // flags 0 but the payload is a (consistent) 100 bytes: never returned as a block.
  std::string o = plain_.object.substr(0, 96 + 100);
  PutLE<uint32_t>(o.data() + 48, 100);
  ExpectRefused(plain_id_, plain_.expect, o, "payload length differs from plaintext length");
}

}  // namespace
}  // namespace s3nbd
