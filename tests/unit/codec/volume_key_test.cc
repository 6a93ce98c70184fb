#include "cache/codec/volume_key.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace s3nbd {
namespace {

KdfParams Fast() {  // unit tests only: cheap scrypt
  KdfParams p;
  p.n = 1024;
  p.r = 8;
  p.p = 1;
  return p;
}

VolumeDescriptor Encrypted(const std::string& pass) {
  auto d = NewDescriptor(1 << 20, 65536, KeyLayout::kFlat);
  EXPECT_TRUE(d.ok());
  EXPECT_TRUE(SetUpEncryption(&*d, pass, Fast()).ok());
  return *d;
}

TEST(VolumeKeyTest, UnwrapsWithTheRightPassphraseOnly) {
  VolumeDescriptor d = Encrypted("correct horse");
  auto k1 = UnwrapDataKey(d, "correct horse");
  ASSERT_TRUE(k1.ok()) << k1.status().message();
  auto k2 = UnwrapDataKey(d, "correct horse");
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ((*k1)->bytes, (*k2)->bytes);
  auto bad = UnwrapDataKey(d, "correct horsf");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().err(), EACCES);
  EXPECT_NE(bad.status().message().find("wrong passphrase"), std::string::npos);
}

TEST(VolumeKeyTest, DescriptorRoundTripKeepsTheKey) {
  VolumeDescriptor d = Encrypted("pw");
  auto back = DecodeDescriptor(EncodeDescriptor(d));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->encryption, "aes-256-gcm");
  EXPECT_EQ(back->key.params.n, 1024u);
  auto a = UnwrapDataKey(d, "pw"), b = UnwrapDataKey(*back, "pw");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->bytes, (*b)->bytes);
}

TEST(VolumeKeyTest, DamagedWrappedKeyOrOtherVolumeIsNotAWrongPassphrase) {
  VolumeDescriptor d = Encrypted("pw");
  VolumeDescriptor damaged = d;
  damaged.key.wrapped[20] ^= 1;
  auto r = UnwrapDataKey(damaged, "pw");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EINVAL);
  EXPECT_NE(r.status().message().find("does not authenticate"), std::string::npos);
  VolumeDescriptor moved = d;  // key fields pasted into another volume's descriptor
  moved.uuid[0] ^= 1;
  EXPECT_EQ(UnwrapDataKey(moved, "pw").status().err(), EINVAL);
}

TEST(VolumeKeyTest, RewrapChangesPassphraseNotKey) {
  VolumeDescriptor d = Encrypted("old");
  auto before = UnwrapDataKey(d, "old");
  ASSERT_TRUE(before.ok());
  std::string old_salt = d.key.salt;
  EXPECT_EQ(RewrapDataKey(&d, "wrong", "new").err(), EACCES);
  ASSERT_TRUE(RewrapDataKey(&d, "old", "new").ok());
  EXPECT_NE(d.key.salt, old_salt);
  EXPECT_EQ(UnwrapDataKey(d, "old").status().err(), EACCES);
  auto after = UnwrapDataKey(d, "new");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*before)->bytes, (*after)->bytes);
}

TEST(VolumeKeyTest, TwoVolumesGetDifferentKeys) {
  VolumeDescriptor a = Encrypted("same"), b = Encrypted("same");
  EXPECT_NE(a.key.salt, b.key.salt);
  EXPECT_NE((*UnwrapDataKey(a, "same"))->bytes, (*UnwrapDataKey(b, "same"))->bytes);
}

TEST(VolumeKeyTest, PassphraseFile) {
  std::string path = ::testing::TempDir() + "/s3nbd-pass-test";
  auto write = [&](const std::string& text) { std::ofstream(path, std::ios::binary) << text; };
  write("secret\n");
  EXPECT_EQ(*ReadPassphraseFile(path), "secret");
  write("secret\r\n");
  EXPECT_EQ(*ReadPassphraseFile(path), "secret");
  write(std::string("bin\0ary\n\n", 9));
  EXPECT_EQ(*ReadPassphraseFile(path), std::string("bin\0ary\n", 8));
  write("\n");
  EXPECT_NE(ReadPassphraseFile(path).status().message().find("empty"), std::string::npos);
  std::remove(path.c_str());
  auto missing = ReadPassphraseFile(path);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace s3nbd
