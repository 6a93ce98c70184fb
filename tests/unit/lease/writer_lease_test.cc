#include "cache/lease/writer_lease.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include <gtest/gtest.h>

#include "tests/unit/s3/fake_s3_server.h"
#include "tests/unit/support/memory_block_store.h"

namespace s3nbd {
namespace {

TEST(WriterLeaseTest, RecordRoundTrips) {
  LeaseRecord r{"host1", 4242, "2026-11-22T01:00:00Z", "00112233445566778899aabbccddeeff", 1795000000, 60};
  auto back = DecodeLease(EncodeLease(r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->host, "host1");
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->token, r.token);
  EXPECT_EQ(back->expires, 1795000000);
  EXPECT_EQ(back->seconds, 60);
}

TEST(WriterLeaseTest, DescribeNamesHolderAndExpiry) {
  LeaseRecord r{"box", 7, "2026-11-22T01:00:00Z", "aa", 1000, 60};
  std::string live = DescribeLease(r, 990), dead = DescribeLease(r, 1030);
  EXPECT_NE(live.find("host box pid 7"), std::string::npos) << live;
  EXPECT_NE(live.find("in 10 s"), std::string::npos) << live;
  EXPECT_NE(dead.find("30 s ago"), std::string::npos) << dead;
}

TEST(WriterLeaseTest, RefusesHostileRecords) {
  EXPECT_FALSE(DecodeLease("").ok());
  EXPECT_FALSE(DecodeLease("garbage").ok());
  EXPECT_FALSE(DecodeLease("s3nbd-lease 1\nhost h\n").ok());                      // no token/expiry
  EXPECT_FALSE(DecodeLease("s3nbd-lease 1\ntoken t\nexpires soon\n").ok());      // not a number
  EXPECT_FALSE(DecodeLease(std::string(5000, 'x')).ok());
  EXPECT_TRUE(DecodeLease("s3nbd-lease 1\ntoken t\nexpires 5\nfuture thing\n").ok());
  uint64_t seed = 3;
  std::string ok = EncodeLease({"h", 1, "s", "tok", 99, 60});
  for (int i = 0; i < 5000; i++) {
    std::string t = ok;
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    t[(seed >> 33) % t.size()] = static_cast<char>(seed >> 20);
    if (i % 3 == 0) t.resize((seed >> 40) % (t.size() + 1));
    (void)DecodeLease(t);  // must not crash
  }
}

std::unique_ptr<S3Client> Client(const std::string& endpoint) {
  S3Config c;
  c.endpoint = endpoint;
  c.bucket = "bkt";
  c.credentials = {"AKIATEST", "secret", ""};
  c.retry_seconds = 0;  // one attempt: renewal failures show at once
  c.max_connections = 2;
  return std::move(S3Client::Create(c)).value();
}

std::string Lease(const std::string& token, const std::string& host = "me") {
  return EncodeLease({host, 1, "2026-11-22T01:00:00Z", token, 4000000000, 3});
}

TEST(WriterLeaseTest, WritesStopWhenRenewalFailsPastExpiry) {
  // create-only PUT ok, verifying GET shows our token, then the server fails every request
  FakeS3Server server({{200, ""}, {200, Lease("tok1")}, {500, ""}});
  auto client = Client(server.endpoint());
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 3, false, "tok1");
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  EXPECT_NE(server.requests()[0].head.find("If-None-Match: *"), std::string::npos);
  auto mem = std::make_unique<testing::MemoryBlockStore>();
  auto* raw = mem.get();
  LeaseGuardStore guard(lease->get(), std::move(mem));
  ASSERT_TRUE(guard.Write(1, "data").ok());  // valid right after acquiring
  Status renew = (*lease)->RenewOnce();
  EXPECT_FALSE(renew.ok());
  EXPECT_NE(renew.err(), EROFS) << "a failed renewal is not yet a lost lease";
  Status w;
  for (int i = 0; i < 300 && (w = guard.Write(2, "data")).ok(); i++)  // until the lease lapses
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(w.err(), EROFS);
  EXPECT_NE(w.message().find("expired"), std::string::npos) << w.message();
  EXPECT_EQ(guard.Write(3, "data").err(), EROFS);
  uint64_t blocks[] = {1};
  EXPECT_EQ(guard.Erase(blocks).err(), EROFS);
  EXPECT_EQ(raw->Get(1), "data");
  EXPECT_TRUE(raw->Get(3).empty()) << "a refused write never reaches the store";
  std::string out;
  EXPECT_TRUE(guard.Read(1, &out).ok()) << "reads go on";
}

TEST(WriterLeaseTest, LosingTheLeaseStopsWritesForGood) {
  FakeS3Server server({{200, ""}, {200, Lease("tok1")}, {200, Lease("tok2", "thief")}});
  auto client = Client(server.endpoint());
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 60, false, "tok1");
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  Status renew = (*lease)->RenewOnce();
  EXPECT_EQ(renew.err(), EROFS);
  EXPECT_NE(renew.message().find("now held by host thief"), std::string::npos) << renew.message();
  Status w = (*lease)->CheckWritable(7);
  EXPECT_EQ(w.err(), EROFS);
  EXPECT_NE(w.message().find("lost"), std::string::npos);
  size_t before = server.requests().size();
  lease->reset();  // never started serving here: must not touch the other writer's lease
  EXPECT_EQ(server.requests().size(), before);
}

TEST(WriterLeaseTest, RenewalAfterALocalLapseLosesTheLeaseAndSendsNothing) {
  FakeS3Server server({{200, ""}, {200, Lease("tok1")}});  // later GETs would still say "ours"
  auto client = Client(server.endpoint());
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 3, false, "tok1");
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // valid for 3 - 1 s
  size_t before = server.requests().size();
  Status renew = (*lease)->RenewOnce();
  EXPECT_EQ(renew.err(), EROFS);
  EXPECT_NE(renew.message().find("lapsed"), std::string::npos) << renew.message();
  EXPECT_EQ((*lease)->CheckWritable(1).err(), EROFS);
  EXPECT_EQ((*lease)->RenewOnce().err(), EROFS) << "lost for good";
  (*lease)->Release();
  EXPECT_EQ(server.requests().size(), before) << "no blind PUT, no DELETE of what may be another's lease";
}

TEST(WriterLeaseTest, RenewingInTheBackgroundKeepsALongOpenFromLapsing) {
  FakeS3Server server({{200, ""}, {200, Lease("tok1")}});  // then every GET says "ours", PUTs succeed
  auto client = Client(server.endpoint());
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 3, false, "tok1");
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  (*lease)->RenewInBackground();  // e.g. while the open lists a large bucket
  std::this_thread::sleep_for(std::chrono::milliseconds(2600));  // past the first validity (2 s)
  (*lease)->StopRenewal();  // before nbdkit forks
  EXPECT_TRUE((*lease)->CheckWritable(0).ok()) << (*lease)->CheckWritable(0).message();
  EXPECT_TRUE((*lease)->RenewOnce().ok()) << "still renewable after the long open";
}

TEST(WriterLeaseTest, TheRenewalPutIsBoundedByTheValidity) {
  // create, verify; renewal GET says ours; its PUT is answered only after 2.5 s
  FakeS3Server server({{200, ""}, {200, Lease("tok1")}, {200, Lease("tok1")}, {200, "", "", 2500}});
  auto client = Client(server.endpoint());
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 3, false, "tok1");
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  Result<int64_t> deadline = (*lease)->WriteDeadline(9);
  ASSERT_TRUE(deadline.ok());
  auto t0 = std::chrono::steady_clock::now();
  Status renew = (*lease)->RenewOnce();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0);
  EXPECT_EQ(renew.err(), EROFS) << renew.message();
  EXPECT_NE(renew.message().find("PUT bkt/v/lease.s3nbd: abandoned: writer lease expired"), std::string::npos)
      << renew.message();
  // curl's timer may fire a hair before the deadline: from the deadline on, no write may start
  std::this_thread::sleep_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(*deadline)));
  EXPECT_EQ((*lease)->WriteDeadline(9).status().err(), EROFS);
}

TEST(WriterLeaseTest, TheRecordedExpiryIsNeverSoonerThanTheDuration) {
  FakeS3Server server({{200, ""}, {200, Lease("tok1")}});
  auto client = Client(server.endpoint());
  double before = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 10, false, "tok1");
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  auto sent = DecodeLease(server.requests()[0].body);
  ASSERT_TRUE(sent.ok());
  // others take over at `expires` on their clock: rounded up, never before now + duration
  EXPECT_GE(static_cast<double>(sent->expires), before + 10) << "truncated to whole seconds";
}

TEST(WriterLeaseTest, TakesOverAnExpiredLease) {
  std::string expired = EncodeLease({"ghost", 9, "2020-01-01T00:00:00Z", "old", 1600000000, 60});
  FakeS3Server server({{412, "<Error><Code>PreconditionFailed</Code></Error>"},
                       {200, expired},
                       {204, ""},
                       {200, ""},
                       {200, Lease("mine")}});
  auto client = Client(server.endpoint());
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 60, false, "mine");
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[2].head.rfind("DELETE ", 0), 0u) << reqs[2].head;
  EXPECT_EQ(reqs[3].head.rfind("PUT ", 0), 0u);
  EXPECT_NE(reqs[3].head.find("If-None-Match: *"), std::string::npos) << "takeover re-creates create-only";
  EXPECT_NE(reqs[3].body.find("token mine"), std::string::npos);
  EXPECT_TRUE((*lease)->CheckWritable(0).ok());
}

TEST(WriterLeaseTest, LosingTheVerifyingGetIsARefusal) {
  // our create-only PUT "succeeds" but the GET shows another writer's unexpired lease
  FakeS3Server server({{200, ""}, {200, Lease("theirs", "racer")}});
  auto client = Client(server.endpoint());
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 60, false, "mine");
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().err(), EBUSY);
  EXPECT_NE(lease.status().message().find("host racer"), std::string::npos) << lease.status().message();
}

TEST(WriterLeaseTest, RefusesAnUnexpiredLeaseNamingItsHolder) {
  // create-only PUT answers 412; GET shows another holder whose lease expires far ahead
  FakeS3Server server({{412, "<Error><Code>PreconditionFailed</Code></Error>"}, {200, Lease("x", "other")}});
  auto client = Client(server.endpoint());
  auto lease = WriterLease::Acquire(client.get(), "v/lease.s3nbd", "b/v", 60, false);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().err(), EBUSY);
  EXPECT_NE(lease.status().message().find("host other pid 1"), std::string::npos) << lease.status().message();
  EXPECT_NE(lease.status().message().find("expires at"), std::string::npos);
  for (const auto& r : server.requests()) EXPECT_EQ(r.head.find("DELETE"), std::string::npos);
}

}  // namespace
}  // namespace s3nbd

namespace s3nbd {
namespace {

LeaseRecord HereRecord(int64_t pid, int64_t now) {
  LeaseRecord r;
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  r.host = host;
  r.pid = pid;
  r.seconds = 60;
  r.expires = now + 50;  // written 10 s ago
  r.token = "0123456789abcdef0123456789abcdef";
  std::FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r");
  char buf[64] = {0};
  if (f) {
    if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
    std::fclose(f);
  }
  r.boot = buf;
  while (!r.boot.empty() && r.boot.back() == '\n') r.boot.pop_back();
  return r;
}

TEST(WriterLeaseDeadHolderTest, OnlyAProvablyDeadLocalHolderIsStale) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  ASSERT_FALSE(HereRecord(getpid(), now).boot.empty());
  EXPECT_FALSE(HolderIsDeadHere(HereRecord(getpid(), now), now));  // alive: ourselves
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);
  LeaseRecord dead = HereRecord(child, now);
  EXPECT_TRUE(HolderIsDeadHere(dead, now));
  LeaseRecord other_host = dead;
  other_host.host += "-elsewhere";
  EXPECT_FALSE(HolderIsDeadHere(other_host, now));
  LeaseRecord other_boot = dead;
  other_boot.boot = "00000000-0000-0000-0000-000000000000";
  EXPECT_FALSE(HolderIsDeadHere(other_boot, now));
  LeaseRecord no_boot = dead;  // written by an older s3nbd: cannot tell
  no_boot.boot.clear();
  EXPECT_FALSE(HolderIsDeadHere(no_boot, now));
  LeaseRecord fresh = dead;  // just rewritten: the holder may be mid-fork
  fresh.expires = now + fresh.seconds;
  EXPECT_FALSE(HolderIsDeadHere(fresh, now));
  LeaseRecord reused = HereRecord(getpid(), now);  // our pid, but another process start time
  reused.pidstart = 1;
  EXPECT_TRUE(HolderIsDeadHere(reused, now));
  auto back = DecodeLease(EncodeLease(dead));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->boot, dead.boot);
}

}  // namespace
}  // namespace s3nbd
