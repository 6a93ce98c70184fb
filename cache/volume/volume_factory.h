// The one place the storage stack is assembled: S3BlockStore -> BlockCodec ->
// ZeroElidingStore -> [LeaseGuardStore] -> Volume, plus volume creation and descriptor
// reading for the CLI. Opening checks codec options and the passphrase before any block I/O
// and takes the writer lease for writable opens.
// OpenedVolume owns everything (client, pool, stack); destroy it after all I/O finished.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cache/codec/block_codec.h"
#include "cache/lease/writer_lease.h"
#include "cache/local/cache_options.h"
#include "cache/s3/block_key.h"
#include "cache/s3/credential_chain.h"
#include "cache/s3/s3_client.h"
#include "cache/util/thread_pool.h"
#include "cache/volume/volume.h"
#include "cache/volume/volume_descriptor.h"

namespace s3nbd {

struct VolumeOptions {
  S3Config s3;                   // endpoint, region, bucket, addressing, ca-file, connections, retries
  std::string prefix;            // as given by the user; normalised here
  std::string credentials_file;  // optional AWS INI file
  std::string profile;           // optional profile name
  uint64_t expect_size = 0;      // 0: take the descriptor's; else must match
  uint64_t expect_block_size = 0;
  bool readonly = false;         // allows anonymous credentials
  int threads = 0;               // parallel block operations; 0: s3.max_connections
  CacheOptions cache;            // cache.path empty: no local cache
  std::string present_map;       // saved present map; default: cache.path + ".present" for a file
  uint32_t readahead_blocks = 32;  // maximum read-ahead window with the cache; 0: off
  std::chrono::milliseconds shutdown_timeout{60000};  // drain of dirty data at shutdown
  // data safety (issue 5)
  std::string passphrase_file;   // encrypted volumes: the passphrase (or key) file
  std::string compress;          // "": as recorded; else must name the recorded algorithm (level may differ)
  int lease_seconds = 60;        // writer lease duration (lease-time=)
  bool force_takeover = false;   // take the writer lease even if unexpired (dead holder)
  // Go on where the endpoint ignores create-only PUT (the lease cannot keep a second writer
  // out): the user guarantees a single serving host (unsafe-single-host=).
  bool unsafe_single_host = false;
  // Test hook: runs in a writable open right after the writer lease is taken, and may throw
  // (as a huge present map's bad_alloc would). Empty in production.
  std::function<void()> after_lease_for_test;
};

// Codec choices recorded by 's3nbd create'.
struct CodecChoices {
  std::string compression = "none";  // "none" or "zstd"
  int compression_level = 0;
  std::string passphrase;            // non-empty: encrypt (AES-256-GCM)
  KdfParams kdf;
};

class LocalCacheStore;
class ZeroElidingStore;

class OpenedVolume {
 public:
  // Connects, checks the bucket and the descriptor, and lists present blocks. Starts no
  // thread (nbdkit forks after this); call Start() in the process that serves.
  static Result<std::unique_ptr<OpenedVolume>> Open(const VolumeOptions& options);
  ~OpenedVolume();

  void Start();  // creates the worker pool and the Volume, starts cache threads
  // Drains the cache's dirty data (bounded by the shutdown timeout) and stops its threads.
  // What is not uploaded in time stays dirty in the cache file for the next start.
  Status Shutdown();
  // Removes the writer lease (clean shutdown, failed start). Not done by the destructor:
  // nbdkit's parent process exits after fork with a copy of this object.
  void ReleaseLease();
  Volume& volume() { return *volume_; }
  LocalCacheStore* cache() { return cache_; }  // null without a cache
  const VolumeDescriptor& descriptor() const { return descriptor_; }
  S3Client& client() { return *client_; }
  uint64_t present_blocks_at_open() const { return present_at_open_; }

 private:
  OpenedVolume() = default;
  Status OpenSteps(const VolumeOptions& options);
  std::string name_;
  VolumeDescriptor descriptor_;
  int threads_ = 1;
  uint64_t present_at_open_ = 0;
  uint32_t readahead_blocks_ = 0;
  std::chrono::milliseconds shutdown_timeout_{0};
  LocalCacheStore* cache_ = nullptr;   // inside stack_/volume_, when configured
  ZeroElidingStore* zero_ = nullptr;   // inside stack_/volume_
  std::string present_map_path_;       // empty: not saved
  std::string writer_token_;           // this session's token in P/writer.s3nbd
  std::unique_ptr<S3Client> client_;
  std::unique_ptr<BlockStore> stack_;  // handed to volume_ by Start()
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Volume> volume_;
  std::unique_ptr<WriterLease> lease_;  // writable opens only; destroyed after volume_
};

// The credential chain (credential_chain.h) for these options: credentials-file, profile,
// the S3 region and CA file.
Result<std::shared_ptr<RefreshingCredentials>> CredentialsFor(const VolumeOptions& options,
                                                              bool allow_anonymous);

// Connects with the chain's credentials and checks that the bucket is reachable.
Result<std::unique_ptr<S3Client>> ConnectBucket(const VolumeOptions& options);

// The codec of a volume: checks the codec options against the descriptor and unwraps the data
// key (passphrase-file=) of an encrypted volume. Refusals name the volume and what to change.
Result<CodecIdentity> CodecFor(const VolumeOptions& options, const VolumeDescriptor& d,
                               const std::string& name);

// Reads and decodes the descriptor of the volume at options.prefix, either format version.
Result<VolumeDescriptor> ReadAnyDescriptor(S3Client& client, const VolumeOptions& options);

// ENOTSUP "WHERE: volume format 2 (versioned volume) is not yet supported by this s3nbd" for a
// version-2 descriptor: this s3nbd serves, changes and deletes version-1 volumes only.
Status RequireVersion1(const VolumeDescriptor& d, const std::string& where);

// ReadAnyDescriptor, then RequireVersion1: what every open and CLI command uses today.
Result<VolumeDescriptor> ReadDescriptor(S3Client& client, const VolumeOptions& options);

// Records compression and encryption choices in a fresh descriptor (a new data key).
Status ApplyCodecChoices(VolumeDescriptor* d, const CodecChoices& codec);

// Writes a new descriptor: looks first, then a create-only PUT, then reads it back (see
// CreateOnlyPut), so it fails with EEXIST if a volume is already there on any provider.
Result<VolumeDescriptor> CreateVolume(S3Client& client, const VolumeOptions& options,
                                      uint64_t size, uint32_t block_size, KeyLayout layout,
                                      const CodecChoices& codec = {});

}  // namespace s3nbd
