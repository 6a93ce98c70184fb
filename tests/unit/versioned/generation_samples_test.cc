// Checked-in block generation objects (tests/unit/versioned/samples/gen-*.bin): each decodes
// with every header field as recorded here, and re-encoding reproduces its bytes (the sealed
// ones through the fixed-salt test entry point), so an accidental format change fails.
// S3NBD_WRITE_SAMPLES=1 build/unit_tests --gtest_filter='GenerationSamples*' rewrites them
// (only for a deliberate, documented format change) and prints the checksums to paste below.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cache/versioned/generation_codec.h"

namespace s3nbd {
namespace {

constexpr uint32_t kBs = 4096;
constexpr uint64_t kBlock = 5, kEpoch = 2, kGen = 9;

struct SampleSpec {
  const char* file;
  bool zstd, encrypted;
  uint8_t flags;
  size_t size;        // bytes of the object
  uint64_t checksum;  // the header checksum field, as a manifest would record it
};

const SampleSpec kSamples[] = {
    {"gen-plain.bin", false, false, 0, 96 + kBs, 0xa063e82616154c9aull},
    {"gen-zstd.bin", true, false, kFlagZstd, 164, 0x00b02397e7c2d924ull},
    {"gen-aes.bin", false, true, kFlagAesGcm, 96 + kBs + 16, 0xa1696cca43236de3ull},
    {"gen-aes-zstd.bin", true, true, kFlagZstd | kFlagAesGcm, 180, 0x434e95e47cc3a5a1ull},
};

std::string Path(const char* file) {
  return std::string(S3NBD_SOURCE_DIR) + "/tests/unit/versioned/samples/" + file;
}

std::string Plaintext() {
  const std::string line = "s3nbd block generation sample: block 5, epoch 2, gen 9\n";
  std::string p;
  while (p.size() < kBs) p += line;
  p.resize(kBs);
  return p;
}

ObjectSalt FixedSalt() {
  ObjectSalt s;
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(0x40 + i);
  return s;
}

GenerationIdentity Identity(const SampleSpec& spec) {
  static const uint8_t kUuid[16] = {0x0b, 0x6e, 0x3c, 0x1a, 0x5d, 0x2f, 0x4e, 0x8b,
                                    0x9a, 0x71, 0x2c, 0x4d, 0x6e, 0x8f, 0x0a, 0x1b};
  GenerationIdentity id;
  std::copy(kUuid, kUuid + 16, id.codec.uuid.begin());
  id.codec.block_size = kBs;
  id.codec.zstd = spec.zstd;
  id.codec.zstd_level = 3;
  if (spec.encrypted) {
    auto k = std::make_shared<DataKey>();  // the fixed test key: bytes 0x00..0x1f
    for (size_t i = 0; i < k->bytes.size(); ++i) k->bytes[i] = static_cast<uint8_t>(i);
    id.codec.key = k;
  }
  id.volume = "sample";
  return id;
}

std::string Encode(const SampleSpec& spec, uint64_t* checksum) {
  std::string buf;
  auto n =
      spec.encrypted
          ? EncodeGenerationWithSaltForTest(Identity(spec), kBlock, kEpoch, kGen, Plaintext(),
                                            FixedSalt(), &buf, checksum)
          : EncodeGenerationInto(Identity(spec), kBlock, kEpoch, kGen, Plaintext(), &buf, checksum);
  EXPECT_TRUE(n.ok()) << n.status().message();
  buf.resize(n.ok() ? *n : 0);
  return buf;
}

std::string Read(const char* file) {
  std::ifstream in(Path(file), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing sample " << Path(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(GenerationSamplesTest, DecodeEveryFieldAndReencodeByteForByte) {
  if (std::getenv("S3NBD_WRITE_SAMPLES")) {
    for (const SampleSpec& spec : kSamples) {
      uint64_t sum = 0;
      std::string obj = Encode(spec, &sum);
      std::ofstream(Path(spec.file), std::ios::binary) << obj;
      std::printf("%s: %zu bytes, checksum 0x%016llx\n", spec.file, obj.size(),
                  static_cast<unsigned long long>(sum));
    }
    // not a pass: the run only rewrote the samples (a developer's step), it checked nothing
    FAIL() << "S3NBD_WRITE_SAMPLES is set: samples rewritten, nothing checked; paste the sizes "
              "and checksums into kSamples and run again without it";
  }
  for (const SampleSpec& spec : kSamples) {
    SCOPED_TRACE(spec.file);
    const std::string obj = Read(spec.file);
    EXPECT_EQ(obj.size(), spec.size);
    EXPECT_LT(obj.size(), 96 + kBs + 17);  // small samples
    auto hd = ReadGenerationHeader(obj);
    ASSERT_TRUE(hd.ok()) << hd.status().message();
    EXPECT_EQ(obj.substr(0, 4), "S3NB");
    EXPECT_EQ(obj[4], 2);
    EXPECT_EQ(obj[6], 96);
    EXPECT_EQ(obj[7], 0);
    EXPECT_EQ(hd->flags, spec.flags);
    EXPECT_EQ(hd->block, kBlock);
    EXPECT_EQ(hd->epoch, kEpoch);
    EXPECT_EQ(hd->gen, kGen);
    EXPECT_EQ(hd->uuid, Identity(spec).codec.uuid);
    EXPECT_EQ(hd->payload_len, obj.size() - 96);
    EXPECT_EQ(hd->plain_len, kBs);
    EXPECT_EQ(hd->salt, spec.encrypted ? FixedSalt() : ObjectSalt{});
    EXPECT_EQ(hd->checksum, spec.checksum);
    std::string out(kBs, '\0');
    Status s =
        DecodeGenerationInto(Identity(spec), {kBlock, kEpoch, kGen, spec.checksum}, obj, out);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(out, Plaintext());
    uint64_t sum = 0;
    EXPECT_EQ(Encode(spec, &sum), obj) << "the encoder no longer writes the checked-in bytes";
    EXPECT_EQ(sum, spec.checksum);
  }
}

}  // namespace
}  // namespace s3nbd
