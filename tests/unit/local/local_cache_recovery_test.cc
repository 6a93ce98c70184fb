// Tests of LocalCacheStore persistence: crash recovery (Abandon = kill -9: threads stop, no
// drain, no sync), epoch order after recovery, CLEAN copies reused, and refusal of corrupt
// cache files and of files from another volume or block size.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "tests/unit/local/local_cache_fixture.h"

namespace s3nbd {
namespace {

using testing::Block;
using testing::Geometry;
using testing::Poke;
using testing::TestVolume;
using LocalRecoveryTest = testing::LocalCacheFixture;

TEST_F(LocalRecoveryTest, CrashRecoveryUploadsDirtyBlocks) {
  mem_.Set(20, Block('x'));
  mem_.Set(21, Block('y'));
  auto c = Open(Options());
  for (uint64_t b = 0; b < 10; b++)
    ASSERT_TRUE(c->Write(b, Block(static_cast<char>('a' + b))).ok());
  uint64_t twenty = 20;
  ASSERT_TRUE(c->Erase(std::span<const uint64_t>(&twenty, 1)).ok());
  ASSERT_TRUE(c->Write(21, std::string(4096, '\0')).ok());
  c->Abandon();
  c.reset();  // as if killed: nothing uploaded
  ASSERT_EQ(mem_.writes.load(), 0u);

  c.reset();  // one server per cache file (flock)
  c = Open(Options());
  EXPECT_EQ(c->counters().dirty_bytes.load(), 10u * 4096);
  EXPECT_EQ(c->counters().writeback_queue.load(), 12u);
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
  std::string d;
  ASSERT_TRUE(c->Read(3, &d).ok());
  EXPECT_EQ(d, Block('d'));
  ASSERT_TRUE(c->Read(20, &d).ok());
  EXPECT_EQ(d, std::string(4096, '\0'));
  c->Start();
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(10000)).ok());
  for (uint64_t b = 0; b < 10; b++) EXPECT_EQ(mem_.Get(b), Block(static_cast<char>('a' + b)));
  EXPECT_FALSE(mem_.Has(20));
  EXPECT_FALSE(mem_.Has(21));
}

// A real SIGKILL in a child process (gtest death test) right after acknowledged writes.
TEST_F(LocalRecoveryTest, KillNineLosesNothingAcknowledged) {
  GTEST_FLAG_SET(death_test_style, "fast");  // the child must see this fixture's temp dir
  EXPECT_EXIT(
      {
        auto c = Open(Options());
        for (uint64_t b = 0; b < 20; b++) {
          if (!c->Write(b, Block(static_cast<char>('A' + b))).ok()) _exit(1);
        }
        uint64_t five = 5;
        if (!c->Erase(std::span<const uint64_t>(&five, 1)).ok()) _exit(1);
        raise(SIGKILL);
      },
      ::testing::KilledBySignal(SIGKILL), "");
  auto c = Open(Options());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->counters().dirty_bytes.load(), 19u * 4096);  // block 5's data was erased
  EXPECT_EQ(c->counters().writeback_queue.load(), 20u);
  c->Start();
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(10000)).ok());
  for (uint64_t b = 0; b < 20; b++) {
    if (b == 5) continue;
    EXPECT_EQ(mem_.Get(b), Block(static_cast<char>('A' + b))) << b;
  }
  EXPECT_FALSE(mem_.Has(5));
}

TEST_F(LocalRecoveryTest, ReopenWithAnotherSizeKeepsTheFileGeometry) {
  auto c = Open(Options(16));
  ASSERT_TRUE(c->Write(1, Block('g')).ok());
  c.reset();
  c = Open(Options(64));
  EXPECT_EQ(c->slot_count(), 16u);
  std::string d;
  ASSERT_TRUE(c->Read(1, &d).ok());
  EXPECT_EQ(d, Block('g'));
}

TEST_F(LocalRecoveryTest, RecoveredVersionsUploadInEpochOrder) {
  CacheOptions o = Options();
  o.flush_policy = FlushPolicy::kLocal;
  auto c = Open(o);
  for (uint64_t b = 0; b < 5; b++) ASSERT_TRUE(c->Write(b, Block('A')).ok());
  ASSERT_TRUE(c->Flush().ok());
  for (uint64_t b = 3; b < 8; b++) ASSERT_TRUE(c->Write(b, Block('B')).ok());
  ASSERT_TRUE(c->Flush().ok());
  c.reset();
  c = Open(o);
  ASSERT_TRUE(c->Write(9, Block('C')).ok());  // after the restart: a later epoch
  c->Start();
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(10000)).ok());
  std::string order;
  for (auto& e : gate_->events()) order += e.tag;
  EXPECT_EQ(order, "AAAAABBBBBC");
  EXPECT_EQ(mem_.Get(4), Block('B'));
  EXPECT_EQ(mem_.Get(2), Block('A'));
}

TEST_F(LocalRecoveryTest, CleanCopiesAreReusedAfterRestart) {
  auto c = Open(Options());
  c->Start();
  ASSERT_TRUE(c->Write(1, Block('c')).ok());
  ASSERT_TRUE(c->Flush().ok());
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
  c.reset();
  c = Open(Options());
  std::string d;
  ASSERT_TRUE(c->Read(1, &d).ok());
  EXPECT_EQ(d, Block('c'));
  EXPECT_EQ(mem_.reads.load(), 0u);
  EXPECT_EQ(c->counters().hits.load(), 1u);
}

TEST_F(LocalRecoveryTest, CorruptIndexIsRefusedOrDiscardedOnRequest) {
  auto c = Open(Options());
  ASSERT_TRUE(c->Write(1, Block('q')).ok());
  c.reset();
  Poke(Options().path, kCacheHeaderSize + 10, 0x55);  // record 0: the slot of block 1
  auto r = TryOpen(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EIO);
  EXPECT_NE(r.status().message().find("corrupt cache"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("discard-bad-cache=true"), std::string::npos);
  CacheOptions o = Options();
  o.discard_bad_cache = true;
  c.reset();  // one server per cache file (flock)
  c = Open(o);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->counters().dirty_bytes.load(), 0u);
  std::string d;
  ASSERT_TRUE(c->Read(1, &d).ok());
  EXPECT_EQ(d, std::string(4096, '\0'));  // never served from the discarded file
}

TEST_F(LocalRecoveryTest, CorruptHeaderIsRefused) {
  Open(Options()).reset();
  Poke(Options().path, 50, 0x01);
  auto r = TryOpen(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << r.status().message();
}

// A file of a newer cache format is not corrupt: refused naming the newer s3nbd, even with
// discard-bad-cache, and left as it is (its dirty blocks are the newer s3nbd's to upload).
TEST_F(LocalRecoveryTest, ANewerFormatIsRefusedAndNeverDiscarded) {
  auto c = Open(Options());
  ASSERT_TRUE(c->Write(1, Block('n')).ok());
  c.reset();
  Poke(Options().path, 8, 3 ^ 4);  // format version 3 -> 4
  CacheOptions o = Options();
  o.discard_bad_cache = true;
  auto r = TryOpen(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EPROTONOSUPPORT);
  EXPECT_NE(r.status().message().find("version 4 (written by a newer s3nbd"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("discard-bad-cache"), std::string::npos)
      << r.status().message();
  Poke(Options().path, 8, 3 ^ 4);  // back to 3: nothing was changed meanwhile
  c = Open(Options());
  EXPECT_EQ(c->counters().dirty_bytes.load(), 4096u);
}

TEST_F(LocalRecoveryTest, SmallForeignFileIsNotOverwritten) {
  {
    std::ofstream f(Options().path);
    f << "precious";
  }
  auto r = TryOpen(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too small"), std::string::npos) << r.status().message();
  std::ifstream f(Options().path);
  std::string content;
  f >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(LocalRecoveryTest, FlushedDirtyDataFailingItsChecksumIsRefused) {
  CacheOptions o = Options();
  o.flush_policy = FlushPolicy::kLocal;
  auto c = Open(o);
  ASSERT_TRUE(c->Write(2, Block('f')).ok());
  ASSERT_TRUE(c->Flush().ok());
  c.reset();
  Poke(o.path, Geometry(o).data_offset + 100, 0x10);  // slot 0 holds block 2
  auto r = TryOpen(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("flushed dirty data fails its checksum"), std::string::npos)
      << r.status().message();
  // discard-bad-cache: a fresh cache, with no version left over from the refused recovery.
  o.discard_bad_cache = true;
  r = TryOpen(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  c = std::move(r).value();
  EXPECT_EQ(c->counters().dirty_bytes.load(), 0u);
  EXPECT_EQ(c->counters().writeback_queue.load(), 0u);
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
  std::string got;
  ASSERT_TRUE(c->Read(2, &got).ok());
  EXPECT_EQ(got, std::string(4096, '\0'));  // never uploaded: the store has nothing
}

// Power loss can lose an unflushed write's data while its record survived: that write was
// never flushed, so dropping it is allowed (the store keeps the older data).
TEST_F(LocalRecoveryTest, UnflushedDirtyDataFailingItsChecksumIsDropped) {
  mem_.Set(2, Block('o'));
  auto c = Open(Options());
  ASSERT_TRUE(c->Write(2, Block('n')).ok());
  c.reset();
  Poke(Options().path, Geometry(Options()).data_offset + 100, 0x10);
  c.reset();  // one server per cache file (flock)
  c = Open(Options());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->counters().dirty_bytes.load(), 0u);
  std::string d;
  ASSERT_TRUE(c->Read(2, &d).ok());
  EXPECT_EQ(d, Block('o'));
}

TEST_F(LocalRecoveryTest, CorruptCleanSlotIsReadAgainFromTheStore) {
  auto c = Open(Options());
  mem_.Set(6, Block('s'));
  std::string d;
  ASSERT_TRUE(c->Read(6, &d).ok());  // CLEAN in slot 0
  Poke(Options().path, Geometry(Options()).data_offset + 7, 0x20);
  ASSERT_TRUE(c->Read(6, &d).ok());
  EXPECT_EQ(d, Block('s'));
  EXPECT_EQ(mem_.reads.load(), 2u);
  EXPECT_GT(c->counters().errors.load(), 0u);
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

// ReadRange trusts a slot only once this process wrote it or checked its hash: a corrupt
// CLEAN slot found after a reopen is still caught, and the data comes from the store.
TEST_F(LocalRecoveryTest, ReadRangeChecksSlotsNotVerifiedInThisProcess) {
  mem_.Set(6, Block('s'));
  auto c = Open(Options());
  std::string d;
  ASSERT_TRUE(c->Read(6, &d).ok());  // CLEAN in slot 0
  char part[16];
  ASSERT_TRUE(c->ReadRange(6, 100, sizeof part, part).ok());  // verified: the fast path
  EXPECT_EQ(std::string(part, sizeof part), Block('s').substr(100, sizeof part));
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
  c.reset();
  c = Open(Options());  // CLEAN reused, not verified in this process
  Poke(Options().path, Geometry(Options()).data_offset + 7, 0x20);
  ASSERT_TRUE(c->ReadRange(6, 0, sizeof part, part).ok());
  EXPECT_EQ(std::string(part, sizeof part), Block('s').substr(0, sizeof part));
  EXPECT_GT(c->counters().errors.load(), 0u);  // the bad slot was seen and dropped
  EXPECT_EQ(mem_.reads.load(), 2u);
}

TEST_F(LocalRecoveryTest, CacheOfAnotherVolumeOrBlockSizeIsRefused) {
  auto c = Open(Options());
  ASSERT_TRUE(c->Write(1, Block('v')).ok());
  c.reset();
  CacheOptions o = Options();
  o.discard_bad_cache = true;  // never overrides an identity mismatch
  auto r = TryOpen(o, TestVolume(4096, 9));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("belongs to volume 07070707-"), std::string::npos)
      << r.status().message();
  r = TryOpen(o, TestVolume(8192));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("block size 4096"), std::string::npos)
      << r.status().message();
  c.reset();  // one server per cache file (flock)
  c = Open(Options());  // the original volume still finds its dirty block
  EXPECT_EQ(c->counters().dirty_bytes.load(), 4096u);
}

TEST_F(LocalRecoveryTest, DirectIoRoundTrip) {
  CacheOptions o = Options();
  o.direct_io = true;
  auto r = TryOpen(o);
  if (!r.ok() && r.status().err() == EINVAL)
    FAIL() << "O_DIRECT unsupported for the test's temp dir: " << r.status().message();
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto c = std::move(r).value();
  mem_.Set(3, Block('r'));
  std::string d;
  ASSERT_TRUE(c->Read(3, &d).ok());
  ASSERT_TRUE(c->Write(4, Block('w')).ok());
  ASSERT_TRUE(c->Read(3, &d).ok());
  EXPECT_EQ(d, Block('r'));
  c.reset();
  c = Open(o);
  ASSERT_TRUE(c->Read(4, &d).ok());
  EXPECT_EQ(d, Block('w'));
  c->Start();
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(5000)).ok());
  EXPECT_EQ(mem_.Get(4), Block('w'));
}

// A read-only open (uploads = false) serves recovered dirty data but never uploads it; flush
// and shutdown do not wait for it; the next writable open uploads it.
TEST_F(LocalRecoveryTest, ReadOnlyOpenKeepsRecoveredDirtyDataForTheNextWriter) {
  auto c = Open(Options());
  ASSERT_TRUE(c->Write(4, Block('r')).ok());
  c->Abandon();
  c.reset();
  CacheOptions ro = Options();
  ro.uploads = false;
  ro.dirty_wait_timeout = std::chrono::milliseconds(60000);
  c.reset();  // one server per cache file (flock)
  c = Open(ro);
  c->Start();
  std::string d;
  ASSERT_TRUE(c->Read(4, &d).ok());
  EXPECT_EQ(d, Block('r'));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c->Flush().ok());
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(60000)).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));  // not the timeouts
  EXPECT_EQ(mem_.writes.load(), 0u);
  c.reset();
  c = Open(Options());
  EXPECT_EQ(c->counters().writeback_queue.load(), 1u);
  c->Start();
  ASSERT_TRUE(c->Shutdown(std::chrono::milliseconds(10000)).ok());
  EXPECT_EQ(mem_.Get(4), Block('r'));
}

}  // namespace
}  // namespace s3nbd

namespace s3nbd {
namespace {

constexpr char kTokenA[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kTokenB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr char kTokenC[] = "cccccccccccccccccccccccccccccccc";

// Host A crashes with dirty blocks; host B takes the volume over and writes (its token is now
// in the bucket); A's stale dirty data must not be uploaded over B's: refused, or dropped
// with discard-stale-cache.
TEST_F(LocalRecoveryTest, DirtyDataOfAnEarlierSessionIsRefusedAfterAnotherWriter) {
  CacheOptions o = Options();
  o.session_writer_token = kTokenA;  // the bucket had no token before A
  auto c = Open(o);
  ASSERT_TRUE(c->Write(1, Block('a')).ok());
  c->Abandon();
  c.reset();
  mem_.Set(1, Block('b'));  // B's newer data
  o.bucket_writer_token = kTokenB;
  o.session_writer_token = kTokenC;
  auto r = TryOpen(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), ESTALE);
  EXPECT_NE(r.status().message().find("stale dirty data"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(kTokenA), std::string::npos) << r.status().message();
  o.discard_stale_cache = true;
  c = Open(o);
  EXPECT_EQ(c->counters().dirty_bytes.load(), 0u);
  std::string got;
  ASSERT_TRUE(c->Read(1, &got).ok());
  EXPECT_EQ(got, Block('b'));
  ASSERT_TRUE(c->CheckInvariants().ok()) << c->CheckInvariants().message();
}

// The cache records the new session before the bucket does: a crash in between leaves the
// bucket at the previous token, which must still be accepted (no false refusal).
TEST_F(LocalRecoveryTest, ACrashBeforeTheBucketRecordedTheSessionIsNotStale) {
  CacheOptions o = Options();
  o.bucket_writer_token = kTokenA;
  o.session_writer_token = kTokenB;
  auto c = Open(o);
  ASSERT_TRUE(c->Write(1, Block('x')).ok());
  c->Abandon();
  c.reset();
  o.session_writer_token = kTokenC;  // the bucket still says A (B's PUT never happened)
  c = Open(o);
  EXPECT_EQ(c->counters().dirty_bytes.load(), 4096u);
  c->Abandon();
  c.reset();
  o.bucket_writer_token = kTokenC;  // and this time it did
  o.session_writer_token = kTokenB;
  c = Open(o);
  EXPECT_EQ(c->counters().dirty_bytes.load(), 4096u);
  ASSERT_TRUE(c->UploadAllForTest().ok());
  EXPECT_EQ(mem_.Get(1), Block('x'));
}

}  // namespace
}  // namespace s3nbd
