// Tests of ForwardingStore (cache/forwarding_store.h): every call reaches the store below
// unchanged, and a layer that overrides one call changes only that one.
#include "cache/forwarding_store.h"

#include <gtest/gtest.h>

#include <cctype>
#include <vector>

#include "tests/unit/support/memory_block_store.h"

namespace s3nbd {
namespace {

class PrefetchRecorder : public testing::MemoryBlockStore {
 public:
  void Prefetch(std::span<const uint64_t> blocks) override {
    prefetched.insert(prefetched.end(), blocks.begin(), blocks.end());
  }
  BlockPresence Probe(uint64_t block) override {
    return block == 7 ? BlockPresence::kPresent : BlockPresence::kAbsent;
  }
  std::vector<uint64_t> prefetched;
};

// Upper-cases what it writes: overrides Write and nothing else.
class Shouting : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status Write(uint64_t block, std::string_view data) override {
    std::string up(data);
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return inner()->Write(block, up);
  }
};

TEST(ForwardingStoreTest, ForwardsEveryCall) {
  auto owned = std::make_unique<PrefetchRecorder>();
  PrefetchRecorder* below = owned.get();
  ForwardingStore f(std::move(owned));
  ASSERT_TRUE(f.Write(7, "abcdef").ok());
  std::string got;
  ASSERT_TRUE(f.Read(7, &got).ok());
  EXPECT_EQ(got, "abcdef");
  char range[3];
  ASSERT_TRUE(f.ReadRange(7, 2, 3, range).ok());
  EXPECT_EQ(std::string(range, 3), "cde");
  ASSERT_TRUE(f.WriteRange(7, 1, 2, "XY").ok());
  ASSERT_TRUE(below->Read(7, &got).ok());
  EXPECT_EQ(got, "aXYdef");
  EXPECT_EQ(f.Probe(7), BlockPresence::kPresent);
  EXPECT_EQ(f.Probe(8), BlockPresence::kAbsent);
  uint64_t hint[] = {3, 4};
  f.Prefetch(hint);
  EXPECT_EQ(below->prefetched, (std::vector<uint64_t>{3, 4}));
  std::vector<uint64_t> listed;
  ASSERT_TRUE(f.List([&](uint64_t b) { listed.push_back(b); }).ok());
  EXPECT_EQ(listed, std::vector<uint64_t>{7});
  uint64_t gone[] = {7};
  ASSERT_TRUE(f.Erase(gone).ok());
  EXPECT_EQ(below->Read(7, &got).err(), ENOENT);
  EXPECT_TRUE(f.Flush().ok());
  EXPECT_EQ(below->flushes, 1);
}

TEST(ForwardingStoreTest, AnOverrideChangesOnlyItsCall) {
  auto owned = std::make_unique<PrefetchRecorder>();
  PrefetchRecorder* below = owned.get();
  Shouting s(std::move(owned));
  ASSERT_TRUE(s.Write(1, "quiet").ok());
  std::string got;
  ASSERT_TRUE(s.Read(1, &got).ok());
  EXPECT_EQ(got, "QUIET");
  // WriteRange is not overridden: it forwards unchanged (no upper-casing).
  ASSERT_TRUE(s.WriteRange(1, 0, 2, "ab").ok());
  ASSERT_TRUE(below->Read(1, &got).ok());
  EXPECT_EQ(got, "abIET");
}

}  // namespace
}  // namespace s3nbd
