// BlockKeys; see block_key.h and docs/format.md.
#include "cache/s3/block_key.h"

#include <xxhash.h>

#include <cstdio>

namespace s3nbd {
namespace {

constexpr size_t kBlockHexDigits = 16;

uint16_t HashDigits(uint64_t block) {
  unsigned char le[8];
  for (int i = 0; i < 8; i++) le[i] = static_cast<unsigned char>(block >> (8 * i));
  return static_cast<uint16_t>(XXH3_64bits(le, sizeof le) >> 48);
}

std::optional<uint64_t> ParseHex(std::string_view s) {
  if (s.size() != kBlockHexDigits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

Result<KeyLayout> ParseKeyLayout(std::string_view name) {
  if (name == "flat") return KeyLayout::kFlat;
  if (name == "hashed") return KeyLayout::kHashed;
  return Status::Error(EINVAL, "key layout '" + std::string(name) + "' is not 'flat' or 'hashed'");
}

const char* KeyLayoutName(KeyLayout layout) { return layout == KeyLayout::kFlat ? "flat" : "hashed"; }

Result<std::string> NormalizePrefix(std::string_view prefix) {
  if (!prefix.empty() && prefix.front() == '/')
    return Status::Error(EINVAL, "prefix '" + std::string(prefix) + "' must not start with '/'");
  if (prefix.size() > 512) return Status::Error(EINVAL, "prefix is longer than 512 bytes");
  std::string p(prefix);
  if (!p.empty() && p.back() != '/') p += '/';
  return p;
}

std::string BlockKeys::BlockKey(uint64_t block) const {
  char buf[64];
  if (layout_ == KeyLayout::kFlat) {
    std::snprintf(buf, sizeof buf, "b/%016llx", static_cast<unsigned long long>(block));
  } else {
    std::snprintf(buf, sizeof buf, "h/%04x/%016llx", HashDigits(block),
                  static_cast<unsigned long long>(block));
  }
  return prefix_ + buf;
}

std::string BlockKeys::BlockListPrefix() const {
  return prefix_ + (layout_ == KeyLayout::kFlat ? "b/" : "h/");
}

std::optional<uint64_t> BlockKeys::ParseBlockKey(std::string_view key) const {
  std::string list_prefix = BlockListPrefix();
  if (key.substr(0, list_prefix.size()) != list_prefix) return std::nullopt;
  key.remove_prefix(list_prefix.size());
  if (layout_ == KeyLayout::kFlat) return ParseHex(key);
  // hashed: "hhhh/<16 hex>"
  if (key.size() != 5 + kBlockHexDigits || key[4] != '/') return std::nullopt;
  auto block = ParseHex(key.substr(5));
  if (!block) return std::nullopt;
  char want[8];
  std::snprintf(want, sizeof want, "%04x", HashDigits(*block));
  if (key.substr(0, 4) != std::string_view(want, 4)) return std::nullopt;
  return block;
}

}  // namespace s3nbd
