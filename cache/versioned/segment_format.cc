// The log segment object; see segment_format.h and docs/format.md ("Log segment object").
#include "cache/versioned/segment_format.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "cache/codec/aes_gcm.h"
#include "cache/util/coding.h"

namespace s3nbd {
namespace {

constexpr char kMagic[4] = {'S', '3', 'N', 'L'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kKnownFlags = kSegmentFlagAesGcm | kSegmentFlagFlushPoint;
constexpr uint32_t kCommitBody = 16;
constexpr size_t kWriteBody = 32, kZeroBody = 16, kBlockBody = 32, kEraseBody = 16;
constexpr size_t kEpochFixedBody = 57;  // without the host bytes

std::string Where(const SegmentIdentity& id, uint64_t lsn) {
  return "volume " + id.volume + ": log segment " + std::to_string(lsn);
}
Status Corrupt(const SegmentIdentity& id, uint64_t lsn, const std::string& why) {
  return Status::Error(EIO, Where(id, lsn) + ": " + why);
}
Status Torn(const SegmentIdentity& id, uint64_t lsn, const std::string& why) {
  return Status::Error(kTornSegmentErr, Where(id, lsn) + ": torn: " + why);
}
std::string Rec(size_t i) { return "record " + std::to_string(i) + ": "; }

size_t BodyLength(const LogRecord& r) {
  switch (TypeOf(r)) {
    case RecordType::kEpoch: return kEpochFixedBody + std::get<EpochRecord>(r).host.size();
    case RecordType::kWrite: return kWriteBody;
    case RecordType::kZero: return kZeroBody;
    case RecordType::kBlock: return kBlockBody;
    case RecordType::kErase: return kEraseBody;
    case RecordType::kCheckpoint: return std::get<CheckpointRecord>(r).root.size();
    case RecordType::kCommit: break;
  }
  return 0;
}

void EncodeWriteBody(const WriteRecord& w, char* p) {
  PutLE<uint64_t>(p, w.block);
  PutLE<uint32_t>(p + 8, w.offset);
  PutLE<uint32_t>(p + 12, w.length);
  PutLE<uint64_t>(p + 16, w.data_offset);
  PutLE<uint64_t>(p + 24, w.data_checksum);
}

void EncodeBody(const LogRecord& r, char* p) {
  if (auto* e = std::get_if<EpochRecord>(&r)) {
    PutLE<uint64_t>(p, e->epoch);
    PutLE<uint64_t>(p + 8, e->previous_epoch);
    PutLE<uint64_t>(p + 16, e->last_lsn);
    std::memcpy(p + 24, e->lease_token.data(), 16);
    PutLE<uint64_t>(p + 40, e->pid);
    PutLE<uint64_t>(p + 48, 0);
    p[56] = static_cast<char>(e->host.size());
    std::memcpy(p + 57, e->host.data(), e->host.size());
  } else if (auto* w = std::get_if<WriteRecord>(&r)) {
    EncodeWriteBody(*w, p);
  } else if (auto* z = std::get_if<ZeroRecord>(&r)) {
    PutLE<uint64_t>(p, z->block);
    PutLE<uint32_t>(p + 8, z->offset);
    PutLE<uint32_t>(p + 12, z->length);
  } else if (auto* b = std::get_if<BlockRecord>(&r)) {
    PutLE<uint64_t>(p, b->block);
    PutLE<uint64_t>(p + 8, b->epoch);
    PutLE<uint64_t>(p + 16, b->gen);
    PutLE<uint64_t>(p + 24, b->checksum);
  } else if (auto* x = std::get_if<EraseRecord>(&r)) {
    PutLE<uint64_t>(p, x->first);
    PutLE<uint64_t>(p + 8, x->count);
  } else if (auto* c = std::get_if<CheckpointRecord>(&r)) {
    std::memcpy(p, c->root.data(), c->root.size());
  }
}

// Writes one record (header + body) at p, checksummed with the segment's header checksum.
size_t EncodeRecord(RecordType type, size_t body_len, uint64_t seed, char* p) {
  p[8] = static_cast<char>(type);
  p[9] = 0;
  PutLE<uint16_t>(p + 10, 0);
  PutLE<uint32_t>(p + 12, static_cast<uint32_t>(body_len));
  PutLE<uint64_t>(p, XXH3_64bits_withSeed(p + 8, 8 + body_len, seed));
  return kRecordHeaderBytes + body_len;
}

// The record body as its record type says; an error names the field (without "record i").
Result<LogRecord> DecodeBody(RecordType type, std::string_view b) {
  auto need = [&](size_t n) -> Status {
    if (b.size() == n) return Status::Ok();
    return Status::Error(EIO, "body is " + std::to_string(b.size()) + " bytes, type " +
                                  std::to_string(static_cast<int>(type)) + " needs " + std::to_string(n));
  };
  const char* p = b.data();
  switch (type) {
    case RecordType::kEpoch: {
      if (b.size() < kEpochFixedBody) return need(kEpochFixedBody);
      EpochRecord e;
      e.epoch = GetLE<uint64_t>(p);
      e.previous_epoch = GetLE<uint64_t>(p + 8);
      e.last_lsn = GetLE<uint64_t>(p + 16);
      std::memcpy(e.lease_token.data(), p + 24, 16);
      e.pid = GetLE<uint64_t>(p + 40);
      if (GetLE<uint64_t>(p + 48) != 0) return Status::Error(EIO, "EPOCH reserved field is not zero");
      size_t host = static_cast<uint8_t>(p[56]);
      if (Status s = need(kEpochFixedBody + host); !s.ok()) return s;
      e.host.assign(p + 57, host);
      return LogRecord(std::move(e));
    }
    case RecordType::kWrite: {
      if (Status s = need(kWriteBody); !s.ok()) return s;
      return LogRecord(WriteRecord{GetLE<uint64_t>(p), GetLE<uint32_t>(p + 8), GetLE<uint32_t>(p + 12),
                                   GetLE<uint64_t>(p + 16), GetLE<uint64_t>(p + 24)});
    }
    case RecordType::kZero: {
      if (Status s = need(kZeroBody); !s.ok()) return s;
      return LogRecord(ZeroRecord{GetLE<uint64_t>(p), GetLE<uint32_t>(p + 8), GetLE<uint32_t>(p + 12)});
    }
    case RecordType::kBlock: {
      if (Status s = need(kBlockBody); !s.ok()) return s;
      return LogRecord(BlockRecord{GetLE<uint64_t>(p), GetLE<uint64_t>(p + 8), GetLE<uint64_t>(p + 16),
                                   GetLE<uint64_t>(p + 24)});
    }
    case RecordType::kErase: {
      if (Status s = need(kEraseBody); !s.ok()) return s;
      return LogRecord(EraseRecord{GetLE<uint64_t>(p), GetLE<uint64_t>(p + 8)});
    }
    case RecordType::kCheckpoint: return LogRecord(CheckpointRecord{std::string(b)});
    case RecordType::kCommit: break;
  }
  return Status::Error(EIO, "unknown record type " + std::to_string(static_cast<int>(type)));
}

// The rules of docs/format.md a segment's records obey ("Rules a reader checks"); the message
// names the record ("record 3: ...").
Status CheckRules(const SegmentIdentity& id, const SegmentHeader& h, const std::vector<LogRecord>& recs) {
  auto bad = [](size_t i, const std::string& why) { return Status::Error(EIO, Rec(i) + why); };
  auto extent = [&](size_t i, uint64_t block, uint32_t off, uint32_t len) -> Status {
    if (block >= id.block_count)
      return bad(i, "block " + std::to_string(block) + " is beyond the volume's " +
                        std::to_string(id.block_count) + " blocks");
    if (len == 0) return bad(i, "extent of length 0");
    if (uint64_t{off} + len > id.block_size)
      return bad(i, "extent [" + std::to_string(off) + ", +" + std::to_string(len) + ") runs past the block size " +
                        std::to_string(id.block_size));
    return Status::Ok();
  };
  const uint64_t tag = h.encrypted ? kGcmTagBytes : 0;
  uint64_t data_end = 0;
  for (size_t i = 0; i < recs.size(); i++) {
    const LogRecord& r = recs[i];
    Status s;
    switch (TypeOf(r)) {
      case RecordType::kEpoch: {
        const auto& e = std::get<EpochRecord>(r);
        if (recs.size() != 1) s = bad(i, "an EPOCH segment holds other records besides EPOCH and COMMIT");
        else if (e.epoch != h.epoch)
          s = bad(i, "EPOCH claims epoch " + std::to_string(e.epoch) + ", the header's is " + std::to_string(h.epoch));
        else if (e.previous_epoch >= e.epoch) s = bad(i, "EPOCH's previous epoch is not below its epoch");
        break;
      }
      case RecordType::kWrite: {
        const auto& w = std::get<WriteRecord>(r);
        s = extent(i, w.block, w.offset, w.length);
        if (s.ok() && w.data_offset != data_end)
          s = bad(i, "data offset " + std::to_string(w.data_offset) + ", the previous WRITE's data ends at " +
                         std::to_string(data_end));
        data_end += w.length + tag;
        break;
      }
      case RecordType::kZero: {
        const auto& z = std::get<ZeroRecord>(r);
        s = extent(i, z.block, z.offset, z.length);
        break;
      }
      case RecordType::kBlock:
        if (std::get<BlockRecord>(r).block >= id.block_count)
          s = bad(i, "block " + std::to_string(std::get<BlockRecord>(r).block) + " is beyond the volume's " +
                         std::to_string(id.block_count) + " blocks");
        break;
      case RecordType::kErase: {
        const auto& x = std::get<EraseRecord>(r);
        if (x.count == 0) s = bad(i, "ERASE of 0 blocks");
        else if (x.first >= id.block_count || x.count > id.block_count - x.first)
          s = bad(i, "ERASE [" + std::to_string(x.first) + ", +" + std::to_string(x.count) +
                         ") runs past the volume's " + std::to_string(id.block_count) + " blocks");
        break;
      }
      case RecordType::kCheckpoint:
        if (i != 0) s = bad(i, "CHECKPOINT is not the first record");
        break;
      case RecordType::kCommit: s = bad(i, "COMMIT inside the records"); break;
    }
    if (!s.ok()) return s;
  }
  if (data_end != h.data_bytes)
    return Status::Error(EIO, "the WRITE extents take " + std::to_string(data_end) + " bytes, the data area is " +
                                  std::to_string(h.data_bytes));
  return Status::Ok();
}

void EncodeHeader(const SegmentHeader& h, const std::array<uint8_t, 16>& uuid, char* p) {
  std::memcpy(p, kMagic, 4);
  p[4] = static_cast<char>(kVersion);
  p[5] = static_cast<char>((h.encrypted ? kSegmentFlagAesGcm : 0) | (h.flush_point ? kSegmentFlagFlushPoint : 0));
  PutLE<uint16_t>(p + 6, kSegmentHeaderBytes);
  PutLE<uint64_t>(p + 8, h.lsn);
  PutLE<uint64_t>(p + 16, h.epoch);
  std::memcpy(p + 24, uuid.data(), 16);
  PutLE<uint64_t>(p + 40, h.flush_count);
  PutLE<uint64_t>(p + 48, h.time_us);
  PutLE<uint32_t>(p + 56, h.record_bytes);
  PutLE<uint32_t>(p + 60, h.record_count);
  PutLE<uint64_t>(p + 64, h.data_bytes);
  PutLE<uint64_t>(p + 72, h.prev);
  std::memcpy(p + 80, h.salt.data(), h.salt.size());
  PutLE<uint64_t>(p + 112, 0);
  PutLE<uint64_t>(p + 120, XXH3_64bits_withSeed(p, 120, h.lsn));
}

// The associated data of WRITE extent w: the header checksum then the record's body.
std::string ExtentAd(uint64_t header_checksum, const WriteRecord& w) {
  std::string ad(8 + kWriteBody, '\0');
  PutLE<uint64_t>(ad.data(), header_checksum);
  EncodeWriteBody(w, ad.data() + 8);
  return ad;
}

uint64_t MinRecordBytes(bool encrypted) {
  return kRecordHeaderBytes + kCommitBody + (encrypted ? kGcmTagBytes : 0);
}

}  // namespace

RecordType TypeOf(const LogRecord& r) {
  return static_cast<RecordType>(r.index() + 1);  // the variant's order is the type order
}

uint64_t ExtentObjectOffset(const SegmentHeader& h, const WriteRecord& w) {
  return kSegmentHeaderBytes + h.record_bytes + w.data_offset;
}
uint64_t StoredExtentLength(const SegmentHeader& h, const WriteRecord& w) {
  return w.length + (h.encrypted ? kGcmTagBytes : 0);
}

SegmentBuilder::SegmentBuilder(SegmentIdentity id, const SegmentHeader& fields)
    : id_(std::move(id)) {
  fields_.lsn = fields.lsn;
  fields_.epoch = fields.epoch;
  fields_.flush_point = fields.flush_point;
  fields_.flush_count = fields.flush_count;
  fields_.time_us = fields.time_us;
  fields_.prev = fields.prev;
  fields_.encrypted = id_.key != nullptr;
}

void SegmentBuilder::Add(LogRecord r) { records_.push_back(std::move(r)); }

void SegmentBuilder::AddWrite(uint64_t block, uint32_t offset, std::string_view data) {
  uint64_t stored_end = 0;
  for (const LogRecord& r : records_)
    if (auto* w = std::get_if<WriteRecord>(&r)) stored_end = w->data_offset + w->length + (id_.key ? kGcmTagBytes : 0);
  WriteRecord w{block, offset, static_cast<uint32_t>(data.size()), stored_end,
                XXH3_64bits_withSeed(data.data(), data.size(), block)};
  records_.emplace_back(std::in_place_type<WriteRecord>, w);
  data_.append(data);
}

Result<std::string> SegmentBuilder::Seal(SegmentHeader* header) const {
  ObjectSalt salt{};
  if (id_.key) {
    auto fresh = NewObjectSalt();
    if (!fresh.ok()) return fresh.status().Wrap("building " + Where(id_, fields_.lsn));
    salt = *fresh;
  }
  return SealWith(salt, header);
}

Result<std::string> SegmentBuilder::SealWithSaltForTest(const ObjectSalt& salt, SegmentHeader* header) const {
  return SealWith(salt, header);
}

Result<std::string> SegmentBuilder::SealUncheckedForTest(const ObjectSalt& salt) const {
  return SealWith(salt, nullptr, false);
}

Result<std::string> SegmentBuilder::SealWith(const ObjectSalt& salt, SegmentHeader* header, bool check_rules) const {
  const std::string what = "building " + Where(id_, fields_.lsn);
  SegmentHeader h = fields_;
  h.salt = id_.key ? salt : ObjectSalt{};
  uint64_t r = MinRecordBytes(h.encrypted), d = 0;
  for (const LogRecord& rec : records_) {
    if (auto* e = std::get_if<EpochRecord>(&rec); e && e->host.size() > 255)
      return Status::Error(EINVAL, what + ": EPOCH host name longer than 255 bytes");
    r += kRecordHeaderBytes + BodyLength(rec);
    if (auto* w = std::get_if<WriteRecord>(&rec)) d += StoredExtentLength(h, *w);
  }
  if (r > kMaxRecordAreaBytes || d > kMaxDataAreaBytes)
    return Status::Error(EINVAL, what + ": record area " + std::to_string(r) + " bytes, data area " +
                                     std::to_string(d) + " bytes: over the limits (16 MiB, 256 MiB)");
  h.record_bytes = static_cast<uint32_t>(r);
  h.record_count = static_cast<uint32_t>(records_.size() + 1);
  h.data_bytes = d;
  if (Status s = check_rules ? CheckRules(id_, h, records_) : Status::Ok(); !s.ok())
    return Status::Error(EINVAL, what + ": " + s.message());

  std::string obj(kSegmentHeaderBytes + r + d, '\0');
  EncodeHeader(h, id_.uuid, obj.data());
  h.checksum = GetLE<uint64_t>(obj.data() + 120);
  std::optional<ObjectSubkey> sub;
  if (id_.key) {
    auto k = DeriveObjectSubkey(id_.key->bytes, h.salt, SubkeyLabel::kLog);
    if (!k.ok()) return k.status().Wrap(what);
    sub.emplace(std::move(*k));
  }
  // The data area: each extent plain, or sealed on its own with nonce N ^ (i + 1).
  char* data_area = obj.data() + kSegmentHeaderBytes + r;
  uint64_t plain_pos = 0, writes = 0;
  for (const LogRecord& rec : records_) {
    const auto* w = std::get_if<WriteRecord>(&rec);
    if (!w) continue;
    if (plain_pos + w->length > data_.size() || w->data_offset + StoredExtentLength(h, *w) > d)
      return Status::Error(EINVAL, what + ": a WRITE record added without its data (use AddWrite)");
    std::string_view plain(data_.data() + plain_pos, w->length);
    plain_pos += w->length;
    if (!sub) {
      std::memcpy(data_area + w->data_offset, plain.data(), plain.size());
    } else if (Status s = GcmSeal(sub->key, NonceWithCounter(sub->nonce, writes + 1).data(),
                                  ExtentAd(h.checksum, *w), plain, data_area + w->data_offset);
               !s.ok()) {
      return s.Wrap(what);
    }
    writes++;
  }
  // The record area: the records, then COMMIT with the stored data area's checksum.
  std::string plain_records(r - (h.encrypted ? kGcmTagBytes : 0), '\0');
  char* p = plain_records.data();
  for (const LogRecord& rec : records_) {
    size_t n = BodyLength(rec);
    EncodeBody(rec, p + kRecordHeaderBytes);
    p += EncodeRecord(TypeOf(rec), n, h.checksum, p);
  }
  PutLE<uint32_t>(p + 16, static_cast<uint32_t>(records_.size()));
  PutLE<uint32_t>(p + 20, 0);
  PutLE<uint64_t>(p + 24, XXH3_64bits_withSeed(data_area, d, h.lsn));
  EncodeRecord(RecordType::kCommit, kCommitBody, h.checksum, p);
  char* area = obj.data() + kSegmentHeaderBytes;
  if (!sub) {
    std::memcpy(area, plain_records.data(), plain_records.size());
  } else {
    Status s = GcmSeal(sub->key, sub->nonce.data(), std::string_view(obj.data(), kSegmentHeaderBytes),
                       plain_records, area);
    Wipe(plain_records.data(), plain_records.size());
    if (!s.ok()) return s.Wrap(what);
  }
  if (header) *header = h;
  return obj;
}

Result<SegmentHeader> DecodeSegmentHeader(const SegmentIdentity& id, uint64_t lsn, std::string_view front,
                                          uint64_t object_length) {
  if (object_length < kSegmentHeaderBytes)
    return Torn(id, lsn, "object is " + std::to_string(object_length) + " bytes, shorter than its header");
  if (front.size() < kSegmentHeaderBytes)
    return Status::Error(EINVAL, Where(id, lsn) + ": decoding needs the first 128 bytes, got " +
                                     std::to_string(front.size()));
  const char* p = front.data();
  if (std::memcmp(p, kMagic, 4) != 0) return Corrupt(id, lsn, "not a log segment (bad magic)");
  if (static_cast<uint8_t>(p[4]) != kVersion)
    return Corrupt(id, lsn, "segment format version " + std::to_string(static_cast<uint8_t>(p[4])) +
                                " is not supported");
  if (GetLE<uint16_t>(p + 6) != kSegmentHeaderBytes)
    return Corrupt(id, lsn, "bad header length " + std::to_string(GetLE<uint16_t>(p + 6)));
  SegmentHeader h;
  h.checksum = GetLE<uint64_t>(p + 120);
  h.lsn = GetLE<uint64_t>(p + 8);
  if (XXH3_64bits_withSeed(p, 120, h.lsn) != h.checksum) return Corrupt(id, lsn, "header checksum mismatch");
  uint8_t flags = static_cast<uint8_t>(p[5]);
  if (flags & ~kKnownFlags) return Corrupt(id, lsn, "unknown header flags " + std::to_string(flags));
  h.encrypted = flags & kSegmentFlagAesGcm;
  h.flush_point = flags & kSegmentFlagFlushPoint;
  if (id.key && !h.encrypted) return Corrupt(id, lsn, "segment is not encrypted but the volume is (planted or foreign object)");
  if (!id.key && h.encrypted) return Corrupt(id, lsn, "segment is encrypted but the volume is not");
  if (h.lsn != lsn)
    return Corrupt(id, lsn, "segment holds LSN " + std::to_string(h.lsn) + " (copied from another position)");
  if (std::memcmp(p + 24, id.uuid.data(), 16) != 0) return Corrupt(id, lsn, "segment of another volume (UUID)");
  h.epoch = GetLE<uint64_t>(p + 16);
  h.flush_count = GetLE<uint64_t>(p + 40);
  h.time_us = GetLE<uint64_t>(p + 48);
  h.record_bytes = GetLE<uint32_t>(p + 56);
  h.record_count = GetLE<uint32_t>(p + 60);
  h.data_bytes = GetLE<uint64_t>(p + 64);
  h.prev = GetLE<uint64_t>(p + 72);
  std::memcpy(h.salt.data(), p + 80, h.salt.size());
  if (GetLE<uint64_t>(p + 112) != 0) return Corrupt(id, lsn, "reserved header field is not zero");
  if (!h.encrypted && !IsAllZero(h.salt.data(), h.salt.size()))
    return Corrupt(id, lsn, "salt of an unencrypted segment is not zero");
  if (h.record_bytes < MinRecordBytes(h.encrypted) || h.record_bytes > kMaxRecordAreaBytes)
    return Corrupt(id, lsn, "record area length " + std::to_string(h.record_bytes) + " is out of range");
  if (h.data_bytes > kMaxDataAreaBytes)
    return Corrupt(id, lsn, "data area length " + std::to_string(h.data_bytes) + " is over the limit (256 MiB)");
  if (h.record_count == 0) return Corrupt(id, lsn, "record count 0 (no COMMIT)");
  const uint64_t want = kSegmentHeaderBytes + h.record_bytes + h.data_bytes;
  if (object_length != want)
    return Torn(id, lsn, "object is " + std::to_string(object_length) + " bytes, its header says " +
                             std::to_string(want));
  return h;
}

Result<SegmentFront> DecodeSegmentFront(const SegmentIdentity& id, uint64_t lsn, std::string_view front,
                                        uint64_t object_length) {
  auto hr = DecodeSegmentHeader(id, lsn, front, object_length);
  if (!hr.ok()) return hr.status();
  SegmentFront out;
  out.header = *hr;
  const SegmentHeader& h = out.header;
  if (front.size() < SegmentFrontBytes(h))
    return Status::Error(EINVAL, Where(id, lsn) + ": decoding needs the first " +
                                     std::to_string(SegmentFrontBytes(h)) + " bytes, got " + std::to_string(front.size()));
  std::string_view area = front.substr(kSegmentHeaderBytes, h.record_bytes);
  std::string opened;
  if (h.encrypted) {
    auto sub = DeriveObjectSubkey(id.key->bytes, h.salt, SubkeyLabel::kLog);
    if (!sub.ok()) return sub.status().Wrap(Where(id, lsn));
    opened.resize(area.size() - kGcmTagBytes);
    if (!GcmOpen(sub->key, sub->nonce.data(), front.substr(0, kSegmentHeaderBytes), area, opened.data()))
      return Corrupt(id, lsn, "record area: authentication failed (AES-GCM): segment altered, or of another volume or key");
    area = opened;
  }
  out.records.reserve(std::min<size_t>(h.record_count, area.size() / 32));
  size_t pos = 0, i = 0;
  bool committed = false;
  while (pos < area.size()) {
    if (area.size() - pos < kRecordHeaderBytes)
      return Corrupt(id, lsn, Rec(i) + "the record area ends inside the record's header");
    const char* r = area.data() + pos;
    uint32_t len = GetLE<uint32_t>(r + 12);
    if (len > area.size() - pos - kRecordHeaderBytes)
      return Corrupt(id, lsn, Rec(i) + "length " + std::to_string(len) + " runs past the record area");
    if (XXH3_64bits_withSeed(r + 8, 8 + size_t{len}, h.checksum) != GetLE<uint64_t>(r))
      return Corrupt(id, lsn, Rec(i) + "checksum mismatch");
    if (r[9] != 0 || GetLE<uint16_t>(r + 10) != 0) return Corrupt(id, lsn, Rec(i) + "flags or reserved bytes are not zero");
    auto type = static_cast<RecordType>(static_cast<uint8_t>(r[8]));
    pos += kRecordHeaderBytes + len;
    if (type == RecordType::kCommit) {
      if (pos != area.size()) return Corrupt(id, lsn, Rec(i) + "COMMIT is not the last record");
      if (len != kCommitBody) return Corrupt(id, lsn, Rec(i) + "COMMIT body is " + std::to_string(len) + " bytes, not 16");
      if (GetLE<uint32_t>(r + 16) != i || GetLE<uint32_t>(r + 20) != 0)
        return Corrupt(id, lsn, Rec(i) + "COMMIT counts " + std::to_string(GetLE<uint32_t>(r + 16)) +
                                    " records before it, there are " + std::to_string(i));
      out.data_checksum = GetLE<uint64_t>(r + 24);
      committed = true;
      break;
    }
    auto body = DecodeBody(type, std::string_view(r + kRecordHeaderBytes, len));
    if (!body.ok()) return Corrupt(id, lsn, Rec(i) + body.status().message());
    out.records.push_back(std::move(*body));
    i++;
  }
  if (!committed) return Corrupt(id, lsn, "the last record is not COMMIT");
  if (h.record_count != i + 1)
    return Corrupt(id, lsn, "header counts " + std::to_string(h.record_count) + " records, the record area holds " +
                                std::to_string(i + 1));
  if (Status s = CheckRules(id, h, out.records); !s.ok()) return Corrupt(id, lsn, s.message());
  return out;
}

Status OpenWriteExtent(const SegmentIdentity& id, const SegmentHeader& h, uint32_t record_index,
                       uint32_t write_index, const WriteRecord& w, std::string_view stored, char* out) {
  const std::string where = Where(id, h.lsn) + ": " + Rec(record_index);
  if (stored.size() != StoredExtentLength(h, w)) {
    std::memset(out, 0, w.length);
    return Status::Error(EIO, where + "extent is " + std::to_string(stored.size()) + " bytes, the record says " +
                                  std::to_string(StoredExtentLength(h, w)) + " (truncated)");
  }
  if (h.encrypted) {
    if (!id.key) return Status::Error(EINVAL, where + "an encrypted extent needs the volume key");
    auto sub = DeriveObjectSubkey(id.key->bytes, h.salt, SubkeyLabel::kLog);
    if (!sub.ok()) return sub.status().Wrap(where);
    if (!GcmOpen(sub->key, NonceWithCounter(sub->nonce, uint64_t{write_index} + 1).data(), ExtentAd(h.checksum, w),
                 stored, out))
      return Status::Error(EIO, where + "extent: authentication failed (AES-GCM)");
  } else {
    std::memcpy(out, stored.data(), w.length);
  }
  if (XXH3_64bits_withSeed(out, w.length, w.block) != w.data_checksum) {
    std::memset(out, 0, w.length);
    return Status::Error(EIO, where + "extent checksum mismatch");
  }
  return Status::Ok();
}

Result<SegmentFront> DecodeSegment(const SegmentIdentity& id, uint64_t lsn, std::string_view object,
                                   std::vector<std::string>* extents) {
  auto front = DecodeSegmentFront(id, lsn, object, object.size());
  if (!front.ok()) return front;
  const SegmentHeader& h = front->header;
  std::string_view data = object.substr(SegmentFrontBytes(h));
  if (XXH3_64bits_withSeed(data.data(), data.size(), lsn) != front->data_checksum)
    return Corrupt(id, lsn, "data area checksum mismatch (COMMIT)");
  if (extents) extents->clear();
  uint32_t writes = 0;
  std::string plain;
  for (size_t i = 0; i < front->records.size(); i++) {
    const auto* w = std::get_if<WriteRecord>(&front->records[i]);
    if (!w) continue;
    plain.assign(w->length, '\0');
    if (Status s = OpenWriteExtent(id, h, static_cast<uint32_t>(i), writes++, *w,
                                   data.substr(w->data_offset, StoredExtentLength(h, *w)), plain.data());
        !s.ok())
      return s;
    if (extents) extents->push_back(plain);
  }
  return front;
}

}  // namespace s3nbd
