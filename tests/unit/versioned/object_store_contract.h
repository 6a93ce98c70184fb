// The ObjectStore contract (cache/versioned/object_store.h) as a typed gtest suite, run against
// the in-memory PoweredObjectStore (unit tests) and S3ObjectStore on a real S3 server
// (tests/tools/object_store_contract.cc, driven by tests/integration/test-object-store.sh).
// A binary instantiates it with a type whose static Make() returns a fresh ContractEnv per
// test. No shared state between tests; the race test's threads share only the store.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cache/util/coding.h"
#include "cache/versioned/object_store.h"

namespace s3nbd::testing {

class ContractEnv {
 public:
  virtual ~ContractEnv() = default;
  virtual ObjectStore& store() = 0;
  virtual std::string bucket() const = 0;  // as it appears in messages ("GET <bucket>/<key>")
  virtual std::string prefix() const = 0;  // fresh per test, ends with '/'
};

template <class Factory>
class ObjectStoreContract : public ::testing::Test {
 protected:
  void SetUp() override { env_ = Factory::Make(); }
  ObjectStore& store() { return env_->store(); }
  std::string Key(const std::string& name) const { return env_->prefix() + name; }
  std::string Where(const std::string& name) const { return env_->bucket() + "/" + Key(name); }
  std::unique_ptr<ContractEnv> env_;
};

inline std::string ContractPattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return s;
}

TYPED_TEST_SUITE_P(ObjectStoreContract);

TYPED_TEST_P(ObjectStoreContract, CreateOnlyTwiceIsEexistAndKeepsTheFirst) {
  ObjectStore& s = this->store();
  const std::string k = this->Key("once");
  ASSERT_TRUE(s.Put(k, "first", PutMode::kCreateOnly, {}).ok());
  Status again = s.Put(k, "second", PutMode::kCreateOnly, {});
  EXPECT_EQ(again.err(), EEXIST) << again.message();
  EXPECT_NE(again.message().find(this->Where("once")), std::string::npos) << again.message();
  std::string body;
  ASSERT_TRUE(s.Get(k, &body, {}).ok());
  EXPECT_EQ(body, "first");
  ASSERT_TRUE(s.Put(k, "third", PutMode::kPlain, {}).ok());  // a plain PUT overwrites
  ASSERT_TRUE(s.Get(k, &body, {}).ok());
  EXPECT_EQ(body, "third");
}

TYPED_TEST_P(ObjectStoreContract, ConcurrentCreateOnlyHasOneWinner) {
  ObjectStore& s = this->store();
  const std::string k = this->Key("race");
  constexpr int kThreads = 6;
  std::atomic<int> won{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Status st = s.Put(k, "writer " + std::to_string(i), PutMode::kCreateOnly, {});
      (st.ok() ? won : st.err() == EEXIST ? exists : other)++;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
}

TYPED_TEST_P(ObjectStoreContract, MissingKeyIsEnoentNamingIt) {
  ObjectStore& s = this->store();
  std::string body = "stale";
  Status st = s.Get(this->Key("absent"), &body, {});
  EXPECT_EQ(st.err(), ENOENT);
  EXPECT_NE(st.message().find("GET " + this->Where("absent") + ": not found"), std::string::npos) << st.message();
  EXPECT_TRUE(body.empty());
  body = "stale";
  st = s.GetRange(this->Key("absent"), 0, 10, &body, {});
  EXPECT_EQ(st.err(), ENOENT);
  EXPECT_NE(st.message().find(this->Where("absent")), std::string::npos) << st.message();
  EXPECT_TRUE(body.empty());
  EXPECT_TRUE(s.Delete(this->Key("absent"), {}).ok());  // S3: deleting nothing succeeds
}

TYPED_TEST_P(ObjectStoreContract, RangedGetReturnsExactlyTheRange) {
  ObjectStore& s = this->store();
  const std::string data = ContractPattern(1000), k = this->Key("r");
  ASSERT_TRUE(s.Put(k, data, PutMode::kPlain, {}).ok());
  struct Case { uint64_t offset, length; std::string want; };
  const std::vector<Case> cases = {
      {0, 1, data.substr(0, 1)},        {100, 200, data.substr(100, 200)},
      {999, 1, data.substr(999)},       {0, 1000, data},
      {990, 100, data.substr(990)},     {0, 65536, data},  // past the end: cut at the end
      {1000, 10, ""},                   {5000, 1, ""},     // wholly past the end: empty
  };
  for (const Case& c : cases) {
    std::string body = "stale";
    Status st = s.GetRange(k, c.offset, c.length, &body, {});
    ASSERT_TRUE(st.ok()) << c.offset << "+" << c.length << ": " << st.message();
    EXPECT_EQ(body, c.want) << c.offset << "+" << c.length;
  }
  std::string body;
  EXPECT_EQ(s.GetRange(k, 0, 0, &body, {}).err(), EINVAL);
  ASSERT_TRUE(s.Get(k, &body, {}).ok());
  EXPECT_EQ(body, data);
}

TYPED_TEST_P(ObjectStoreContract, RangedGetOfAnEmptyObjectIsEmpty) {
  ObjectStore& s = this->store();
  ASSERT_TRUE(s.Put(this->Key("empty"), "", PutMode::kPlain, {}).ok());
  std::string body = "stale";
  Status st = s.GetRange(this->Key("empty"), 0, 10, &body, {});
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(body, "");
  body = "stale";
  ASSERT_TRUE(s.Get(this->Key("empty"), &body, {}).ok());
  EXPECT_EQ(body, "");
}

TYPED_TEST_P(ObjectStoreContract, ListPagesWithStartAfterInKeyOrder) {
  ObjectStore& s = this->store();
  // Under l/: seven keys put out of order, of different sizes; neighbours outside the prefix.
  const std::vector<std::string> names = {"l/05", "l/00", "l/03", "l/06", "l/01", "l/04", "l/02"};
  for (const std::string& n : names) {
    ASSERT_TRUE(s.Put(this->Key(n), std::string(n.back() - '0' + 1, 'x'), PutMode::kPlain, {}).ok());
  }
  ASSERT_TRUE(s.Put(this->Key("l"), "not under l/", PutMode::kPlain, {}).ok());
  ASSERT_TRUE(s.Put(this->Key("m/00"), "not under l/", PutMode::kPlain, {}).ok());
  auto walk = [&](const std::string& start, int max, int* pages) {
    std::vector<ObjectInfo> got;
    std::string after = start;
    *pages = 0;
    for (bool more = true; more;) {
      Result<ObjectPage> page = s.List(this->Key("l/"), after, max, {});
      EXPECT_TRUE(page.ok()) << page.status().message();
      if (!page.ok() || ++*pages > 20) break;
      EXPECT_LE(page->objects.size(), static_cast<size_t>(max));
      EXPECT_TRUE(!page->more || !page->objects.empty()) << "an empty page that says more follow";
      for (const ObjectInfo& o : page->objects) got.push_back(o);
      more = page->more;
      if (!page->objects.empty()) after = page->objects.back().key;
    }
    return got;
  };
  std::vector<ObjectInfo> want;
  for (int i = 0; i < 7; ++i) want.push_back({this->Key("l/0" + std::to_string(i)), uint64_t(i + 1)});
  int pages = 0;
  EXPECT_EQ(walk("", 2, &pages), want);
  EXPECT_GE(pages, 4);  // 2 + 2 + 2 + 1
  std::vector<ObjectInfo> tail(want.begin() + 3, want.end());
  EXPECT_EQ(walk(this->Key("l/02"), 2, &pages), tail);        // after a key
  EXPECT_EQ(walk(this->Key("l/025"), 2, &pages), tail);       // after a position between keys
  EXPECT_EQ(walk(this->Key("l/06"), 2, &pages), std::vector<ObjectInfo>{});  // after the last
  EXPECT_EQ(walk("", 1000, &pages), want);
  EXPECT_EQ(pages, 1);
  Result<ObjectPage> none = s.List(this->Key("nothing/"), "", 10, {});
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->objects.empty());
  EXPECT_FALSE(none->more);
  EXPECT_EQ(s.List(this->Key("l/"), "", 0, {}).status().err(), EINVAL);
}

TYPED_TEST_P(ObjectStoreContract, DeleteManyDeletesEveryKeyMissingOnesIncluded) {
  ObjectStore& s = this->store();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.Put(this->Key("d/" + std::to_string(i)), "x", PutMode::kPlain, {}).ok());
  Status st = s.DeleteMany({this->Key("d/0"), this->Key("d/2"), this->Key("d/4"), this->Key("d/absent")}, {});
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(s.DeleteMany({}, {}).ok());
  ASSERT_TRUE(s.Delete(this->Key("d/3"), {}).ok());
  Result<ObjectPage> page = s.List(this->Key("d/"), "", 100, {});
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(page->objects, (std::vector<ObjectInfo>{{this->Key("d/1"), 1}}));
  std::string body;
  EXPECT_EQ(s.Get(this->Key("d/2"), &body, {}).err(), ENOENT);
}

TYPED_TEST_P(ObjectStoreContract, PastDeadlineIsAbandonedWithErofsAndChangesNothing) {
  ObjectStore& s = this->store();
  ASSERT_TRUE(s.Put(this->Key("kept"), "kept", PutMode::kPlain, {}).ok());
  const S3Deadline past{SteadyNowNs() - 1000000, "writer lease expired"};
  auto check = [&](const Status& st, const std::string& what) {
    EXPECT_EQ(st.err(), EROFS) << what << ": " << st.message();
    EXPECT_NE(st.message().find("abandoned: writer lease expired"), std::string::npos) << what << ": " << st.message();
  };
  Status put = s.Put(this->Key("late"), "x", PutMode::kCreateOnly, past);
  check(put, "create-only PUT");
  EXPECT_NE(put.message().find(this->Where("late")), std::string::npos) << put.message();
  check(s.Put(this->Key("kept"), "overwritten", PutMode::kPlain, past), "PUT");
  std::string body;
  check(s.Get(this->Key("kept"), &body, past), "GET");
  check(s.GetRange(this->Key("kept"), 0, 2, &body, past), "ranged GET");
  check(s.List(this->Key(""), "", 10, past).status(), "LIST");
  check(s.Delete(this->Key("kept"), past), "DELETE");
  check(s.DeleteMany({this->Key("kept")}, past), "multi-delete");
  EXPECT_EQ(s.Get(this->Key("late"), &body, {}).err(), ENOENT);
  ASSERT_TRUE(s.Get(this->Key("kept"), &body, {}).ok());
  EXPECT_EQ(body, "kept");
}

REGISTER_TYPED_TEST_SUITE_P(ObjectStoreContract, CreateOnlyTwiceIsEexistAndKeepsTheFirst,
                            ConcurrentCreateOnlyHasOneWinner, MissingKeyIsEnoentNamingIt,
                            RangedGetReturnsExactlyTheRange, RangedGetOfAnEmptyObjectIsEmpty,
                            ListPagesWithStartAfterInKeyOrder,
                            DeleteManyDeletesEveryKeyMissingOnesIncluded,
                            PastDeadlineIsAbandonedWithErofsAndChangesNothing);

}  // namespace s3nbd::testing
