// Tests of refresh-ahead credentials with an injected clock and a scripted provider: when a
// refresh happens, that only one caller refreshes, that failures keep the old credentials
// until they expire, and that the hot path never calls the provider.
#include "cache/s3/refreshing_credentials.h"

#include <gtest/gtest.h>

#include <deque>
#include <thread>
#include <vector>

namespace s3nbd {
namespace {

using std::chrono::seconds;

struct FakeClock {
  WallTime now = std::chrono::system_clock::from_time_t(1800000000);
  WallClock fn() {
    return [this] { return now; };
  }
};

// Hands out "AK<n>" credentials valid for `lifetime` from the clock's now, or a scripted failure.
class ScriptedProvider : public CredentialProvider {
 public:
  ScriptedProvider(FakeClock* clock, seconds lifetime) : clock_(clock), lifetime_(lifetime) {}
  Result<Credentials> Fetch() override {
    ++fetches;
    if (fail) return Status::Error(EHOSTUNREACH, "source down");
    Credentials c{"AK" + std::to_string(fetches), "secret", "token", clock_->now + lifetime_};
    return c;
  }
  std::string Describe() const override { return "scripted"; }
  std::atomic<int> fetches{0};
  bool fail = false;

 private:
  FakeClock* clock_;
  seconds lifetime_;
};

TEST(RefreshingCredentialsTest, RefreshWindow) {
  WallTime t0 = std::chrono::system_clock::from_time_t(0);
  EXPECT_EQ(RefreshAhead(t0, t0 + seconds(3600)), seconds(300));  // capped at 5 minutes
  EXPECT_EQ(RefreshAhead(t0, t0 + seconds(20)), seconds(10));     // half a short lifetime
  EXPECT_EQ(RefreshAhead(t0, t0 - seconds(5)), seconds(0));
  EXPECT_EQ(NextAttemptAfter(t0, t0 + seconds(3600)), t0 + seconds(60));
  EXPECT_EQ(NextAttemptAfter(t0, t0 + seconds(8)), t0 + seconds(2));
  EXPECT_EQ(NextAttemptAfter(t0, t0 - seconds(8)), t0 + seconds(1));
}

TEST(RefreshingCredentialsTest, StaticCredentialsNeverRefresh) {
  FakeClock clock;
  auto p = std::make_unique<ScriptedProvider>(&clock, seconds(10));
  ScriptedProvider* raw = p.get();
  RefreshingCredentials rc(std::move(p), Credentials{"AKSTATIC", "s", "", {}}, clock.fn());
  clock.now += seconds(1000000);
  auto c = rc.Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->access_key, "AKSTATIC");
  EXPECT_EQ(raw->fetches, 0);
}

TEST(RefreshingCredentialsTest, RefreshesAheadOfExpiry) {
  FakeClock clock;
  auto p = std::make_unique<ScriptedProvider>(&clock, seconds(3600));
  ScriptedProvider* raw = p.get();
  Credentials first{"AK0", "s", "t", clock.now + seconds(3600)};
  RefreshingCredentials rc(std::move(p), first, clock.fn());
  clock.now += seconds(3600 - 301);
  EXPECT_EQ((*rc.Get())->access_key, "AK0");
  EXPECT_EQ(raw->fetches, 0);
  clock.now += seconds(2);  // inside the 5-minute window
  EXPECT_EQ((*rc.Get())->access_key, "AK1");
  EXPECT_EQ(raw->fetches, 1);
  EXPECT_EQ(rc.refreshes(), 1u);
  EXPECT_EQ((*rc.Get())->access_key, "AK1");
  EXPECT_EQ(raw->fetches, 1);
}

TEST(RefreshingCredentialsTest, FailedRefreshKeepsOldUntilExpiryThenFails) {
  FakeClock clock;
  auto p = std::make_unique<ScriptedProvider>(&clock, seconds(20));
  ScriptedProvider* raw = p.get();
  RefreshingCredentials rc(std::move(p), Credentials{"AK0", "s", "t", clock.now + seconds(20)},
                           clock.fn());
  raw->fail = true;
  clock.now += seconds(11);  // window: the last 10 s
  auto c = rc.Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->access_key, "AK0");
  EXPECT_EQ(raw->fetches, 1);
  EXPECT_EQ(rc.failed_refreshes(), 1u);
  EXPECT_EQ((*rc.Get())->access_key, "AK0");  // retry not before 2 s later
  EXPECT_EQ(raw->fetches, 1);
  clock.now += seconds(3);
  EXPECT_EQ((*rc.Get())->access_key, "AK0");
  EXPECT_EQ(raw->fetches, 2);
  clock.now += seconds(10);  // expired
  auto e = rc.Get();
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("scripted expired at"), std::string::npos);
  EXPECT_NE(e.status().message().find("source down"), std::string::npos);
  EXPECT_EQ(e.status().err(), EHOSTUNREACH);
  int before = raw->fetches;
  EXPECT_FALSE(rc.Get().ok());  // within the back-off: the same error, no new fetch
  EXPECT_EQ(raw->fetches, before);
  raw->fail = false;
  clock.now += seconds(2);
  auto ok = rc.Get();
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)->access_key, "AK" + std::to_string(raw->fetches.load()));
}

TEST(RefreshingCredentialsTest, ASourceThatRotatesLateIsNotAskedAtEveryRequest) {
  FakeClock clock;
  // The source keeps handing out the same credentials (EC2 rotates them late): the window is
  // measured from each fetch, so the next attempt comes after half the remaining time.
  class SameExpiry : public CredentialProvider {
   public:
    explicit SameExpiry(WallTime exp) : exp_(exp) {}
    Result<Credentials> Fetch() override {
      ++fetches;
      return Credentials{"AKSAME", "s", "t", exp_};
    }
    std::string Describe() const override { return "same"; }
    int fetches = 0;
    WallTime exp_;
  };
  auto p = std::make_unique<SameExpiry>(clock.now + seconds(100));
  SameExpiry* raw = p.get();
  RefreshingCredentials rc(std::move(p), Credentials{"AKSAME", "s", "t", clock.now + seconds(100)},
                           clock.fn());
  clock.now += seconds(60);  // window opened at 50 s
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(rc.Get().ok());
  EXPECT_EQ(raw->fetches, 1);
  clock.now += seconds(19);  // next: half of the 40 s left
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(rc.Get().ok());
  EXPECT_EQ(raw->fetches, 1);
  clock.now += seconds(2);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(rc.Get().ok());
  EXPECT_EQ(raw->fetches, 2);
}

TEST(RefreshingCredentialsTest, AlreadyExpiredAnswersAreNotRefetchedPerRequest) {
  FakeClock clock;
  auto p = std::make_unique<ScriptedProvider>(&clock, seconds(-30));  // a skewed source
  ScriptedProvider* raw = p.get();
  RefreshingCredentials rc(std::move(p), Credentials{"AK0", "s", "t", clock.now - seconds(30)},
                           clock.fn());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(rc.Get().ok());
  EXPECT_EQ(raw->fetches, 1);
  clock.now += seconds(2);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(rc.Get().ok());
  EXPECT_EQ(raw->fetches, 2);
}

TEST(RefreshingCredentialsTest, ConcurrentCallersRefreshOnce) {
  FakeClock clock;
  auto p = std::make_unique<ScriptedProvider>(&clock, seconds(3600));
  ScriptedProvider* raw = p.get();
  RefreshingCredentials rc(std::move(p), Credentials{"AK0", "s", "t", clock.now + seconds(100)},
                           clock.fn());
  clock.now += seconds(200);  // expired: every caller must wait for the one refresh
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 1000; ++k) {
        auto c = rc.Get();
        if (c.ok() && (*c)->access_key == "AK1") ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8000);
  EXPECT_EQ(raw->fetches, 1);
}

}  // namespace
}  // namespace s3nbd
