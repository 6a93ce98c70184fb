// fsck classification; see fsck_check.h.
#include "daemon/fsck_check.h"

#include <algorithm>

namespace s3nbd::cli {

KeyClass ClassifyKey(const BlockKeys& keys, std::string_view key, uint64_t block_count) {
  KeyClass c;
  if (key == keys.DescriptorKey()) {
    c.kind = KeyKind::kDescriptor;
  } else if (key == keys.LeaseKey() || key == keys.WriterKey()) {
    c.kind = KeyKind::kLease;
  } else if (auto b = keys.ParseBlockKey(key)) {
    c.block = *b;
    c.kind = *b < block_count ? KeyKind::kBlock : KeyKind::kOutOfRange;
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
    case KeyKind::kOrphan:
      return "orphan";
  }
  return "?";
}

}  // namespace s3nbd::cli
