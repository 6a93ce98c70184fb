// Tests of PoweredObjectStore: the ObjectStore contract (object_store_contract.h) in memory,
// and the test controls the versioned code's tests rely on: holds released in any order
// (also after the caller gave up at its deadline), ambiguous outcomes, injected 500/503,
// per-client counts and power cuts.
#include "tests/unit/versioned/powered_object_store.h"

#include <gtest/gtest.h>

#include <future>

#include "tests/unit/versioned/object_store_contract.h"

namespace s3nbd::testing {
namespace {

class MemoryContractEnv : public ContractEnv {
 public:
  ObjectStore& store() override { return store_; }
  std::string bucket() const override { return "mem"; }
  std::string prefix() const override { return "vol/"; }

 private:
  PoweredObjectStore store_;
};

struct MemoryFactory {
  static std::unique_ptr<ContractEnv> Make() { return std::make_unique<MemoryContractEnv>(); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, ObjectStoreContract, MemoryFactory);

S3Deadline In(std::chrono::milliseconds ms) {
  return {SteadyNowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count(), "writer lease expired"};
}

TEST(PoweredObjectStoreTest, ListPagesAreExactAtTheEnd) {
  PoweredObjectStore s;
  for (const char* k : {"p/a", "p/b", "p/c", "p/d", "q/a"}) s.Poke(k, "x");
  Result<ObjectPage> page = s.List("p/", "", 2, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects, (std::vector<ObjectInfo>{{"p/a", 1}, {"p/b", 1}}));
  EXPECT_TRUE(page->more);
  page = s.List("p/", "p/b", 2, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects, (std::vector<ObjectInfo>{{"p/c", 1}, {"p/d", 1}}));
  EXPECT_FALSE(page->more);  // exactly at the end: no more (S3 says so too)
  page = s.List("p/", "", 5000, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects.size(), 4u);
  for (int i = 0; i < 1001; ++i) s.Poke("big/" + std::to_string(10000 + i), "");
  page = s.List("big/", "", 5000, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects.size(), size_t{kMaxListKeys});  // S3's page limit
  EXPECT_TRUE(page->more);
  page = s.List("", "p/c", 10, {});  // no prefix: everything after start_after
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects, (std::vector<ObjectInfo>{{"p/d", 1}, {"q/a", 1}}));
}

TEST(PoweredObjectStoreTest, HeldRequestsLandInTheOrderTheyAreReleased) {
  PoweredObjectStore s;
  std::unique_ptr<ObjectStore> a = s.Client("A"), b = s.Client("B");
  s.Hold("A");
  auto first = std::async(std::launch::async, [&] { return a->Put("k", "A1", PutMode::kPlain, {}); });
  ASSERT_TRUE(s.WaitForHeld(1, std::chrono::seconds(10)));
  auto second = std::async(std::launch::async, [&] { return a->Put("k", "A2", PutMode::kPlain, {}); });
  ASSERT_TRUE(s.WaitForHeld(2, std::chrono::seconds(10)));
  ASSERT_TRUE(b->Put("other", "B", PutMode::kPlain, {}).ok());  // B is not held
  EXPECT_EQ(s.Peek("k"), std::nullopt);
  std::vector<HeldRequest> held = s.Held();
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].client, "A");
  EXPECT_EQ(held[0].op, ObjectOp::kPut);
  EXPECT_EQ(held[0].key, "k");
  ASSERT_TRUE(s.ReleaseHeld(held[1].id).ok());  // the later one first
  EXPECT_EQ(s.Peek("k"), "A2");
  EXPECT_TRUE(second.get().ok());
  ASSERT_TRUE(s.ReleaseHeld(held[0].id).ok());
  EXPECT_EQ(s.Peek("k"), "A1");  // the late PUT overwrote
  EXPECT_TRUE(first.get().ok());
  EXPECT_EQ(s.ReleaseHeld(held[0].id).err(), ENOENT);
  s.Unhold("A");
  EXPECT_TRUE(a->Put("k", "A3", PutMode::kPlain, {}).ok());
  EXPECT_EQ(s.Peek("k"), "A3");
}

TEST(PoweredObjectStoreTest, AHeldPutOutlivesItsCallersDeadlineAndLandsLate) {
  PoweredObjectStore s;
  std::unique_ptr<ObjectStore> a = s.Client("A"), b = s.Client("B");
  s.Hold("A");
  Status st = a->Put("l/5", "old writer", PutMode::kCreateOnly, In(std::chrono::milliseconds(50)));
  EXPECT_EQ(st.err(), EROFS);
  EXPECT_NE(st.message().find("PUT mem/l/5: abandoned: writer lease expired"), std::string::npos) << st.message();
  std::vector<HeldRequest> held = s.Held();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_TRUE(held[0].abandoned);
  EXPECT_EQ(held[0].op, ObjectOp::kPutCreateOnly);
  // The new writer takes the position; the old writer's create-only PUT then fails on landing.
  ASSERT_TRUE(b->Put("l/5", "new writer", PutMode::kCreateOnly, {}).ok());
  ASSERT_TRUE(s.ReleaseHeld(held[0].id).ok());
  EXPECT_EQ(s.Peek("l/5"), "new writer");
  // A plain PUT held the same way does land after the other writer's.
  s.Hold("A");
  EXPECT_EQ(a->Put("b/1", "old", PutMode::kPlain, In(std::chrono::milliseconds(20))).err(), EROFS);
  ASSERT_TRUE(b->Put("b/1", "new", PutMode::kPlain, {}).ok());
  held = s.Held();
  ASSERT_EQ(held.size(), 1u);
  ASSERT_TRUE(s.ReleaseHeld(held[0].id).ok());
  EXPECT_EQ(s.Peek("b/1"), "old");
}

TEST(PoweredObjectStoreTest, ReleasesCanLoseTheAnswerOrTheRequest) {
  PoweredObjectStore s;
  std::unique_ptr<ObjectStore> a = s.Client("A");
  s.Hold("A");
  auto applied = std::async(std::launch::async, [&] { return a->Put("x", "1", PutMode::kPlain, {}); });
  auto dropped = std::async(std::launch::async, [&] { return a->Delete("y", {}); });
  ASSERT_TRUE(s.WaitForHeld(2, std::chrono::seconds(10)));
  s.Poke("y", "kept");
  for (const HeldRequest& h : s.Held()) {
    ASSERT_TRUE(s.ReleaseHeld(h.id, h.op == ObjectOp::kPut ? HeldRelease::kApplyLoseAnswer : HeldRelease::kDrop).ok());
  }
  Status st = applied.get();
  EXPECT_EQ(st.err(), ETIMEDOUT);
  EXPECT_EQ(s.Peek("x"), "1");  // applied although its caller saw an error
  EXPECT_EQ(dropped.get().err(), ETIMEDOUT);
  EXPECT_EQ(s.Peek("y"), "kept");  // never arrived
}

TEST(PoweredObjectStoreTest, InjectedFaultsAreAmbiguousOrNot) {
  PoweredObjectStore s;
  s.InjectFault(ObjectOp::kPutCreateOnly, ObjectFault::kLostAfterApply);
  Status st = s.Put("l/1", "seg", PutMode::kCreateOnly, {});
  EXPECT_EQ(st.err(), ETIMEDOUT);
  EXPECT_EQ(s.Peek("l/1"), "seg");
  // The retry of that PUT finds its own object: EEXIST, and the bytes tell it was ours.
  EXPECT_EQ(s.Put("l/1", "seg", PutMode::kCreateOnly, {}).err(), EEXIST);
  s.InjectFault(ObjectOp::kPut, ObjectFault::kLostBeforeApply);
  EXPECT_EQ(s.Put("b/1", "gen", PutMode::kPlain, {}).err(), ETIMEDOUT);
  EXPECT_EQ(s.Peek("b/1"), std::nullopt);
  s.InjectFault(ObjectOp::kGet, ObjectFault::k503, 2, "", "m/");
  std::string body;
  s.Poke("m/1", "ptr");
  s.Poke("other", "o");
  EXPECT_TRUE(s.Get("other", &body, {}).ok());  // another prefix: no fault
  st = s.Get("m/1", &body, {});
  EXPECT_EQ(st.err(), EIO);
  EXPECT_NE(st.message().find("GET mem/m/1: HTTP 503 SlowDown"), std::string::npos) << st.message();
  EXPECT_EQ(s.Get("m/1", &body, {}).err(), EIO);
  EXPECT_TRUE(s.Get("m/1", &body, {}).ok());  // the two faults are spent
  s.InjectFault(ObjectOp::kDeleteMany, ObjectFault::k500, 1, "B");
  EXPECT_TRUE(s.DeleteMany({"other"}, {}).ok());  // client "main", not B
  s.Poke("other", "o");
  EXPECT_EQ(s.Client("B")->DeleteMany({"other"}, {}).err(), EIO);
  EXPECT_EQ(s.Peek("other"), "o");
  s.InjectFault(ObjectOp::kList, ObjectFault::k500, 5);
  s.ClearFaults();
  EXPECT_TRUE(s.List("", "", 1, {}).ok());
}

TEST(PoweredObjectStoreTest, CountsEachOperationPerClient) {
  PoweredObjectStore s;
  std::unique_ptr<ObjectStore> a = s.Client("A");
  std::string body;
  ASSERT_TRUE(a->Put("k", "v", PutMode::kPlain, {}).ok());
  ASSERT_TRUE(a->Put("c", "v", PutMode::kCreateOnly, {}).ok());
  EXPECT_EQ(a->Put("c", "v", PutMode::kCreateOnly, {}).err(), EEXIST);
  ASSERT_TRUE(a->GetRange("k", 0, 1, &body, {}).ok());
  ASSERT_TRUE(s.Get("k", &body, {}).ok());
  ASSERT_TRUE(s.List("", "", 5, {}).ok());
  ASSERT_TRUE(a->Delete("k", {}).ok());
  ASSERT_TRUE(a->DeleteMany({"c"}, {}).ok());
  EXPECT_EQ(s.Count(ObjectOp::kPut), 1u);
  EXPECT_EQ(s.Count(ObjectOp::kPutCreateOnly, "A"), 2u);
  EXPECT_EQ(s.Count(ObjectOp::kGetRange, "A"), 1u);
  EXPECT_EQ(s.Count(ObjectOp::kGet, "A"), 0u);
  EXPECT_EQ(s.Count(ObjectOp::kGet, "main"), 1u);
  EXPECT_EQ(s.Count(ObjectOp::kList), 1u);
  EXPECT_EQ(s.Count(ObjectOp::kDelete, "A"), 1u);
  EXPECT_EQ(s.Count(ObjectOp::kDeleteMany, "A"), 1u);
  s.ResetCounts();
  EXPECT_EQ(s.Count(ObjectOp::kPutCreateOnly), 0u);
  EXPECT_STREQ(ObjectOpName(ObjectOp::kPutCreateOnly), "PUT (create-only)");
}

TEST(PoweredObjectStoreTest, APowerCutStopsEveryChangeAtItsBoundary) {
  PowerSwitch power;
  PoweredObjectStore s("mem", &power);
  power.CutAfter(2);  // two boundaries happen, the third finds the power off
  ASSERT_TRUE(s.Put("a", "1", PutMode::kPlain, {}).ok());
  s.Poke("d1", "x");
  s.Poke("d2", "x");
  Status st = s.DeleteMany({"d1", "d2"}, {});  // d1 is deleted, the cut comes at d2
  EXPECT_EQ(st.err(), EIO);
  EXPECT_NE(st.message().find("key 'd2': power off"), std::string::npos) << st.message();
  EXPECT_EQ(s.Peek("d1"), std::nullopt);
  EXPECT_EQ(s.Peek("d2"), "x");
  std::string body;
  EXPECT_EQ(s.Get("a", &body, {}).err(), EIO);  // the host is down: nothing answers
  EXPECT_EQ(s.Put("b", "2", PutMode::kPlain, {}).err(), EIO);
  EXPECT_EQ(s.Peek("b"), std::nullopt);
  power.Restore();
  ASSERT_TRUE(s.Get("a", &body, {}).ok());
  EXPECT_EQ(body, "1");
}

TEST(PoweredObjectStoreTest, DestroyingTheStoreReleasesWaitingCallers) {
  std::future<Status> waiting;
  {
    auto s = std::make_unique<PoweredObjectStore>();
    std::unique_ptr<ObjectStore> a = s->Client("A");
    s->Hold("A");
    waiting = std::async(std::launch::async, [&a] { return a->Put("k", "v", PutMode::kPlain, {}); });
    ASSERT_TRUE(s->WaitForHeld(1, std::chrono::seconds(10)));
    s.reset();
  }
  Status st = waiting.get();
  EXPECT_EQ(st.err(), EIO);
  EXPECT_NE(st.message().find("destroyed while it was held"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace s3nbd::testing
