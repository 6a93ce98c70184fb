// The log segment object of a versioned volume (docs/format.md, "Log segment object" and
// "Records"): a 128-byte header, a record area (records, COMMIT last; sealed as one unit on
// encrypted volumes) and a data area (the WRITE extents, each sealed on its own). A builder
// that encodes one segment and readers for the header, the front (replay), one extent (a ranged
// GET) and the whole object, telling TORN (never acknowledged) from CORRUPT. Pure functions and
// a single-owner builder; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cache/codec/volume_key.h"
#include "cache/util/status.h"
#include "cache/versioned/object_subkey.h"

namespace s3nbd {

constexpr size_t kSegmentHeaderBytes = 128;
constexpr size_t kRecordHeaderBytes = 16;
constexpr uint64_t kMaxRecordAreaBytes = uint64_t{16} << 20;  // R
constexpr uint64_t kMaxDataAreaBytes = uint64_t{256} << 20;   // D
constexpr uint8_t kSegmentFlagAesGcm = 2;
constexpr uint8_t kSegmentFlagFlushPoint = 4;
// A torn segment's Status carries this errno (a corrupt one EIO, a caller's mistake EINVAL).
constexpr int kTornSegmentErr = ENODATA;

inline bool IsTornSegment(const Status& s) { return s.err() == kTornSegmentErr; }

// What a segment reader knows of its volume (from the descriptor).
struct SegmentIdentity {
  std::string volume;                   // the name used in messages
  std::array<uint8_t, 16> uuid{};
  uint32_t block_size = 0;
  uint64_t block_count = 0;
  std::shared_ptr<const DataKey> key;   // set: encrypted volume
};

enum class RecordType : uint8_t {
  kEpoch = 1, kWrite = 2, kZero = 3, kBlock = 4, kErase = 5, kCheckpoint = 6, kCommit = 7
};

struct EpochRecord {
  uint64_t epoch = 0, previous_epoch = 0;
  uint64_t last_lsn = ~uint64_t{0};      // 2^64-1: no earlier non-void segment
  std::array<uint8_t, 16> lease_token{};
  uint64_t pid = 0;
  std::string host;                      // at most 255 bytes
  bool operator==(const EpochRecord&) const = default;
};
struct WriteRecord {
  uint64_t block = 0;
  uint32_t offset = 0, length = 0;
  uint64_t data_offset = 0;    // within the data area
  uint64_t data_checksum = 0;  // XXH3-64 of the plaintext extent, seed = block
  bool operator==(const WriteRecord&) const = default;
};
struct ZeroRecord {
  uint64_t block = 0;
  uint32_t offset = 0, length = 0;
  bool operator==(const ZeroRecord&) const = default;
};
struct BlockRecord {
  uint64_t block = 0, epoch = 0, gen = 0, checksum = 0;
  bool operator==(const BlockRecord&) const = default;
};
struct EraseRecord {
  uint64_t first = 0, count = 0;
  bool operator==(const EraseRecord&) const = default;
};
struct CheckpointRecord {
  std::string root;  // a manifest root (cache/versioned/manifest_root.h), opaque here
  bool operator==(const CheckpointRecord&) const = default;
};
// Every record but COMMIT (the builder writes it, the reader checks it and drops it).
using LogRecord =
    std::variant<EpochRecord, WriteRecord, ZeroRecord, BlockRecord, EraseRecord, CheckpointRecord>;

RecordType TypeOf(const LogRecord& r);

struct SegmentHeader {
  uint64_t lsn = 0, epoch = 0;
  bool flush_point = false;
  uint64_t flush_count = 0;
  uint64_t time_us = 0;
  uint64_t prev = 0;             // header checksum of the previous non-void segment
  // Computed by the builder, read by the reader:
  bool encrypted = false;
  uint32_t record_bytes = 0;     // R
  uint32_t record_count = 0;     // including COMMIT
  uint64_t data_bytes = 0;       // D
  ObjectSalt salt{};
  uint64_t checksum = 0;         // header checksum
};

// The front of a segment: header and records (COMMIT dropped, its data checksum kept).
struct SegmentFront {
  SegmentHeader header;
  std::vector<LogRecord> records;
  uint64_t data_checksum = 0;    // COMMIT's: XXH3-64 of the stored data area, seed = LSN
};

// 128 + R: the bytes DecodeSegmentFront needs.
inline uint64_t SegmentFrontBytes(const SegmentHeader& h) {
  return kSegmentHeaderBytes + h.record_bytes;
}
// Where WRITE record w's stored extent lies in the object, and how long it is.
uint64_t ExtentObjectOffset(const SegmentHeader& h, const WriteRecord& w);
uint64_t StoredExtentLength(const SegmentHeader& h, const WriteRecord& w);

// Encodes one segment. Records apply in the order they are added; WRITE data is copied.
class SegmentBuilder {
 public:
  // From `fields` only lsn, epoch, flush_point, flush_count, time_us and prev are used.
  SegmentBuilder(SegmentIdentity id, const SegmentHeader& fields);

  void Add(LogRecord r);  // not a WRITE (use AddWrite)
  void AddWrite(uint64_t block, uint32_t offset, std::string_view data);

  size_t record_count() const { return records_.size(); }
  uint64_t data_plain_bytes() const { return data_.size(); }

  // The object (a fresh random salt when encrypted). EINVAL if the records break a rule or a
  // limit of the format; *header (optional) receives the header as written.
  Result<std::string> Seal(SegmentHeader* header = nullptr) const;
  // Test-only entry point: the same with a given salt (deterministic samples).
  Result<std::string> SealWithSaltForTest(const ObjectSalt& salt, SegmentHeader* header = nullptr) const;
  // Test-only entry point: seals without checking the record rules (a hostile writer), so
  // tests can show that the reader refuses what the builder would not write.
  Result<std::string> SealUncheckedForTest(const ObjectSalt& salt) const;

 private:
  Result<std::string> SealWith(const ObjectSalt& salt, SegmentHeader* header, bool check_rules = true) const;

  SegmentIdentity id_;
  SegmentHeader fields_;
  std::vector<LogRecord> records_;
  std::string data_;             // the plaintext of the WRITE extents, in record order
};

// (a) The header alone: the first 128 (or more) bytes of the segment at key LSN `lsn`.
// object_length: the object's full length (from the listing or the GET's Content-Range).
// TORN (kTornSegmentErr) for an object shorter than 128 bytes or not 128 + R + D; CORRUPT
// (EIO) for any failed check. Messages read "volume V: log segment L: <check>".
Result<SegmentHeader> DecodeSegmentHeader(const SegmentIdentity& id, uint64_t lsn,
                                          std::string_view front, uint64_t object_length);

// (b) Header and record area (replay reads only this): front holds at least the first
// SegmentFrontBytes() bytes (or the whole object if shorter: that one is torn anyway). Checks
// every record and every rule of docs/format.md except the data area's checksum.
Result<SegmentFront> DecodeSegmentFront(const SegmentIdentity& id, uint64_t lsn,
                                        std::string_view front, uint64_t object_length);

// (c) One WRITE extent as read by a ranged GET (StoredExtentLength bytes at
// ExtentObjectOffset): record `record_index` of the front, the `write_index`-th WRITE
// (0-based). Checks the GCM tag (encrypted) and the data checksum; writes w.length bytes to
// out (never unverified bytes: zeros on failure).
Status OpenWriteExtent(const SegmentIdentity& id, const SegmentHeader& h, uint32_t record_index,
                       uint32_t write_index, const WriteRecord& w, std::string_view stored,
                       char* out);

// (d) The whole object: the front, COMMIT's data checksum over the data area, and every
// extent. *extents (optional) receives the plaintext of each WRITE, in record order.
Result<SegmentFront> DecodeSegment(const SegmentIdentity& id, uint64_t lsn,
                                   std::string_view object,
                                   std::vector<std::string>* extents = nullptr);

}  // namespace s3nbd
