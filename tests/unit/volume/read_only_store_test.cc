#include "cache/volume/read_only_store.h"

#include <gtest/gtest.h>

#include "tests/unit/support/memory_block_store.h"

namespace s3nbd {
namespace {

TEST(ReadOnlyStoreTest, RefusesChangesPassesReads) {
  auto mem = std::make_unique<testing::MemoryBlockStore>();
  auto* raw = mem.get();
  raw->Set(2, "data");
  ReadOnlyStore ro(std::move(mem));
  std::string d;
  ASSERT_TRUE(ro.Read(2, &d).ok());
  EXPECT_EQ(d, "data");
  Status w = ro.Write(2, "new");
  EXPECT_EQ(w.err(), EROFS);
  EXPECT_NE(w.message().find("block 2"), std::string::npos);
  const uint64_t b[] = {2};
  EXPECT_EQ(ro.Erase(b).err(), EROFS);
  EXPECT_EQ(raw->Get(2), "data");
  EXPECT_EQ(raw->writes.load(), 0u);
}

}  // namespace
}  // namespace s3nbd
