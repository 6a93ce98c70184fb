#include "cache/sparse/zero_eliding_store.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/support/memory_block_store.h"

namespace s3nbd {
namespace {

constexpr uint32_t kBs = 4096;

struct Fixture {
  testing::MemoryBlockStore* mem;
  std::unique_ptr<ZeroElidingStore> store;
  explicit Fixture(uint64_t blocks = 64) {
    auto m = std::make_unique<testing::MemoryBlockStore>();
    mem = m.get();
    store = std::make_unique<ZeroElidingStore>(blocks, kBs, std::move(m));
  }
};

TEST(ZeroElidingStoreTest, AbsentBlocksReadAsZerosWithoutRequests) {
  Fixture f;
  ASSERT_TRUE(f.store->Load().ok());
  std::string out;
  ASSERT_TRUE(f.store->Read(3, &out).ok());
  EXPECT_EQ(out, std::string(kBs, '\0'));
  EXPECT_EQ(f.mem->reads, 0u);
  EXPECT_EQ(f.store->Probe(3), BlockPresence::kAbsent);
}

TEST(ZeroElidingStoreTest, ZeroWriteDeletesNeverStores) {
  Fixture f;
  ASSERT_TRUE(f.store->Load().ok());
  ASSERT_TRUE(f.store->Write(1, std::string(kBs, '\0')).ok());
  EXPECT_EQ(f.mem->writes, 0u);
  EXPECT_EQ(f.mem->erase_calls, 0u);  // was absent: nothing to delete
  ASSERT_TRUE(f.store->Write(1, std::string(kBs, 'x')).ok());
  EXPECT_TRUE(f.mem->Has(1));
  EXPECT_EQ(f.store->Probe(1), BlockPresence::kPresent);
  ASSERT_TRUE(f.store->Write(1, std::string(kBs, '\0')).ok());
  EXPECT_FALSE(f.mem->Has(1));
  EXPECT_EQ(f.store->Probe(1), BlockPresence::kAbsent);
  EXPECT_EQ(f.mem->writes, 1u);
}

TEST(ZeroElidingStoreTest, LoadBuildsPresentMapAndEraseIsFiltered) {
  Fixture f;
  f.mem->Set(2, "a");
  f.mem->Set(9, "b");
  f.mem->Set(1000, "out of range");  // beyond the volume: ignored
  ASSERT_TRUE(f.store->Load().ok());
  EXPECT_EQ(f.store->present_count(), 2u);
  std::vector<uint64_t> seen;
  ASSERT_TRUE(f.store->List([&](uint64_t b) { seen.push_back(b); }).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 9}));
  const uint64_t erase[] = {1, 2, 3, 4, 9};
  ASSERT_TRUE(f.store->Erase(erase).ok());
  EXPECT_EQ(f.mem->erased_blocks, 2u);  // only the present ones reached the store
  EXPECT_EQ(f.store->present_count(), 0u);
}

TEST(ZeroElidingStoreTest, FailedEraseKeepsBlockPresent) {
  Fixture f;
  ASSERT_TRUE(f.store->Load().ok());
  ASSERT_TRUE(f.store->Write(4, std::string(kBs, 'y')).ok());
  f.mem->fail_next = 1;
  EXPECT_FALSE(f.store->Write(4, std::string(kBs, '\0')).ok());
  EXPECT_EQ(f.store->Probe(4), BlockPresence::kPresent);  // never under-report
  std::string out;
  ASSERT_TRUE(f.store->Read(4, &out).ok());
  EXPECT_EQ(out, std::string(kBs, 'y'));
}

TEST(ZeroElidingStoreTest, ReadRangeOfAbsentBlockZeroesOnlyTheRangeWithoutRequests) {
  Fixture f;
  ASSERT_TRUE(f.store->Load().ok());
  std::string buf(kBs + 2, '\xff');
  ASSERT_TRUE(f.store->ReadRange(3, 0, kBs, buf.data() + 1).ok());
  EXPECT_EQ(buf.substr(1, kBs), std::string(kBs, '\0'));
  EXPECT_EQ(buf.front(), '\xff');
  EXPECT_EQ(buf.back(), '\xff');
  std::string part(100, '\xff');
  ASSERT_TRUE(f.store->ReadRange(3, 4000, 50, part.data()).ok());
  EXPECT_EQ(part, std::string(50, '\0') + std::string(50, '\xff'));
  EXPECT_EQ(f.mem->reads, 0u);
}

TEST(ZeroElidingStoreTest, ReadRangeOfPresentBlockGoesDown) {
  Fixture f;
  ASSERT_TRUE(f.store->Load().ok());
  std::string data(kBs, 'a');
  for (uint32_t i = 0; i < kBs; i++) data[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(f.store->Write(6, data).ok());
  std::string whole(kBs, '\0'), part(10, '\0');
  ASSERT_TRUE(f.store->ReadRange(6, 0, kBs, whole.data()).ok());
  ASSERT_TRUE(f.store->ReadRange(6, 30, 10, part.data()).ok());
  EXPECT_EQ(whole, data);
  EXPECT_EQ(part, data.substr(30, 10));
  EXPECT_EQ(f.mem->reads, 2u);
  f.mem->fail_next = 1;  // a real error is not turned into zeros
  Status s = f.store->ReadRange(6, 0, 10, part.data());
  EXPECT_EQ(s.err(), EIO);
}

TEST(ZeroElidingStoreTest, AVanishedObjectIsEioNotZeros) {
  Fixture f;
  ASSERT_TRUE(f.mem->Write(4, std::string(kBs, 'y')).ok());
  ASSERT_TRUE(f.store->Load().ok());  // present at open
  const uint64_t b[] = {4};
  ASSERT_TRUE(f.mem->Erase(b).ok());  // behind the layer's back: ENOENT from below
  std::string out(20, 'q');
  Status s = f.store->ReadRange(4, 8, 20, out.data());
  EXPECT_EQ(s.err(), EIO);
  EXPECT_NE(s.message().find("block 4: object vanished: present at open"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("GET returned 404"), std::string::npos) << s.message();
  std::string whole;
  EXPECT_EQ(f.store->Read(4, &whole).err(), EIO);
  // written by this writer, then deleted behind its back: the same
  ASSERT_TRUE(f.store->Write(5, std::string(kBs, 'z')).ok());
  const uint64_t c[] = {5};
  ASSERT_TRUE(f.mem->Erase(c).ok());
  EXPECT_EQ(f.store->Read(5, &whole).err(), EIO);
}

TEST(ZeroElidingStoreTest, AFailedWriteOrEraseLeavesTheBlockUnsureNotVanished) {
  Fixture f;
  ASSERT_TRUE(f.store->Load().ok());
  f.mem->fail_next = 1;
  ASSERT_FALSE(f.store->Write(2, std::string(kBs, 'w')).ok());  // may or may not have landed
  EXPECT_EQ(f.store->unsure_count(), 1u);
  std::string out;
  ASSERT_TRUE(f.store->Read(2, &out).ok()) << "our own failed write: absent is a fine outcome";
  EXPECT_EQ(out, std::string(kBs, '\0'));
  ASSERT_TRUE(f.store->Write(2, std::string(kBs, 'v')).ok());
  EXPECT_EQ(f.store->unsure_count(), 0u) << "a later successful write settles it";
  f.mem->fail_next = 1;
  const uint64_t b[] = {2};
  ASSERT_FALSE(f.store->Erase(b).ok());
  EXPECT_EQ(f.store->unsure_count(), 1u);
  ASSERT_TRUE(f.store->Erase(b).ok());
  EXPECT_EQ(f.store->unsure_count(), 0u);
}

TEST(ZeroElidingStoreTest, IsAllZero) {
  EXPECT_TRUE(IsAllZero(""));
  EXPECT_TRUE(IsAllZero(std::string(13, '\0')));
  for (size_t i = 0; i < 13; i++) {
    std::string s(13, '\0');
    s[i] = 1;
    EXPECT_FALSE(IsAllZero(s)) << i;
  }
}

}  // namespace
}  // namespace s3nbd
