// Shared by the v2 format tests (segments, manifest, pointer): the sample volume's identity,
// a fixed test key and salt, the checked-in samples under tests/unit/versioned/samples/ and
// the objects they hold. S3NBD_WRITE_SAMPLES=1 makes SampleMatches write a sample instead of
// comparing it (only when the format changes on purpose). No shared mutable state.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cache/versioned/checkpoint_pointer.h"
#include "cache/versioned/manifest_root.h"
#include "cache/versioned/segment_format.h"
#include "cache/versioned/shard_object.h"

namespace s3nbd::format_test {

// 2 full shards of 4096 blocks and one of a single block: 8193 blocks of 4 KiB.
constexpr uint32_t kBlockSize = 4096;
constexpr uint32_t kShardBlocks = 4096;
constexpr uint64_t kBlocks = 8193;

inline std::array<uint8_t, 16> Uuid(uint8_t base = 0x10) {
  std::array<uint8_t, 16> u;
  for (int i = 0; i < 16; i++) u[i] = static_cast<uint8_t>(base + i);
  return u;
}

inline std::shared_ptr<const DataKey> TestKey(uint8_t mul = 7) {
  auto k = std::make_shared<DataKey>();
  for (size_t i = 0; i < k->bytes.size(); i++) k->bytes[i] = static_cast<uint8_t>(i * mul + 1);
  return k;
}

inline ObjectSalt TestSalt(uint8_t base = 0x5a) {
  ObjectSalt s;
  for (size_t i = 0; i < s.size(); i++) s[i] = static_cast<uint8_t>(base + i);
  return s;
}

inline SegmentIdentity SegId(bool encrypted = false) {
  SegmentIdentity id;
  id.volume = "sample";
  id.uuid = Uuid();
  id.block_size = kBlockSize;
  id.block_count = kBlocks;
  if (encrypted) id.key = TestKey();
  return id;
}

inline ManifestIdentity ManId(bool encrypted = false, bool zstd = false) {
  ManifestIdentity id;
  id.volume = "sample";
  id.uuid = Uuid();
  id.volume_size = kBlocks * kBlockSize;
  id.block_size = kBlockSize;
  id.shard_blocks = kShardBlocks;
  id.zstd = zstd;
  if (encrypted) id.key = TestKey();
  return id;
}

inline std::string Pattern(size_t n, uint8_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>((i * 31 + seed) ^ (i >> 5));
  return s;
}

// The folder of the checked-in samples: from the working directory (the tree's root, as
// `make check-unit` runs) or from the binary's folder (build*/unit_tests).
inline std::filesystem::path SamplesDir() {
  namespace fs = std::filesystem;
  const fs::path rel = "tests/unit/versioned/samples";
  if (fs::is_directory(rel)) return rel;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::is_directory(exe.parent_path().parent_path() / rel)) return exe.parent_path().parent_path() / rel;
  return rel;
}

inline std::string ReadSample(const std::string& name) {
  std::ifstream in(SamplesDir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing checked-in sample " << (SamplesDir() / name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when the checked-in sample `name` holds exactly `bytes` (or, with S3NBD_WRITE_SAMPLES
// set, after writing it).
inline bool SampleMatches(const std::string& name, const std::string& bytes) {
  if (std::getenv("S3NBD_WRITE_SAMPLES")) {
    std::filesystem::create_directories(SamplesDir());
    std::ofstream(SamplesDir() / name, std::ios::binary) << bytes;
  }
  return ReadSample(name) == bytes;
}

// The objects the samples hold (their builders are the samples' definition).
inline ManifestRoot SampleRoot() {
  ManifestRoot r;
  r.checkpoint = 3;
  r.epoch = 2;
  r.max_epoch = 2;
  r.log_start = 40;
  r.fold_point = 44;
  r.volume_size = kBlocks * kBlockSize;
  r.block_size = kBlockSize;
  r.shard_blocks = kShardBlocks;
  r.trim_from = 10;
  r.trim_to = 30;
  r.prev_checkpoint_lsn = 20;
  r.time_us = 1764633600000000;
  r.log_start_epoch = 2;
  r.log_start_prev = 0x1122334455667788;
  r.sources = {SourceEntry{Uuid(), 0, ""}, SourceEntry{Uuid(0x40), 1, "parent/"}};
  r.shards = {ShardRef{0, 0, 3, 2, 17, 0xaaaa0000bbbb0001, 240}, ShardRef{2, 1, 1, 1, 5, 0xcccc, 144}};
  r.epoch_markers = {EpochMarker{0, 1}, EpochMarker{12, 2}};
  r.garbage_chunks = {GarbageChunkRef{2, 18, 0xdddd, 208, 2}};
  r.garbage = {GarbageEntry{GarbageKind::kGeneration, 7, 1, 3, 1, 3, 1764633500000000},
               GarbageEntry{GarbageKind::kShard, 1, 1, 4, 2, 3, 1764633500000001}};
  return r;
}

inline std::vector<ShardEntry> SampleShardEntries() {
  return {ShardEntry{7, true, false, 0, 1, 3, 0x0123456789abcdef, 33, 1},
          ShardEntry{8, false, false, 0, 0, 0, 0, 35, 2},
          ShardEntry{100, true, true, 0, 0, 1764000000000000, 0xfedcba9876543210, 0, 1}};
}

inline std::vector<GarbageEntry> SampleChunkEntries() {
  return {GarbageEntry{GarbageKind::kLegacy, 9, 0, 1764000000000001, 1, 2, 1764633400000000},
          GarbageEntry{GarbageKind::kChunk, kGarbageChunkShard, 1, 9, 1, 2, 1764633400000001}};
}

inline SegmentHeader SampleFields(uint64_t lsn, uint64_t epoch) {
  SegmentHeader f;
  f.lsn = lsn;
  f.epoch = epoch;
  f.flush_point = true;
  f.flush_count = 3;
  f.time_us = 1764633600123456;
  f.prev = 0x0102030405060708;
  return f;
}

inline EpochRecord SampleEpoch() {
  EpochRecord e;
  e.epoch = 2;
  e.previous_epoch = 1;
  e.last_lsn = 11;
  for (int i = 0; i < 16; i++) e.lease_token[i] = static_cast<uint8_t>(0xa0 + i);
  e.pid = 4242;
  e.host = "sample-host";
  return e;
}

// A segment with one record of every type but EPOCH (which is alone in its segment):
// CHECKPOINT, WRITE, ZERO, BLOCK, ERASE, and a second WRITE (the data offsets chain).
inline SegmentBuilder SampleBuilder(const SegmentIdentity& id, const std::string& root) {
  SegmentBuilder b(id, SampleFields(5, 2));
  b.Add(CheckpointRecord{root});
  b.AddWrite(7, 512, Pattern(1024, 1));
  b.Add(ZeroRecord{8, 0, 512});
  b.Add(BlockRecord{9, 2, 4, 0x9999888877776666});
  b.Add(EraseRecord{10, 3});
  b.AddWrite(8192, 3584, Pattern(512, 2));
  return b;
}

}  // namespace s3nbd::format_test
