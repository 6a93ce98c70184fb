// fsck classification; see fsck_check.h.
#include "daemon/fsck_check.h"

#include <algorithm>

namespace s3nbd::cli {

namespace {
constexpr std::string_view kDescriptorName = "volume.s3nbd";
}  // namespace

std::vector<std::string> OtherVolumePrefixes(const BlockKeys& keys, const std::vector<std::string>& listed) {
  std::vector<std::string> out;
  for (const std::string& key : listed) {
    if (key == keys.DescriptorKey() || key.size() < kDescriptorName.size()) continue;
    if (key.compare(key.size() - kDescriptorName.size(), kDescriptorName.size(), kDescriptorName) != 0) continue;
    std::string prefix = key.substr(0, key.size() - kDescriptorName.size());
    if (!prefix.empty() && prefix.back() != '/') continue;  // "xvolume.s3nbd": not a descriptor name
    out.push_back(std::move(prefix));
  }
  return out;
}

KeyClass ClassifyKey(const BlockKeys& keys, std::string_view key, uint64_t block_count,
                     const std::vector<std::string>& others) {
  KeyClass c;
  if (key == keys.DescriptorKey()) {
    c.kind = KeyKind::kDescriptor;
  } else if (key == keys.LeaseKey() || key == keys.WriterKey()) {
    c.kind = KeyKind::kLease;
  } else if (auto b = keys.ParseBlockKey(key)) {
    c.block = *b;
    c.kind = *b < block_count ? KeyKind::kBlock : KeyKind::kOutOfRange;
  } else if (std::any_of(others.begin(), others.end(), [&](const std::string& p) { return key.starts_with(p); })) {
    c.kind = KeyKind::kOtherVolume;
  }
  return c;
}

ObjectCheck CheckBlockObject(const CodecIdentity& id, uint64_t block, std::string_view object) {
  ObjectCheck c;
  std::string plain;
  Status s = DecodeBlock(id, block, object, &plain);
  if (!s.ok()) {
    c.state = ObjectState::kCorrupt;
    c.cause = s.message();
  } else if (std::all_of(plain.begin(), plain.end(), [](char ch) { return ch == 0; })) {
    c.state = ObjectState::kAllZero;
  }
  return c;
}

const char* KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kDescriptor:
      return "descriptor";
    case KeyKind::kLease:
      return "lease";
    case KeyKind::kBlock:
      return "block";
    case KeyKind::kOutOfRange:
      return "out-of-range";
    case KeyKind::kOtherVolume:
      return "other-volume";
    case KeyKind::kOrphan:
      return "orphan";
  }
  return "?";
}

}  // namespace s3nbd::cli
