// Stack assembly, volume creation; see volume_factory.h.
#include "cache/volume_factory.h"

#include <sys/stat.h>

#include <chrono>

#include "cache/block_codec.h"
#include "cache/local/local_cache_store.h"
#include "cache/log.h"
#include "cache/present_map_file.h"
#include "cache/s3_block_store.h"
#include "cache/volume_config.h"
#include "cache/zero_eliding_store.h"

namespace s3nbd {

Result<std::unique_ptr<S3Client>> ConnectBucket(const VolumeOptions& options) {
  S3Config config = options.s3;
  auto creds = ResolveCredentials(options.credentials_file, options.profile, options.readonly);
  if (!creds.ok()) return creds.status();
  config.credentials = *creds;
  auto client = S3Client::Create(config);
  if (!client.ok()) return client.status();
  if (Status s = (*client)->HeadBucket(); !s.ok()) return s;
  return std::move(*client);
}

Result<VolumeDescriptor> ReadDescriptor(S3Client& client, const VolumeOptions& options) {
  auto prefix = NormalizePrefix(options.prefix);
  if (!prefix.ok()) return prefix.status();
  BlockKeys keys(*prefix, KeyLayout::kFlat);
  std::string text;
  Status s = client.Get(keys.DescriptorKey(), &text);
  if (s.err() == ENOENT)
    return Status::Error(ENOENT, "no s3nbd volume at s3://" + options.s3.bucket + "/" + *prefix +
                                     " (object '" + keys.DescriptorKey() +
                                     "' not found); create one with 's3nbd create'");
  if (!s.ok()) return s;
  auto d = DecodeDescriptor(text);
  if (!d.ok()) return d.status().Wrap("s3://" + options.s3.bucket + "/" + keys.DescriptorKey());
  return d;
}

Result<VolumeDescriptor> CreateVolume(S3Client& client, const VolumeOptions& options, uint64_t size,
                                      uint32_t block_size, KeyLayout layout) {
  auto prefix = NormalizePrefix(options.prefix);
  if (!prefix.ok()) return prefix.status();
  auto d = NewDescriptor(size, block_size, layout);
  if (!d.ok()) return d.status();
  BlockKeys keys(*prefix, layout);
  S3PutOptions put;
  put.if_none_match = true;
  Status s = client.Put(keys.DescriptorKey(), EncodeDescriptor(*d), put);
  if (s.err() == EEXIST)
    return Status::Error(EEXIST, "a volume already exists at s3://" + options.s3.bucket + "/" +
                                     *prefix + " (see 's3nbd info')");
  if (!s.ok()) return s;
  return d;
}

namespace {

Status CheckExpectations(const VolumeOptions& o, const VolumeDescriptor& d, const std::string& name) {
  if (o.expect_block_size && o.expect_block_size != d.block_size)
    return Status::Error(EINVAL, "volume " + name + ": block-size=" + std::to_string(o.expect_block_size) +
                                     " was given but the volume was created with block size " +
                                     std::to_string(d.block_size));
  if (o.expect_size && o.expect_size != d.size)
    return Status::Error(EINVAL, "volume " + name + ": size=" + std::to_string(o.expect_size) +
                                     " was given but the volume size is " + std::to_string(d.size));
  return Status::Ok();
}

// The saved present map's path: explicit, or next to a cache FILE (not a block device).
std::string PresentMapPath(const VolumeOptions& o) {
  if (!o.present_map.empty()) return o.present_map;
  if (o.cache.path.empty()) return "";
  struct stat st;
  if (::stat(o.cache.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return "";
  return o.cache.path + ".present";
}

// The saved map's words if it exists, belongs to this volume and no other writer opened the
// volume since it was saved; otherwise an error (the caller lists the bucket).
Result<std::vector<uint64_t>> LoadSavedMap(S3Client& client, const BlockKeys& keys,
                                           const VolumeDescriptor& desc, const std::string& path) {
  if (path.empty()) return Status::Error(ENOENT, "no present map file");
  auto image = TakePresentMap(path);
  if (!image.ok()) {
    if (image.status().err() != ENOENT) LogWarning("open: " + image.status().message() + "; listing the bucket");
    return image.status();
  }
  std::string token;
  Status s = client.Get(keys.WriterKey(), &token);
  if (!s.ok() && s.err() != ENOENT) return s;
  if (image->volume_uuid != desc.uuid || image->block_count != desc.block_count() || token != image->writer_token) {
    LogInfo("open: saved present map " + path + " is stale (another writer or volume); listing the bucket");
    return Status::Error(ESTALE, "stale present map");
  }
  return std::move(image->words);
}

}  // namespace

Result<std::unique_ptr<OpenedVolume>> OpenedVolume::Open(const VolumeOptions& options) {
  std::unique_ptr<OpenedVolume> v(new OpenedVolume());
  v->name_ = VolumeName(options);
  auto prefix = NormalizePrefix(options.prefix);
  if (!prefix.ok()) return prefix.status();
  auto client = ConnectBucket(options);
  if (!client.ok()) return client.status();
  v->client_ = std::move(*client);
  auto d = ReadDescriptor(*v->client_, options);
  if (!d.ok()) return d.status();
  v->descriptor_ = *d;
  if (Status s = CheckExpectations(options, v->descriptor_, v->name_); !s.ok()) return s;

  const VolumeDescriptor& desc = v->descriptor_;
  auto s3 = std::make_unique<S3BlockStore>(v->client_.get(), BlockKeys(*prefix, desc.key_layout),
                                           desc.block_count());
  CodecIdentity id{desc.uuid, desc.block_size};
  auto codec = std::make_unique<BlockCodec>(id, std::move(s3));
  auto zero = std::make_unique<ZeroElidingStore>(desc.block_count(), desc.block_size, std::move(codec));
  v->zero_ = zero.get();
  auto t0 = std::chrono::steady_clock::now();
  bool from_file = false;
  if (!options.readonly) {
    v->present_map_path_ = PresentMapPath(options);
    auto loaded = LoadSavedMap(*v->client_, BlockKeys(*prefix, desc.key_layout), desc, v->present_map_path_);
    if (loaded.ok()) {
      zero->LoadWords(*loaded);
      from_file = true;
    }
    // A fresh token before any write: a saved map of an earlier session is now stale for
    // everyone else.
    v->writer_token_ = NewWriterToken();
    Status s = v->client_->Put(BlockKeys(*prefix, desc.key_layout).WriterKey(), v->writer_token_);
    if (!s.ok()) return s.Wrap("open: volume " + v->name_ + ": recording the writer session");
  }
  if (!from_file) {
    if (Status s = zero->Load(); !s.ok()) return s.Wrap("open: volume " + v->name_ + ": listing blocks");
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  v->present_at_open_ = zero->present_count();
  LogInfo("opened volume " + v->name_ + ": " + std::to_string(desc.size) + " bytes, block size " +
          std::to_string(desc.block_size) + ", " + std::to_string(v->present_at_open_) + " blocks stored (" +
          (from_file ? "present map from " + v->present_map_path_ : std::string("listed")) + " in " +
          std::to_string(secs) + " s)");
  v->stack_ = std::move(zero);
  if (!options.cache.path.empty()) {
    VolumeIdentity vid{desc.uuid, desc.block_size, desc.size};
    auto cache = LocalCacheStore::Create(options.cache, std::move(v->stack_), vid);
    if (!cache.ok()) return cache.status().Wrap("open: volume " + v->name_);
    v->cache_ = cache->get();
    v->stack_ = std::move(*cache);
    v->readahead_blocks_ = options.readahead_blocks;
  }
  v->shutdown_timeout_ = options.shutdown_timeout;
  v->threads_ = options.threads > 0 ? options.threads : options.s3.max_connections;
  return v;
}

OpenedVolume::~OpenedVolume() {
  volume_.reset();
  pool_.reset();
}

void OpenedVolume::Start() {
  if (volume_) return;
  pool_ = std::make_unique<ThreadPool>(threads_);
  volume_ = std::make_unique<Volume>(name_, descriptor_.size, descriptor_.block_size, std::move(stack_),
                                     pool_.get());
  if (cache_) {
    cache_->Start();
    volume_->EnableReadahead(readahead_blocks_);
  }
}

Status OpenedVolume::Shutdown() {
  if (!cache_) return Status::Ok();
  Status s = cache_->Shutdown(shutdown_timeout_);
  if (!s.ok()) s = s.Wrap("shutdown: volume " + name_ + ": dirty data left in the cache file for the next start");
  if (!present_map_path_.empty()) {
    // The map reflects what this writer stored (pending cache versions update it when they
    // are uploaded after the next start), so it is valid even when the drain timed out.
    PresentMapImage image{descriptor_.uuid, writer_token_, descriptor_.block_count(), zero_->SnapshotWords()};
    if (Status m = SavePresentMap(present_map_path_, image); !m.ok())
      LogWarning("shutdown: volume " + name_ + ": " + m.message() + " (the next open lists the bucket)");
  }
  return s;
}

}  // namespace s3nbd
