// VolumeDescriptor encoding and strict decoding; see volume_descriptor.h.
#include "cache/volume/volume_descriptor.h"

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <set>

namespace s3nbd {
namespace {

constexpr std::string_view kMagicLine = "s3nbd-volume 1";
constexpr std::string_view kMagicLineV2 = "s3nbd-volume 2";
constexpr std::string_view kMagic = "s3nbd-volume";
constexpr const char* kV2Fields[] = {"shard-blocks", "log-window", "object-keys", "upgraded-from", "upgraded"};

// Messages quote descriptor text: control characters are shown as '?' so that a hostile or
// damaged object cannot garble the terminal or the log.
std::string Printable(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

Status Bad(const std::string& why) { return Status::Error(EINVAL, "volume descriptor: " + Printable(why)); }

Result<uint64_t> ParseU64(std::string_view field, std::string_view v) {
  uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size())
    return Bad("field '" + std::string(field) + "': '" + std::string(v) + "' is not a number");
  return out;
}

bool ParseUuid(std::string_view s, std::array<uint8_t, 16>* out) {
  if (s.size() != 36) return false;
  size_t j = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      i++;
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = hex(s[i]), lo = hex(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[j++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return j == 16;
}

std::string Hex(std::string_view bytes) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

Result<std::string> ParseHex(std::string_view field, std::string_view v, size_t bytes) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (v.size() != 2 * bytes)
    return Bad("field '" + std::string(field) + "': expected " + std::to_string(2 * bytes) + " hex digits");
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; i++) {
    int hi = nibble(v[2 * i]), lo = nibble(v[2 * i + 1]);
    if (hi < 0 || lo < 0) return Bad("field '" + std::string(field) + "': not lowercase hex");
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

constexpr size_t kSaltBytes = 16, kWrappedBytes = 12 + 32 + 16, kCheckBytes = 16;
constexpr const char* kKeyFields[] = {"key-kdf", "key-kdf-n", "key-kdf-r", "key-kdf-p",
                                      "key-salt", "key-wrapped", "key-check"};

// One key-* field of an encrypted volume's descriptor.
Status ParseKeyField(std::string_view name, std::string_view value, KeyWrap* k) {
  if (name == "key-kdf") {
    if (value != "scrypt") return Bad("field 'key-kdf': '" + std::string(value) + "' is not supported (scrypt)");
    k->kdf = value;
    return Status::Ok();
  }
  if (name == "key-salt" || name == "key-wrapped" || name == "key-check") {
    size_t n = name == "key-salt" ? kSaltBytes : name == "key-wrapped" ? kWrappedBytes : kCheckBytes;
    auto bytes = ParseHex(name, value, n);
    if (!bytes.ok()) return bytes.status();
    (name == "key-salt" ? k->salt : name == "key-wrapped" ? k->wrapped : k->check) = *bytes;
    return Status::Ok();
  }
  auto v = ParseU64(name, value);
  if (!v.ok()) return v.status();
  if (name == "key-kdf-n") {
    if (*v < 2 || (*v & (*v - 1)) || *v > (uint64_t{1} << 22))
      return Bad("field 'key-kdf-n': " + std::string(value) + " is not a power of two from 2 to 2^22");
    k->params.n = *v;
  } else if (name == "key-kdf-r") {
    if (*v < 1 || *v > 32) return Bad("field 'key-kdf-r': " + std::string(value) + " is not from 1 to 32");
    k->params.r = static_cast<uint32_t>(*v);
  } else {
    if (*v < 1 || *v > 16) return Bad("field 'key-kdf-p': " + std::string(value) + " is not from 1 to 16");
    k->params.p = static_cast<uint32_t>(*v);
  }
  return Status::Ok();
}

bool IsV2Field(std::string_view name) {
  return std::find(std::begin(kV2Fields), std::end(kV2Fields), name) != std::end(kV2Fields);
}

// "YYYY-MM-DDTHH:MM:SSZ", the form create and upgrade write.
bool IsUtcTime(std::string_view v) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (v.size() != kShape.size()) return false;
  for (size_t i = 0; i < v.size(); i++)
    if (kShape[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != kShape[i]) return false;
  return true;
}

// One version-2 field (the caller has checked the descriptor is version 2).
Status ParseV2Field(std::string_view name, std::string_view value, VolumeDescriptor* d) {
  if (name == "object-keys") {
    if (value != kObjectKeysHkdf)
      return Bad("volume uses object-keys '" + std::string(value) + "', not supported by this s3nbd (hkdf-sha256)");
    d->object_keys = value;
    return Status::Ok();
  }
  if (name == "upgraded") {
    if (!IsUtcTime(value)) return Bad("field 'upgraded': '" + std::string(value) + "' is not a UTC time YYYY-MM-DDTHH:MM:SSZ");
    d->upgraded = value;
    return Status::Ok();
  }
  auto v = ParseU64(name, value);
  if (!v.ok()) return v.status();
  if (name == "shard-blocks") {
    if (*v < kMinShardBlocks || *v > kMaxShardBlocks || (*v & (*v - 1)))
      return Bad("field 'shard-blocks': " + std::string(value) + " is not a power of two from 4096 to 2^24");
    d->shard_blocks = static_cast<uint32_t>(*v);
  } else if (name == "log-window") {
    if (*v < 1 || *v > kMaxLogWindow) return Bad("field 'log-window': " + std::string(value) + " is not from 1 to 64");
    d->log_window = static_cast<uint32_t>(*v);
  } else {  // upgraded-from
    if (*v != 1) return Bad("field 'upgraded-from': " + std::string(value) + " is not 1");
    d->upgraded_from = 1;
  }
  return Status::Ok();
}

// The version-2 rules that involve more than one field.
Status CheckV2(const VolumeDescriptor& d, const std::set<std::string, std::less<>>& seen) {
  for (const char* required : {"shard-blocks", "log-window"})
    if (!seen.count(required)) return Bad("required field '" + std::string(required) + "' is missing");
  if (d.encrypted() && !seen.count("object-keys"))
    return Bad("encrypted volume: required field 'object-keys' is missing");
  if (!d.encrypted() && seen.count("object-keys"))
    return Bad("field 'object-keys' is given but the volume is not encrypted");
  if (seen.count("upgraded") && !seen.count("upgraded-from"))
    return Bad("field 'upgraded' is given without 'upgraded-from'");
  return Status::Ok();
}

}  // namespace

uint32_t DefaultShardBlocks(uint64_t blocks) {
  uint64_t per_shard = blocks / 4096 + (blocks % 4096 != 0);
  uint64_t p = 65536;
  while (p < per_shard && p < kMaxShardBlocks) p <<= 1;
  return static_cast<uint32_t>(std::min<uint64_t>(p, kMaxShardBlocks));
}

void MakeVersion2(VolumeDescriptor* d) {
  d->format = 2;
  d->shard_blocks = DefaultShardBlocks(d->block_count());
  d->log_window = kDefaultLogWindow;
  d->object_keys = d->encrypted() ? std::string(kObjectKeysHkdf) : std::string();
}

Status ParseCompression(std::string_view text, std::string* algorithm, int* level) {
  if (text == "none" || text == "zstd") {
    *algorithm = text;
    *level = 0;
    return Status::Ok();
  }
  if (text.substr(0, 5) == "zstd:") {
    std::string_view l = text.substr(5);
    int n = 0;
    auto [ptr, ec] = std::from_chars(l.data(), l.data() + l.size(), n);
    if (!l.empty() && ec == std::errc() && ptr == l.data() + l.size() && n >= 1 && n <= 19) {
      *algorithm = "zstd";
      *level = n;
      return Status::Ok();
    }
    return Status::Error(EINVAL, "compression '" + std::string(text) + "': the zstd level must be from 1 to 19");
  }
  return Status::Error(EINVAL, "compression '" + std::string(text) + "' is not supported (none, zstd or zstd:LEVEL)");
}

std::string CompressionName(const VolumeDescriptor& d) {
  if (d.compression == "zstd" && d.compression_level > 0) return "zstd:" + std::to_string(d.compression_level);
  return d.compression;
}

std::string VolumeDescriptor::UuidString() const {
  char buf[40];
  const uint8_t* u = uuid.data();
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                u[15]);
  return buf;
}

Status ValidateGeometry(uint64_t size, uint64_t block_size) {
  if (block_size < kMinBlockSize || block_size > kMaxBlockSize || (block_size & (block_size - 1)))
    return Status::Error(EINVAL, "block size " + std::to_string(block_size) +
                                     " is not a power of two from 4096 (4K) to 8388608 (8M)");
  if (size == 0 || size % 512 != 0)
    return Status::Error(EINVAL, "volume size " + std::to_string(size) +
                                     " is not a positive multiple of 512 bytes");
  // NBD sizes are signed 64-bit (nbdkit's get_size returns int64_t): 2^63 would turn negative.
  if (size > static_cast<uint64_t>(INT64_MAX))
    return Status::Error(EINVAL, "volume size " + std::to_string(size) + " is larger than 2^63 - 1 (" +
                                     std::to_string(INT64_MAX) + "), the largest size NBD can serve");
  return Status::Ok();
}

Result<VolumeDescriptor> NewDescriptor(uint64_t size, uint32_t block_size, KeyLayout layout) {
  if (Status s = ValidateGeometry(size, block_size); !s.ok()) return s;
  VolumeDescriptor d;
  if (RAND_bytes(d.uuid.data(), static_cast<int>(d.uuid.size())) != 1)
    return Status::Error(EIO, "create: cannot get random bytes for the volume UUID");
  d.uuid[6] = (d.uuid[6] & 0x0f) | 0x40;  // version 4
  d.uuid[8] = (d.uuid[8] & 0x3f) | 0x80;  // RFC 4122 variant
  d.size = size;
  d.block_size = block_size;
  d.key_layout = layout;
  char when[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  d.created = when;
  return d;
}

std::string EncodeDescriptor(const VolumeDescriptor& d) {
  std::string out(d.format == 2 ? kMagicLineV2 : kMagicLine);
  out += "\nuuid " + d.UuidString();
  out += "\nsize " + std::to_string(d.size);
  out += "\nblock-size " + std::to_string(d.block_size);
  out += std::string("\nkey-layout ") + KeyLayoutName(d.key_layout);
  out += "\ncompression " + CompressionName(d);
  out += "\nencryption " + d.encryption;
  if (d.encrypted()) {  // after 'encryption', so an older reader stops at "not supported"
    out += "\nkey-kdf " + d.key.kdf;
    out += "\nkey-kdf-n " + std::to_string(d.key.params.n);
    out += "\nkey-kdf-r " + std::to_string(d.key.params.r);
    out += "\nkey-kdf-p " + std::to_string(d.key.params.p);
    out += "\nkey-salt " + Hex(d.key.salt);
    out += "\nkey-wrapped " + Hex(d.key.wrapped);
    out += "\nkey-check " + Hex(d.key.check);
  }
  if (d.format == 2) {
    out += "\nshard-blocks " + std::to_string(d.shard_blocks);
    out += "\nlog-window " + std::to_string(d.log_window);
    if (!d.object_keys.empty()) out += "\nobject-keys " + d.object_keys;
    if (d.upgraded_from) out += "\nupgraded-from " + std::to_string(d.upgraded_from);
    if (!d.upgraded.empty()) out += "\nupgraded " + d.upgraded;
  }
  if (!d.created.empty()) out += "\ncreated " + d.created;
  out += "\n";
  return out;
}

Result<VolumeDescriptor> DecodeDescriptor(std::string_view text) {
  if (text.size() > kMaxDescriptorBytes) return Bad("larger than 64 KiB");
  size_t eol = text.find('\n');
  std::string_view first = text.substr(0, eol);
  if (first.substr(0, kMagic.size()) != kMagic) return Bad("not an s3nbd volume descriptor (bad magic)");
  if (first != kMagicLine && first != kMagicLineV2)
    return Bad("format '" + std::string(first) + "' is not supported by this s3nbd (knows versions 1 and 2)");

  VolumeDescriptor d;
  d.format = first == kMagicLineV2 ? 2 : 1;
  std::set<std::string, std::less<>> seen;
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  while (!rest.empty()) {
    eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return Bad("line '" + std::string(line) + "' has no value");
    std::string_view name = line.substr(0, sp), value = line.substr(sp + 1);
    if (!seen.insert(std::string(name)).second) return Bad("field '" + std::string(name) + "' appears twice");
    if (name == "uuid") {
      if (!ParseUuid(value, &d.uuid)) return Bad("field 'uuid': '" + std::string(value) + "' is not a UUID");
    } else if (name == "size") {
      auto v = ParseU64(name, value);
      if (!v.ok()) return v.status();
      d.size = *v;
    } else if (name == "block-size") {
      auto v = ParseU64(name, value);
      if (!v.ok()) return v.status();
      if (*v > kMaxBlockSize) return Bad("field 'block-size': " + std::string(value) + " is too large");
      d.block_size = static_cast<uint32_t>(*v);
    } else if (name == "key-layout") {
      auto v = ParseKeyLayout(value);
      if (!v.ok()) return Bad("field 'key-layout': " + v.status().message());
      d.key_layout = *v;
    } else if (name == "compression") {
      if (!ParseCompression(value, &d.compression, &d.compression_level).ok())
        return Bad("volume uses compression '" + std::string(value) + "', not supported by this s3nbd");
    } else if (name == "encryption") {
      if (value != "none" && value != "aes-256-gcm")
        return Bad("volume uses encryption '" + std::string(value) + "', not supported by this s3nbd");
      d.encryption = value;
    } else if (name.substr(0, 4) == "key-" &&
               std::find(std::begin(kKeyFields), std::end(kKeyFields), name) != std::end(kKeyFields)) {
      if (Status s = ParseKeyField(name, value, &d.key); !s.ok()) return s;
    } else if (name == "created") {
      d.created = value;
    } else if (d.format == 2 && IsV2Field(name)) {
      if (Status s = ParseV2Field(name, value, &d); !s.ok()) return s;
    } else {
      return Bad("unknown field '" + std::string(name) + "'");
    }
  }
  for (const char* required : {"uuid", "size", "block-size", "key-layout", "compression", "encryption"})
    if (!seen.count(required)) return Bad("required field '" + std::string(required) + "' is missing");
  for (const char* f : kKeyFields) {
    if (d.encrypted() && !seen.count(f))
      return Bad("encrypted volume: required field '" + std::string(f) + "' is missing");
    if (!d.encrypted() && seen.count(f))
      return Bad("field '" + std::string(f) + "' is given but the volume is not encrypted");
  }
  if (d.encrypted() && 128 * uint64_t{d.key.params.r} * d.key.params.n > (uint64_t{1} << 30))
    return Bad("scrypt parameters need more than 1 GiB of memory (key-kdf-n * key-kdf-r too large)");
  if (d.format == 2)
    if (Status s = CheckV2(d, seen); !s.ok()) return s;
  if (Status s = ValidateGeometry(d.size, d.block_size); !s.ok()) return s.Wrap("volume descriptor");
  return d;
}

}  // namespace s3nbd
