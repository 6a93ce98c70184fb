#include "cache/volume/volume_config.h"

#include <gtest/gtest.h>

namespace s3nbd {
namespace {

TEST(VolumeConfigTest, ParseSize) {
  EXPECT_EQ(*ParseSize("s", "4096"), 4096u);
  EXPECT_EQ(*ParseSize("s", "64K"), 65536u);
  EXPECT_EQ(*ParseSize("s", "1M"), 1u << 20);
  EXPECT_EQ(*ParseSize("s", "10G"), 10ull << 30);
  EXPECT_EQ(*ParseSize("s", "2TiB"), 2ull << 40);
  EXPECT_EQ(*ParseSize("s", "512b"), 512u);
  for (const char* bad : {"", "-1", "G", "1X", "1.5G", "99999999999999999999", "20000000E", "1GG"})
    EXPECT_FALSE(ParseSize("size", bad).ok()) << bad;
  EXPECT_NE(ParseSize("size", "-1").status().message().find("size: '-1'"), std::string::npos);
}

TEST(VolumeConfigTest, ParseBool) {
  EXPECT_TRUE(*ParseBool("b", "true"));
  EXPECT_TRUE(*ParseBool("b", "1"));
  EXPECT_FALSE(*ParseBool("b", "off"));
  EXPECT_FALSE(ParseBool("b", "maybe").ok());
}

TEST(VolumeConfigTest, AppliesOptions) {
  VolumeOptions o;
  ASSERT_TRUE(SetVolumeOption(&o, "endpoint", "http://127.0.0.1:9180/").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "bucket", "b").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "prefix", "v1").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "block-size", "1M").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "connections", "8").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "addressing", "virtual").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "readonly", "yes").ok());
  EXPECT_EQ(o.s3.endpoint, "http://127.0.0.1:9180");
  EXPECT_EQ(o.expect_block_size, 1u << 20);
  EXPECT_EQ(o.s3.max_connections, 8);
  EXPECT_TRUE(o.s3.virtual_host);
  EXPECT_TRUE(o.readonly);
  EXPECT_TRUE(CheckVolumeOptions(o).ok());
  EXPECT_EQ(VolumeName(o), "b/v1");
}

TEST(VolumeConfigTest, RefusesBadOptions) {
  VolumeOptions o;
  struct Case { const char* key; const char* value; const char* expect; };
  const Case cases[] = {
      {"endpoint", "ftp://x", "http://"},     {"bucket", "", "empty"},
      {"connections", "0", "from 1"},         {"connections", "-3", "from 1"},
      {"retry-time", "abc", "whole number"},  {"size", "-10G", "not a size"},
      {"addressing", "dns", "path"},          {"readonly", "perhaps", "boolean"},
      {"size", "0", "must not be 0"},        {"block-size", "0", "must not be 0"},
      {"request-timeout", "0", "from 1"},     {"request-timeout", "2h", "whole number"},
      {"colour", "blue", "unknown parameter 'colour'"},
  };
  for (const Case& c : cases) {
    Status s = SetVolumeOption(&o, c.key, c.value);
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(VolumeConfigTest, DataSafetyOptions) {
  VolumeOptions o;
  EXPECT_EQ(o.lease_seconds, 60);
  EXPECT_FALSE(o.force_takeover);
  ASSERT_TRUE(SetVolumeOption(&o, "passphrase-file", "/etc/s3nbd/pass").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "compress", "zstd:7").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "lease-time", "5").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "force-takeover", "true").ok());
  EXPECT_EQ(o.passphrase_file, "/etc/s3nbd/pass");
  EXPECT_EQ(o.compress, "zstd:7");
  EXPECT_EQ(o.lease_seconds, 5);
  EXPECT_TRUE(o.force_takeover);
  EXPECT_FALSE(o.unsafe_single_host);
  ASSERT_TRUE(SetVolumeOption(&o, "unsafe-single-host", "true").ok());
  EXPECT_TRUE(o.unsafe_single_host);
  struct Case { const char* key; const char* value; const char* expect; };
  const Case cases[] = {
      {"compress", "lz4", "not supported"},     {"compress", "zstd:0", "from 1 to 19"},
      {"compress", "zstd:20", "from 1 to 19"},  {"lease-time", "2", "from 3"},
      {"lease-time", "1h", "whole number"},     {"force-takeover", "maybe", "boolean"},
      {"passphrase-file", "", "empty"},        {"unsafe-single-host", "maybe", "boolean"},
  };
  for (const Case& c : cases) {
    Status s = SetVolumeOption(&o, c.key, c.value);
    ASSERT_FALSE(s.ok()) << c.key << "=" << c.value;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(VolumeConfigTest, ChecksRequiredAndCombinations) {
  VolumeOptions o;
  EXPECT_NE(CheckVolumeOptions(o).message().find("endpoint"), std::string::npos);
  ASSERT_TRUE(SetVolumeOption(&o, "endpoint", "http://127.0.0.1:1").ok());
  EXPECT_NE(CheckVolumeOptions(o).message().find("bucket"), std::string::npos);
  ASSERT_TRUE(SetVolumeOption(&o, "bucket", "b").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "block-size", "3000").ok());
  EXPECT_NE(CheckVolumeOptions(o).message().find("power of two"), std::string::npos);
  ASSERT_TRUE(SetVolumeOption(&o, "block-size", "64K").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "prefix", "/abs").ok());
  EXPECT_FALSE(CheckVolumeOptions(o).ok());
}

}  // namespace
}  // namespace s3nbd

namespace s3nbd {
namespace {

TEST(VolumeConfigTest, ParseDuration) {
  EXPECT_EQ(*ParseDuration("d", "500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseDuration("d", "2"), std::chrono::milliseconds(2000));
  EXPECT_EQ(*ParseDuration("d", "2s"), std::chrono::milliseconds(2000));
  EXPECT_EQ(*ParseDuration("d", "1m"), std::chrono::milliseconds(60000));
  for (const char* bad : {"", "-1", "1h", "1.5s", "s", "99999999999999999999"})
    EXPECT_FALSE(ParseDuration("d", bad).ok()) << bad;
}

TEST(VolumeConfigTest, CacheOptions) {
  VolumeOptions o;
  ASSERT_TRUE(SetVolumeOption(&o, "endpoint", "http://127.0.0.1:1").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "bucket", "b").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "flush", "local").ok());
  EXPECT_NE(CheckVolumeOptions(o).message().find("need cache=PATH"), std::string::npos);
  ASSERT_TRUE(SetVolumeOption(&o, "cache", "/var/cache/s3nbd/v.cache").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "cache-size", "1G").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "writeback-delay", "250ms").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "writeback-threads", "24").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "readahead", "0").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "prefetch-threads", "8").ok());
  ASSERT_TRUE(SetVolumeOption(&o, "cache-direct", "true").ok());
  EXPECT_TRUE(CheckVolumeOptions(o).ok());
  EXPECT_EQ(o.cache.flush_policy, FlushPolicy::kLocal);
  EXPECT_EQ(o.cache.size, 1ull << 30);
  EXPECT_EQ(o.cache.writeback_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(o.cache.writeback_threads, 24);
  EXPECT_EQ(o.readahead_blocks, 0u);
  EXPECT_EQ(o.cache.prefetch_threads, 8);
  EXPECT_TRUE(o.cache.direct_io);
  ASSERT_TRUE(SetVolumeOption(&o, "max-dirty", "2G").ok());
  EXPECT_NE(CheckVolumeOptions(o).message().find("larger than cache-size"), std::string::npos);
  EXPECT_FALSE(SetVolumeOption(&o, "flush", "sometimes").ok());
  EXPECT_FALSE(SetVolumeOption(&o, "writeback-threads", "0").ok());
  EXPECT_FALSE(SetVolumeOption(&o, "prefetch-threads", "0").ok());
  EXPECT_FALSE(SetVolumeOption(&o, "cache", "").ok());
}

}  // namespace
}  // namespace s3nbd

namespace s3nbd {
namespace {

TEST(VolumeConfigTest, DefaultCacheSize) {
  EXPECT_EQ(DefaultCacheSize(64ull << 20), 64ull << 20);   // small volume: all of it
  EXPECT_EQ(DefaultCacheSize(2ull << 30), 1ull << 30);     // the 1 GiB floor
  EXPECT_EQ(DefaultCacheSize(64ull << 30), 8ull << 30);    // 1/8
  EXPECT_EQ(DefaultCacheSize(1ull << 40), 16ull << 30);    // the 16 GiB cap
}

}  // namespace
}  // namespace s3nbd
