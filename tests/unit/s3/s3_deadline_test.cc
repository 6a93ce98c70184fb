// Tests of the write deadline (S3Deadline, WriteFence): an attempt is cut at the deadline and
// its connection reset, no attempt starts after it, retries stop at it, and S3BlockStore bounds
// its PUTs and DELETEs by its fence (EROFS naming the block and "writer lease expired").
#include <gtest/gtest.h>

#include <chrono>

#include "cache/s3/s3_block_store.h"
#include "cache/s3/s3_client.h"
#include "tests/unit/s3/fake_s3_server.h"

namespace s3nbd {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::unique_ptr<S3Client> Client(const std::string& endpoint, double retry_seconds) {
  S3Config c;
  c.endpoint = endpoint;
  c.bucket = "bkt";
  c.credentials = {"AKIATEST", "secret", ""};
  c.retry_seconds = retry_seconds;
  c.max_connections = 2;
  return std::move(S3Client::Create(c)).value();
}

int64_t NsFromNow(int ms) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             (steady_clock::now() + milliseconds(ms)).time_since_epoch())
      .count();
}

double SecondsSince(steady_clock::time_point t) {
  return std::chrono::duration<double>(steady_clock::now() - t).count();
}

TEST(S3DeadlineTest, AnAttemptIsCutAtTheDeadlineAndItsConnectionReset) {
  FakeS3Server server({{200, "", "", 1500}});  // answers after 1.5 s
  auto client = Client(server.endpoint(), 60);
  S3PutOptions put;
  put.deadline = {NsFromNow(300), "writer lease expired"};
  auto t0 = steady_clock::now();
  Status s = client->Put("v/b/0", std::string(100000, 'x'), put);
  EXPECT_LT(SecondsSince(t0), 1.2) << "the attempt outlived its deadline";
  EXPECT_EQ(s.err(), EROFS) << s.message();
  EXPECT_NE(s.message().find("PUT bkt/v/b/0: abandoned: writer lease expired"), std::string::npos)
      << s.message();
  // the server saw the connection reset, so the request was aborted, not delivered late
  for (int i = 0; i < 50 && server.requests().empty(); i++)
    std::this_thread::sleep_for(milliseconds(100));
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(server.requests()[0].client_reset)
      << "closed with FIN: " << server.requests()[0].client_closed;
}

TEST(S3DeadlineTest, ACutAttemptIsAbandonedEvenWithoutRetries) {
  // curl's timer may fire just before the deadline: the attempt was still cut by it
  FakeS3Server server({{200, "", "", 700}});
  auto client = Client(server.endpoint(), 0);  // no retry budget at all
  for (int i = 0; i < 3; i++) {
    S3PutOptions put;
    put.deadline = {NsFromNow(150), "writer lease expired"};
    Status s = client->Put("v/b/" + std::to_string(i), "data", put);
    EXPECT_EQ(s.err(), EROFS) << s.message();
    EXPECT_NE(s.message().find("abandoned: writer lease expired"), std::string::npos) << s.message();
  }
}

TEST(S3DeadlineTest, NoAttemptStartsAfterTheDeadline) {
  FakeS3Server server({{200, ""}});
  auto client = Client(server.endpoint(), 60);
  S3Deadline past{NsFromNow(-1), "writer lease expired"};
  S3PutOptions put;
  put.deadline = past;
  Status s = client->Put("v/b/1", "data", put);
  EXPECT_EQ(s.err(), EROFS);
  EXPECT_NE(s.message().find("no attempt started"), std::string::npos) << s.message();
  EXPECT_EQ(client->Delete("v/b/1", past).err(), EROFS);
  EXPECT_EQ(client->DeleteMany({"v/b/1", "v/b/2"}, past).err(), EROFS);
  std::string body;
  EXPECT_EQ(client->Get("v/lease.s3nbd", &body, past).err(), EROFS);
  EXPECT_TRUE(server.requests().empty());
}

TEST(S3DeadlineTest, RetriesStopAtTheDeadline) {
  FakeS3Server server({{503, "<Error><Code>SlowDown</Code></Error>"}});
  auto client = Client(server.endpoint(), 60);
  S3PutOptions put;
  put.deadline = {NsFromNow(400), "writer lease expired"};
  auto t0 = steady_clock::now();
  Status s = client->Put("v/b/2", "data", put);
  EXPECT_LT(SecondsSince(t0), 1.5) << "retried past the deadline";
  EXPECT_EQ(s.err(), EROFS) << s.message();
  EXPECT_NE(s.message().find("the last: HTTP 503 SlowDown"), std::string::npos) << s.message();
}

TEST(S3DeadlineTest, AnAnswerBeforeTheDeadlineIsKept) {
  FakeS3Server server({{412, "<Error><Code>PreconditionFailed</Code></Error>"}});
  auto client = Client(server.endpoint(), 60);
  S3PutOptions put;
  put.if_none_match = true;
  put.deadline = {NsFromNow(5000), "writer lease expired"};
  EXPECT_EQ(client->Put("v/lease.s3nbd", "x", put).err(), EEXIST);
}

class FixedFence : public WriteFence {
 public:
  explicit FixedFence(int64_t at) : at_(at) {}
  Result<int64_t> WriteDeadline(uint64_t block) const override {
    if (at_ == 0)
      return Status::Error(EROFS, "block " + std::to_string(block) + ": the writer lease was lost");
    return at_;
  }

 private:
  int64_t at_;
};

TEST(S3DeadlineTest, BlockStoreBoundsPutsAndDeletesByItsFence) {
  FakeS3Server server({{200, "", "", 1500}});
  auto client = Client(server.endpoint(), 60);
  FixedFence fence(NsFromNow(300));
  S3BlockStore store(client.get(), BlockKeys("v", KeyLayout::kFlat), 16, &fence);
  auto t0 = steady_clock::now();
  Status s = store.Write(5, std::string(4096, 'a'));
  EXPECT_LT(SecondsSince(t0), 1.2);
  EXPECT_EQ(s.err(), EROFS);
  EXPECT_EQ(s.message().rfind("block 5: PUT bkt/", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("abandoned: writer lease expired"), std::string::npos) << s.message();
  uint64_t blocks[] = {3, 4};
  EXPECT_EQ(store.Erase(blocks).err(), EROFS) << "the deadline has passed: no DELETE starts";

  FixedFence lost(0);
  S3BlockStore refused(client.get(), BlockKeys("v", KeyLayout::kFlat), 16, &lost);
  Status r = refused.Write(7, "x");
  EXPECT_EQ(r.err(), EROFS);
  EXPECT_NE(r.message().find("block 7"), std::string::npos) << r.message();
  for (int i = 0; i < 30 && server.requests().empty(); i++)
    std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(server.requests().size(), 1u) << "only the first PUT reached the server";
}

}  // namespace
}  // namespace s3nbd
