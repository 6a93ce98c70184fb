#include "daemon/fsck_check.h"

#include <gtest/gtest.h>

namespace s3nbd::cli {
namespace {

TEST(FsckCheckTest, ClassifiesFlatKeys) {
  BlockKeys keys("vol/", KeyLayout::kFlat);
  EXPECT_EQ(ClassifyKey(keys, "vol/volume.s3nbd", 16).kind, KeyKind::kDescriptor);
  EXPECT_EQ(ClassifyKey(keys, "vol/lease.s3nbd", 16).kind, KeyKind::kLease);
  KeyClass b = ClassifyKey(keys, keys.BlockKey(15), 16);
  EXPECT_EQ(b.kind, KeyKind::kBlock);
  EXPECT_EQ(b.block, 15u);
  KeyClass out = ClassifyKey(keys, keys.BlockKey(16), 16);
  EXPECT_EQ(out.kind, KeyKind::kOutOfRange);
  EXPECT_EQ(out.block, 16u);
  EXPECT_EQ(ClassifyKey(keys, "vol/notes.txt", 16).kind, KeyKind::kOrphan);
  EXPECT_EQ(ClassifyKey(keys, "vol/b/xyz", 16).kind, KeyKind::kOrphan);
  EXPECT_EQ(ClassifyKey(keys, "vol/b/0000000000000001.tmp", 16).kind, KeyKind::kOrphan);
  BlockKeys hashed("vol/", KeyLayout::kHashed);
  EXPECT_EQ(ClassifyKey(keys, hashed.BlockKey(1), 16).kind, KeyKind::kOrphan);  // other layout
}

TEST(FsckCheckTest, ClassifiesHashedKeys) {
  BlockKeys keys("", KeyLayout::kHashed);
  EXPECT_EQ(ClassifyKey(keys, keys.BlockKey(3), 4).kind, KeyKind::kBlock);
  std::string wrong_hash = keys.BlockKey(3);  // "h/XXXX/0000000000000003"
  wrong_hash[2] = wrong_hash[2] == '0' ? '1' : '0';
  EXPECT_EQ(ClassifyKey(keys, wrong_hash, 4).kind, KeyKind::kOrphan);
  EXPECT_EQ(ClassifyKey(keys, BlockKeys("", KeyLayout::kFlat).BlockKey(3), 4).kind,
            KeyKind::kOrphan);
  EXPECT_STREQ(KeyKindName(KeyKind::kOutOfRange), "out-of-range");
}

TEST(FsckCheckTest, NestedVolumesAreNotOrphans) {
  BlockKeys keys("outer/", KeyLayout::kFlat);
  BlockKeys inner("outer/inner/", KeyLayout::kHashed);
  // listed in key order: the nested descriptor comes after its blocks
  std::vector<std::string> listed = {"outer/b/0000000000000000", inner.BlockKey(0),        inner.LeaseKey(),
                                     inner.DescriptorKey(),      "outer/inner/notes.txt",  "outer/lease.s3nbd",
                                     "outer/innerx/file",        "outer/other/volume.s3nbd", "outer/other/b/x",
                                     "outer/volume.s3nbd",       "outer/xvolume.s3nbd"};
  std::vector<std::string> others = OtherVolumePrefixes(keys, listed);
  EXPECT_EQ(others, (std::vector<std::string>{"outer/inner/", "outer/other/"}));
  EXPECT_EQ(ClassifyKey(keys, inner.BlockKey(0), 16, others).kind, KeyKind::kOtherVolume);
  EXPECT_EQ(ClassifyKey(keys, inner.DescriptorKey(), 16, others).kind, KeyKind::kOtherVolume);
  EXPECT_EQ(ClassifyKey(keys, "outer/inner/notes.txt", 16, others).kind, KeyKind::kOtherVolume);
  EXPECT_EQ(ClassifyKey(keys, "outer/other/b/x", 16, others).kind, KeyKind::kOtherVolume);
  EXPECT_EQ(ClassifyKey(keys, "outer/innerx/file", 16, others).kind, KeyKind::kOrphan) << "not under outer/inner/";
  EXPECT_EQ(ClassifyKey(keys, "outer/xvolume.s3nbd", 16, others).kind, KeyKind::kOrphan);
  EXPECT_EQ(ClassifyKey(keys, "outer/b/0000000000000000", 16, others).kind, KeyKind::kBlock);
  EXPECT_EQ(ClassifyKey(keys, "outer/volume.s3nbd", 16, others).kind, KeyKind::kDescriptor);
  // at the bucket root: every other volume in the bucket is left alone
  BlockKeys root("", KeyLayout::kFlat);
  std::vector<std::string> bucket = {"a/volume.s3nbd", "a/b/0000000000000001", "b/0000000000000001",
                                     "volume.s3nbd", "z/y/volume.s3nbd", "z/y/lease.s3nbd", "stray"};
  std::vector<std::string> root_others = OtherVolumePrefixes(root, bucket);
  EXPECT_EQ(root_others, (std::vector<std::string>{"a/", "z/y/"}));
  EXPECT_EQ(ClassifyKey(root, "a/b/0000000000000001", 16, root_others).kind, KeyKind::kOtherVolume);
  EXPECT_EQ(ClassifyKey(root, "z/y/lease.s3nbd", 16, root_others).kind, KeyKind::kOtherVolume);
  EXPECT_EQ(ClassifyKey(root, "b/0000000000000001", 16, root_others).kind, KeyKind::kBlock);
  EXPECT_EQ(ClassifyKey(root, "stray", 16, root_others).kind, KeyKind::kOrphan);
  EXPECT_STREQ(KeyKindName(KeyKind::kOtherVolume), "other-volume");
}

TEST(FsckCheckTest, ChecksObjects) {
  CodecIdentity id;
  id.uuid.fill(7);
  id.block_size = 4096;
  std::string data(4096, '\0');
  EXPECT_EQ(CheckBlockObject(id, 5, *EncodeBlock(id, 5, data)).state, ObjectState::kAllZero);
  data[100] = 1;
  std::string obj = *EncodeBlock(id, 5, data);
  EXPECT_EQ(CheckBlockObject(id, 5, obj).state, ObjectState::kOk);
  ObjectCheck misplaced = CheckBlockObject(id, 6, obj);
  EXPECT_EQ(misplaced.state, ObjectState::kCorrupt);
  EXPECT_NE(misplaced.cause.find("block 6"), std::string::npos) << misplaced.cause;
  obj[200] ^= 1;
  ObjectCheck flipped = CheckBlockObject(id, 5, obj);
  EXPECT_EQ(flipped.state, ObjectState::kCorrupt);
  EXPECT_NE(flipped.cause.find("checksum"), std::string::npos) << flipped.cause;
  EXPECT_EQ(CheckBlockObject(id, 5, "garbage").state, ObjectState::kCorrupt);
}

}  // namespace
}  // namespace s3nbd::cli
