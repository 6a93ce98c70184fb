// Stack assembly, volume creation; see volume_factory.h.
#include "cache/volume/volume_factory.h"

#include <sys/stat.h>

#include <chrono>

#include "cache/codec/block_codec.h"
#include "cache/codec/volume_key.h"
#include "cache/local/local_cache_store.h"
#include "cache/s3/create_only_probe.h"
#include "cache/s3/s3_block_store.h"
#include "cache/sparse/present_map_file.h"
#include "cache/sparse/zero_eliding_store.h"
#include "cache/util/log.h"
#include "cache/volume/read_only_store.h"
#include "cache/volume/volume_config.h"

namespace s3nbd {

Result<std::shared_ptr<RefreshingCredentials>> CredentialsFor(const VolumeOptions& options,
                                                              bool allow_anonymous) {
  CredentialOptions c;
  c.credentials_file = options.credentials_file;
  c.profile = options.profile;
  c.allow_anonymous = allow_anonymous;
  c.region = options.s3.region;
  c.ca_file = options.s3.ca_file;
  return OpenCredentials(c);
}

Result<std::unique_ptr<S3Client>> ConnectBucket(const VolumeOptions& options) {
  S3Config config = options.s3;
  auto creds = CredentialsFor(options, options.readonly);
  if (!creds.ok()) return creds.status();
  LogDebug("credentials: from " + (*creds)->source());
  config.credential_source = *creds;
  auto client = S3Client::Create(config);
  if (!client.ok()) return client.status();
  if (Status s = (*client)->HeadBucket(); !s.ok()) return s;
  return std::move(*client);
}

Result<VolumeDescriptor> ReadAnyDescriptor(S3Client& client, const VolumeOptions& options) {
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

Status RequireVersion1(const VolumeDescriptor& d, const std::string& where) {
  if (d.format == 1) return Status::Ok();
  return Status::Error(ENOTSUP, where + ": volume format " + std::to_string(d.format) +
                                    " (versioned volume) is not yet supported by this s3nbd");
}

Result<VolumeDescriptor> ReadDescriptor(S3Client& client, const VolumeOptions& options) {
  auto d = ReadAnyDescriptor(client, options);
  if (!d.ok()) return d;
  auto prefix = NormalizePrefix(options.prefix);
  if (Status s = RequireVersion1(*d, "s3://" + options.s3.bucket + "/" + *prefix); !s.ok()) return s;
  return d;
}

Status ApplyCodecChoices(VolumeDescriptor* d, const CodecChoices& codec) {
  if (codec.compression != "none" && codec.compression != "zstd")
    return Status::Error(EINVAL, "create: compression '" + codec.compression + "' is not supported");
  d->compression = codec.compression;
  d->compression_level = codec.compression_level;
  if (!codec.passphrase.empty()) return SetUpEncryption(d, codec.passphrase, codec.kdf);
  return Status::Ok();
}

Result<VolumeDescriptor> CreateVolume(S3Client& client, const VolumeOptions& options, uint64_t size,
                                      uint32_t block_size, KeyLayout layout, const CodecChoices& codec) {
  auto prefix = NormalizePrefix(options.prefix);
  if (!prefix.ok()) return prefix.status();
  auto d = NewDescriptor(size, block_size, layout);
  if (!d.ok()) return d.status();
  if (Status s = ApplyCodecChoices(&*d, codec); !s.ok()) return s;
  BlockKeys keys(*prefix, layout);
  Status s = CreateOnlyPut(client, keys.DescriptorKey(), EncodeDescriptor(*d));
  if (s.err() == EEXIST)
    return Status::Error(EEXIST, "a volume already exists at s3://" + options.s3.bucket + "/" + *prefix +
                                     " (see 's3nbd info'): " + s.message());
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
Result<std::vector<uint64_t>> LoadSavedMap(const std::string& token, const VolumeDescriptor& desc,
                                           const std::string& path) {
  if (path.empty()) return Status::Error(ENOENT, "no present map file");
  auto image = TakePresentMap(path);
  if (!image.ok()) {
    if (image.status().err() != ENOENT) LogWarning("open: " + image.status().message() + "; listing the bucket");
    return image.status();
  }
  if (image->volume_uuid != desc.uuid || image->block_count != desc.block_count() || token != image->writer_token) {
    LogInfo("open: saved present map " + path + " is stale (another writer or volume); listing the bucket");
    return Status::Error(ESTALE, "stale present map");
  }
  return std::move(image->words);
}


}  // namespace

// The codec of the volume, checking the codec options against the descriptor and unwrapping
// the data key. Refusals name the volume and what to change.
Result<CodecIdentity> CodecFor(const VolumeOptions& o, const VolumeDescriptor& d, const std::string& name) {
  CodecIdentity id;
  id.uuid = d.uuid;
  id.block_size = d.block_size;
  id.zstd = d.compressed();
  id.zstd_level = d.compression_level;
  if (!o.compress.empty()) {
    std::string algorithm;
    int level = 0;
    if (Status s = ParseCompression(o.compress, &algorithm, &level); !s.ok()) return s;
    if (algorithm != d.compression)
      return Status::Error(EINVAL, "open: volume " + name + ": compress=" + o.compress +
                                       " was given but the volume was created with compression " +
                                       CompressionName(d) + " (recorded at create; it cannot change)");
    if (level) id.zstd_level = level;
  }
  if (!d.encrypted()) {
    if (!o.passphrase_file.empty())
      return Status::Error(EINVAL, "open: volume " + name + ": passphrase-file was given but the volume "
                                                             "is not encrypted (created without --encrypt)");
    return id;
  }
  if (o.passphrase_file.empty())
    return Status::Error(EACCES, "open: volume " + name + ": the volume is encrypted (" + d.encryption +
                                     "); passphrase-file=PATH is required");
  auto pass = ReadPassphraseFile(o.passphrase_file);
  if (!pass.ok()) return pass.status().Wrap("open: volume " + name);
  auto key = UnwrapDataKey(d, *pass);
  Wipe(pass->data(), pass->size());
  if (!key.ok()) return key.status().Wrap("open: volume " + name);
  id.key = std::move(*key);
  return id;
}

Result<std::unique_ptr<OpenedVolume>> OpenedVolume::Open(const VolumeOptions& options) {
  std::unique_ptr<OpenedVolume> v(new OpenedVolume());
  Status s;
  try {
    s = v->OpenSteps(options);
  } catch (...) {  // bad_alloc (a huge present map) or any other: the lease goes all the same
    v->ReleaseLease();
    throw;
  }
  if (!s.ok()) {
    v->ReleaseLease();  // a refused open must not keep others out
    return s;
  }
  return v;
}

Status OpenedVolume::OpenSteps(const VolumeOptions& options) {
  OpenedVolume* v = this;
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
  auto id = CodecFor(options, desc, v->name_);  // before any block I/O: wrong passphrase stops here
  if (!id.ok()) return id.status();
  BlockKeys keys(*prefix, desc.key_layout);
  if (!options.readonly) {
    // The lease keeps a second writer out only where create-only PUT is honoured.
    Status probe = RequireCreateOnly(*v->client_, *prefix, "open: volume " + v->name_, options.unsafe_single_host);
    if (!probe.ok()) return probe;
    auto lease = WriterLease::Acquire(v->client_.get(), keys.LeaseKey(), v->name_, options.lease_seconds,
                                      options.force_takeover);
    if (!lease.ok()) return lease.status();
    v->lease_ = std::move(*lease);
  }
  // Renewed while the open goes on (a long listing must not let it lapse: a lapsed lease is
  // lost); stopped before nbdkit forks, whatever way this returns.
  struct RenewDuringOpen {
    WriterLease* lease;
    ~RenewDuringOpen() {
      if (lease) lease->StopRenewal();
    }
  } renew_during_open{v->lease_.get()};
  if (v->lease_) v->lease_->RenewInBackground();
  if (v->lease_ && options.after_lease_for_test) options.after_lease_for_test();
  // Every block PUT and DELETE is bounded by the lease's validity (the fence).
  auto s3 = std::make_unique<S3BlockStore>(v->client_.get(), keys, desc.block_count(), v->lease_.get());
  auto codec = std::make_unique<BlockCodec>(std::move(*id), std::move(s3));
  auto zero = std::make_unique<ZeroElidingStore>(desc.block_count(), desc.block_size, std::move(codec));
  v->zero_ = zero.get();
  auto t0 = std::chrono::steady_clock::now();
  bool from_file = false;
  // The last writer session recorded in the bucket: proves a saved present map current, and
  // tells the cache whether its dirty data predates another writer's session.
  std::string bucket_token;
  if (!options.readonly || !options.cache.path.empty()) {
    Status s = v->client_->Get(keys.WriterKey(), &bucket_token);
    if (s.err() == ENOENT) bucket_token.clear();
    else if (!s.ok()) return s.Wrap("open: volume " + v->name_ + ": reading the writer session");
  }
  if (!options.readonly) {
    v->present_map_path_ = PresentMapPath(options);
    auto loaded = LoadSavedMap(bucket_token, desc, v->present_map_path_);
    if (loaded.ok()) {
      zero->LoadWords(*loaded);
      from_file = true;
    }
    v->writer_token_ = NewWriterToken();  // written to the bucket once the cache recorded it
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
  std::unique_ptr<BlockStore> stack = std::move(zero);
  // Guard below the cache too: a writer that lost its lease must not upload either.
  if (v->lease_) stack = std::make_unique<LeaseGuardStore>(v->lease_.get(), std::move(stack));
  if (options.readonly) stack = std::make_unique<ReadOnlyStore>(std::move(stack));
  v->stack_ = std::move(stack);
  if (!options.cache.path.empty()) {
    VolumeIdentity vid{desc.uuid, desc.block_size, desc.size};
    CacheOptions cache_options = options.cache;
    // CLEAN copies are reused only after a clean shutdown with no other writer since (the
    // saved map's token still in the bucket); otherwise they may be stale and are dropped.
    cache_options.trust_clean = from_file;
    cache_options.uploads = !options.readonly;
    cache_options.bucket_writer_token = bucket_token;
    cache_options.session_writer_token = v->writer_token_;
    auto cache = LocalCacheStore::Create(cache_options, std::move(v->stack_), vid);
    if (!cache.ok()) return cache.status().Wrap("open: volume " + v->name_);
    v->cache_ = cache->get();
    v->stack_ = std::move(*cache);
    v->readahead_blocks_ = options.readahead_blocks;
  }
  if (!options.readonly) {
    // A fresh token before any write: a saved map or a dirty cache of an earlier session is
    // now stale for everyone else.
    Status s = v->client_->Put(keys.WriterKey(), v->writer_token_);
    if (!s.ok()) return s.Wrap("open: volume " + v->name_ + ": recording the writer session");
  }
  v->shutdown_timeout_ = options.shutdown_timeout;
  // And above it: new writes are refused at once, not queued for an upload that cannot happen.
  if (v->lease_ && v->cache_) v->stack_ = std::make_unique<LeaseGuardStore>(v->lease_.get(), std::move(v->stack_));
  v->threads_ = options.threads > 0 ? options.threads : options.s3.max_connections;
  return Status::Ok();
}

OpenedVolume::~OpenedVolume() {
  volume_.reset();
  pool_.reset();
  lease_.reset();  // released last: no write can follow
}

void OpenedVolume::Start() {
  if (volume_) return;
  if (lease_) lease_->StartRenewal();
  pool_ = std::make_unique<ThreadPool>(threads_);
  volume_ = std::make_unique<Volume>(name_, descriptor_.size, descriptor_.block_size, std::move(stack_),
                                     pool_.get());
  if (cache_) {
    cache_->Start();
    volume_->EnableReadahead(readahead_blocks_);
  }
}

void OpenedVolume::ReleaseLease() {
  if (lease_) lease_->Release();
}

Status OpenedVolume::Shutdown() {
  if (!cache_) {
    ReleaseLease();
    return Status::Ok();
  }
  Status s = cache_->Shutdown(shutdown_timeout_);
  if (!s.ok()) s = s.Wrap("shutdown: volume " + name_ + ": dirty data left in the cache file for the next start");
  if (!present_map_path_.empty() && zero_->unsure_count() > 0) {
    // A saved map would call those blocks present for sure; a 404 for them would then be EIO.
    LogInfo("shutdown: volume " + name_ + ": " + std::to_string(zero_->unsure_count()) +
            " blocks whose last write failed; the present map is not saved (the next open lists the bucket)");
  } else if (!present_map_path_.empty()) {
    // The map reflects what this writer stored (pending cache versions update it when they
    // are uploaded after the next start), so it is valid even when the drain timed out.
    PresentMapImage image{descriptor_.uuid, writer_token_, descriptor_.block_count(), zero_->SnapshotWords()};
    if (Status m = SavePresentMap(present_map_path_, image); !m.ok())
      LogWarning("shutdown: volume " + name_ + ": " + m.message() + " (the next open lists the bucket)");
  }
  ReleaseLease();  // dirty data left behind stays in this host's cache file, uploaded at restart
  return s;
}

}  // namespace s3nbd
