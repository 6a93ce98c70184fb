// LocalCacheStore opening: format a new cache file, or load and recover an existing one
// (docs/cache-format.md "Recovery rules"). Runs before any thread exists; mu_ is taken
// only to satisfy the lock rule of the members it fills.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "cache/local/local_cache_store.h"
#include "cache/s3/sigv4.h"  // HexEncode
#include "cache/util/log.h"

namespace s3nbd {
namespace {

constexpr size_t kIndexChunk = 1 << 20;  // bytes of index read or zeroed per batch

}  // namespace

LocalCacheStore::LocalCacheStore(Key, CacheOptions options, std::unique_ptr<BlockStore> inner,
                                 VolumeIdentity id)
    : options_(std::move(options)), inner_(std::move(inner)), id_(id), block_size_(id.block_size) {}

Result<std::unique_ptr<LocalCacheStore>> LocalCacheStore::Create(CacheOptions options,
                                                                 std::unique_ptr<BlockStore> inner,
                                                                 VolumeIdentity id) {
  if (!inner) return Status::Error(EINVAL, "open cache: no inner store");
  if (id.block_size == 0) return Status::Error(EINVAL, "open cache: block size is 0");
  if (options.path.empty()) return Status::Error(EINVAL, "open cache: no cache path given");
  if (options.max_dirty != 0 && options.max_dirty < id.block_size)
    return Status::Error(EINVAL, "open cache " + options.path + ": max_dirty (" +
                                     std::to_string(options.max_dirty) +
                                     " bytes) is smaller than one block (" +
                                     std::to_string(id.block_size) + " bytes)");
  if (options.retry_delay.count() <= 0) options.retry_delay = std::chrono::milliseconds(1);
  if (options.max_retry_delay < options.retry_delay) options.max_retry_delay = options.retry_delay;
  auto store = std::make_unique<LocalCacheStore>(Key{}, std::move(options), std::move(inner), id);
  if (Status s = store->Open(); !s.ok()) return s;
  if (Status s = store->CheckWriterSession(); !s.ok()) return s;
  return store;
}

LocalCacheStore::~LocalCacheStore() { StopThreads(); }

Status LocalCacheStore::Open() {
  auto file = options_.open_file ? options_.open_file(options_.path, options_.direct_io)
                                 : UringCacheFile::Open(options_.path, options_.direct_io);
  if (!file.ok()) return file.status().Wrap("open cache");
  file_ = std::move(file).value();
  const std::string where = "open cache " + options_.path;
  std::string refuse;
  if (file_->size() >= kCacheHeaderSize) {
    AlignedBuffer buf(kCacheHeaderSize);
    if (Status s = file_->ReadMeta(0, buf.data(), kCacheHeaderSize); !s.ok()) return s.Wrap(where);
    auto state = DecodeHeader(std::span<const uint8_t>(buf.data(), kCacheHeaderSize), &header_);
    if (!state.ok() && state.status().err() == EPROTONOSUPPORT) {
      // A newer s3nbd's file is not corrupt, and may hold its dirty blocks: never discarded,
      // whatever discard-bad-cache says.
      return state.status().Wrap(where);
    } else if (!state.ok()) {
      refuse = state.status().message();
    } else if (*state == HeaderState::kEmpty) {
      return Format("new cache file");
    } else {
      if (header_.volume_uuid != id_.uuid)
        return Status::Error(
            EINVAL, where + ": belongs to volume " + UuidString(header_.volume_uuid) + ", not " +
                        UuidString(id_.uuid) + "; use another cache path or delete this file");
      if (header_.block_size != id_.block_size)
        return Status::Error(EINVAL, where + ": made for block size " +
                                         std::to_string(header_.block_size) + ", volume has " +
                                         std::to_string(id_.block_size) +
                                         "; use another cache path or delete this file");
      if (file_->size() < CacheFileSize(header_)) refuse = "file is shorter than its geometry";
    }
  } else if (file_->size() == 0 && !file_->is_block_device()) {
    return Format("new cache file");
  } else {  // never format over a small file that is not ours
    refuse = "file of " + std::to_string(file_->size()) + " bytes is too small for a cache header";
  }
  if (refuse.empty()) {
    Status s = LoadIndex();
    if (s.ok()) s = Recover();
    if (s.ok()) return s;
    refuse = s.message();
  }
  if (!options_.discard_bad_cache)
    return Status::Error(EIO,
                         where + ": corrupt cache (" + refuse +
                             "); refusing to use it. Start with discard-bad-cache=true to drop its content "
                             "(dirty blocks in it are lost)");
  LogWarning(where + ": corrupt cache (" + refuse + "); discarding it as requested");
  return Format("discarded corrupt cache");
}

namespace {

// 32 hex digits as 16 bytes; all zero when the text is not such a token.
std::array<uint8_t, 16> TokenBytes(const std::string& hex) {
  std::array<uint8_t, 16> out{};
  if (hex.size() != 32) return out;
  for (size_t i = 0; i < 16; i++) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &v) != 1) return {};
    out[i] = static_cast<uint8_t>(v);
  }
  return out;
}
std::string TokenHex(const std::array<uint8_t, 16>& t) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(t.data()), t.size()));
}

}  // namespace

Status LocalCacheStore::CheckWriterSession() {
  const std::string where = "open cache " + options_.path;
  const std::array<uint8_t, 16> zero{}, bucket = TokenBytes(options_.bucket_writer_token);
  std::vector<uint64_t> drop;
  {
    MutexLock lock(&mu_);
    const bool known = header_.writer_token != zero;
    const bool ours = bucket == zero || bucket == header_.writer_token || bucket == header_.prev_writer_token;
    if (writeback_.pending_seqs() != 0 && !known) {
      LogWarning(where + ": " + std::to_string(writeback_.pending_seqs()) + " pending versions from a cache "
                 "without writer tokens (an older s3nbd); they are uploaded as found");
    } else if (writeback_.pending_seqs() != 0 && !ours) {
      const std::string what = std::to_string(writeback_.pending_seqs()) + " dirty versions in it were written by "
                               "writer session " + TokenHex(header_.writer_token) + ", but another writer "
                               "opened volume " + UuidString(id_.uuid) + " since (session " +
                               options_.bucket_writer_token + " in the bucket)";
      if (!options_.discard_stale_cache)
        return Status::Error(ESTALE, where + ": stale dirty data: " + what +
                                         "; uploading them would overwrite that writer's newer data. Start "
                                         "with discard-stale-cache=true to drop them (they are lost), or use "
                                         "another cache path");
      LogWarning(where + ": dropping stale dirty data as requested (discard-stale-cache): " + what);
      for (auto it = blocks_.begin(); it != blocks_.end();) {
        for (const Version& v : it->second.versions) drop.push_back(v.rec);
        it = it->second.versions.empty() ? std::next(it) : blocks_.erase(it);  // keeps CLEAN copies
      }
      writeback_.Clear();
      for (uint64_t rec : drop) index_.Free(rec);  // its FREE record is synced below, before any reuse
      PublishLocked();
    }
    if (!options_.session_writer_token.empty()) {  // a writable open: this session's token
      header_.prev_writer_token = bucket != zero ? bucket : header_.writer_token;
      header_.writer_token = TokenBytes(options_.session_writer_token);
    }
  }
  if (Status s = WriteRecords(drop); !s.ok()) return s.Wrap(where);
  // Durable before the caller writes the new token to the bucket (see the format doc).
  if (Status s = SyncFile(); !s.ok()) return s.Wrap(where);
  return Status::Ok();
}

Status LocalCacheStore::Format(const std::string& why) {
  const std::string where = "format cache " + options_.path;
  uint64_t size = options_.size;
  if (size == 0)
    size = file_->is_block_device() ? file_->size() : DefaultCacheSize(id_.volume_size);
  header_ = MakeCacheHeader(id_.uuid, id_.block_size, id_.volume_size, size);
  if (Status s = file_->Reserve(CacheFileSize(header_)); !s.ok()) return s.Wrap(where);
  // Zero the old header first, then the index, then write the new header: a crash in
  // between leaves an empty (formattable) or consistent file.
  AlignedBuffer zeros(kIndexChunk);
  for (uint64_t off = 0; off < header_.data_offset; off += kIndexChunk) {
    IoOp op{IoOp::Kind::kWrite, -1, zeros.data(),
            static_cast<size_t>(std::min<uint64_t>(kIndexChunk, header_.data_offset - off)), off};
    if (Status s = file_->WriteMeta(std::span<IoOp>(&op, 1)); !s.ok()) return s.Wrap(where);
  }
  if (Status s = file_->Sync(); !s.ok()) return s.Wrap(where);
  {
    MutexLock lock(&mu_);
    flushed_seq_ = 0;
  }
  if (Status s = SyncFile(); !s.ok()) return s.Wrap(where);  // writes the new header first
  MutexLock lock(&mu_);
  // A refused recovery (discard_bad_cache) may have filled these: start from nothing.
  blocks_.clear();
  writeback_.Clear();
  index_.Format(header_.slot_count, header_.record_count);
  verified_ = std::make_unique<std::atomic<uint8_t>[]>(header_.slot_count);
  writeback_.set_max_dirty(options_.max_dirty ? options_.max_dirty
                                             : DefaultMaxDirty(header_.slot_count, block_size_));
  LogInfo("open cache " + options_.path + ": " + why + ", " + std::to_string(header_.slot_count) +
          " slots of " + std::to_string(block_size_) + " bytes");
  PublishLocked();
  return Status::Ok();
}

Status LocalCacheStore::WriteHeader(const CacheHeader& h) {
  MutexLock io(&header_io_mu_);
  AlignedBuffer buf(kCacheHeaderSize);
  EncodeHeader(h, std::span<uint8_t, kCacheHeaderSize>(buf.data(), kCacheHeaderSize));
  IoOp op{IoOp::Kind::kWrite, -1, buf.data(), kCacheHeaderSize, 0};
  return file_->WriteMeta(std::span<IoOp>(&op, 1));
}

Status LocalCacheStore::LoadIndex() {
  std::vector<CacheRecord> recs(header_.record_count);
  AlignedBuffer buf(kIndexChunk);
  const uint64_t per_chunk = kIndexChunk / kCacheRecordSize;
  for (uint64_t first = 0; first < header_.record_count; first += per_chunk) {
    uint64_t n = std::min(per_chunk, header_.record_count - first);
    Status s = file_->ReadMeta(header_.index_offset + first * kCacheRecordSize, buf.data(),
                               n * kCacheRecordSize);
    if (!s.ok()) return s;
    for (uint64_t i = 0; i < n; i++) {
      s = DecodeRecord(
          std::span<const uint8_t>(buf.data() + i * kCacheRecordSize, kCacheRecordSize),
          &recs[first + i]);
      if (!s.ok()) return s.Wrap("index record " + std::to_string(first + i));
      const CacheRecord& r = recs[first + i];
      bool tomb = first + i >= header_.slot_count;
      if (r.kind != RecordKind::kFree && tomb != (r.kind == RecordKind::kErase))
        return Status::Error(
            EINVAL, "index record " + std::to_string(first + i) + ": kind does not fit its place");
    }
  }
  MutexLock lock(&mu_);
  index_.Load(header_.slot_count, std::move(recs));
  verified_ = std::make_unique<std::atomic<uint8_t>[]>(header_.slot_count);
  return Status::Ok();
}

// Applies the recovery rules: newest state per block, DIRTY data verified, stale records freed.
Status LocalCacheStore::Recover() {
  MutexLock lock(&mu_);
  SlotIndex::RecoveryPlan plan = index_.PlanRecovery(header_.uploaded_below);
  const uint64_t max_seq = std::max({header_.flushed_seq, header_.uploaded_below, plan.max_seq});
  const uint64_t max_epoch = plan.max_epoch, uploaded = plan.uploaded;
  flushed_seq_ = header_.flushed_seq;
  std::vector<uint64_t> drop = std::move(plan.drop);
  uint64_t lost = 0;
  for (auto& [block, recs] : plan.blocks) {
    // Verify DIRTY data from the newest backwards: a mismatch that is not the newest
    // record was superseded; the newest one is lost-unflushed or corrupt (seq decides).
    for (size_t k = recs.size(); k-- > 0;) {
      const CacheRecord r = index_.record(recs[k]);
      // An open slot (patched in place, never flushed) has no hash to check.
      if (r.kind != RecordKind::kDirty || (r.flags & kRecordOpen)) continue;
      lock.Unlock();
      std::string data;
      Status s = ReadSlot(recs[k], r.hash, true, &data);
      lock.Lock();
      if (s.ok()) continue;
      if (s.err() != EBADMSG) return s;
      if (r.seq <= header_.flushed_seq)
        return Status::Error(EIO, "block " + std::to_string(block) + " slot " +
                                      std::to_string(recs[k]) +
                                      ": flushed dirty data fails its checksum");
      LogWarning("open cache " + options_.path + ": block " + std::to_string(block) +
                 ": unflushed write lost by a crash (slot checksum mismatch); the store keeps the "
                 "older data");
      lost++;
      drop.push_back(recs[k]);
      recs.erase(recs.begin() + static_cast<long>(k));
    }
    if (recs.empty()) continue;
    BlockEntry& e = blocks_[block];
    for (uint64_t rec : recs) {
      const CacheRecord& r = index_.record(rec);
      if (r.kind == RecordKind::kClean) {
        if (!options_.trust_clean) {  // possibly stale: the bucket may have changed since
          drop.push_back(rec);
          continue;
        }
        e.clean = static_cast<int64_t>(rec);
        continue;
      }
      Version v{r.seq, r.epoch, rec, r.kind == RecordKind::kErase};
      e.versions.push_back(v);
      writeback_.AddPending(v.epoch, v.seq);
      writeback_.Queue({v.epoch, v.ready_ns, v.seq, block});
      if (!v.erase) writeback_.AddDirty(block_size_);
    }
    if (!e.versions.empty() && e.clean >= 0) {  // a clean copy older than pending versions
      drop.push_back(static_cast<uint64_t>(e.clean));
      e.clean = -1;
    }
  }
  for (uint64_t rec : drop) index_.Drop(rec);
  next_seq_ = max_seq + 1;
  current_epoch_ = max_epoch + 1;
  writeback_.set_max_dirty(options_.max_dirty ? options_.max_dirty
                                             : DefaultMaxDirty(header_.slot_count, block_size_));
  lock.Unlock();
  if (Status s = WriteRecords(drop); !s.ok()) return s;
  // What this open read may have been in the page cache only (after kill -9): make it durable,
  // so that slots found here count as durable (SlotIndex::DataDurable) and a power cut later in
  // this session cannot take the recovered state back.
  if (Status s = SyncFile(); !s.ok()) return s;
  lock.Lock();
  index_.RebuildFreeLists();
  if (options_.size != 0 &&
      MakeCacheHeader(id_.uuid, id_.block_size, id_.volume_size, options_.size).slot_count !=
          header_.slot_count)
    LogWarning("open cache " + options_.path +
               ": configured size differs from the file's; keeping the file's geometry");
  LogInfo("open cache " + options_.path + ": recovered " + std::to_string(writeback_.queued()) +
          " pending versions (" + std::to_string(writeback_.dirty_bytes()) + " dirty bytes), " +
          std::to_string(lost) + " unflushed writes lost, " + std::to_string(uploaded) +
          " records of versions already uploaded dropped");
  PublishLocked();
  return Status::Ok();
}

}  // namespace s3nbd
