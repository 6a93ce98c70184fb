// libFuzzer target: the log segment readers on hostile objects, plain and encrypted (the
// identity and key of tests/unit/versioned/samples/). The header, front and whole-object
// readers must agree (a refusal is EIO or TORN, with the same message at every level), and an
// accepted segment's extents must open. A second mode builds a segment from the input, checks
// it round-trips, then that one flipped byte is refused and every truncation is TORN.
// Corpus: tests/fuzz/corpus/segment_decoder/ (mode byte + a sample). make check-fuzz.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cache/util/coding.h"
#include "cache/versioned/segment_format.h"

namespace {

using namespace s3nbd;

SegmentIdentity Id(bool encrypted) {
  static const auto key = [] {
    auto k = std::make_shared<DataKey>();
    for (size_t i = 0; i < k->bytes.size(); i++) k->bytes[i] = static_cast<uint8_t>(i * 7 + 1);
    return k;
  }();
  SegmentIdentity id;
  id.volume = "fuzz";
  for (int i = 0; i < 16; i++) id.uuid[i] = static_cast<uint8_t>(0x10 + i);
  id.block_size = 4096;
  id.block_count = 8193;
  if (encrypted) id.key = key;
  return id;
}

bool Refusal(const Status& s) { return s.err() == EIO || IsTornSegment(s); }

void DecodeHostile(const SegmentIdentity& id, std::string_view in) {
  uint64_t lsn = in.size() >= 16 ? GetLE<uint64_t>(in.data() + 8) : 0;
  auto h = DecodeSegmentHeader(id, lsn, in, in.size());
  auto f = DecodeSegmentFront(id, lsn, in, in.size());
  std::vector<std::string> ext;
  auto w = DecodeSegment(id, lsn, in, &ext);
  if (!h.ok() && (!Refusal(h.status()) || f.ok() || f.status().message() != h.status().message())) abort();
  if (!f.ok() && (!Refusal(f.status()) || w.ok() || w.status().message() != f.status().message())) abort();
  if (!w.ok() && !Refusal(w.status())) abort();
  if (w.ok() && (!f.ok() || f->records != w->records)) abort();
}

// Builds a segment from the input's bytes: each 4 bytes one record.
SegmentBuilder Build(const SegmentIdentity& id, std::string_view in) {
  SegmentHeader f;
  f.lsn = in.size();
  f.epoch = 3;
  f.prev = 42;
  SegmentBuilder b(id, f);
  auto byte = [&](size_t i) { return static_cast<uint8_t>(i < in.size() ? in[i] : 0); };
  if (byte(0) % 7 == 6) {  // an EPOCH segment
    EpochRecord e;
    e.epoch = 3;
    e.previous_epoch = byte(1) % 3;
    e.host = std::string(in.substr(0, std::min<size_t>(in.size(), 255)));
    b.Add(e);
    return b;
  }
  for (size_t i = 0; i + 4 <= in.size() && b.record_count() < 64; i += 4) {
    uint8_t op = byte(i) % 6, x = byte(i + 1), y = byte(i + 2), z = byte(i + 3);
    uint64_t block = (x * 37u + y) % 8193;
    uint32_t off = (y * 16u) % 4096, len = 1 + (z * 9u) % (4096 - off);
    switch (op) {
      case 0: b.AddWrite(block, off, std::string(len, static_cast<char>(x ^ z))); break;
      case 1: b.Add(ZeroRecord{block, off, len}); break;
      case 2: b.Add(BlockRecord{block, 3, x + 1u, y * 1000u + z}); break;
      case 3: b.Add(EraseRecord{block, 1 + z % (8193 - block)}); break;
      default:
        if (i == 0) b.Add(CheckpointRecord{std::string(in.substr(0, z))});
        else b.Add(ZeroRecord{block, 0, 512});
    }
  }
  return b;
}

void EncodeMutate(const SegmentIdentity& id, std::string_view in) {
  ObjectSalt salt{};
  for (size_t i = 0; i < salt.size(); i++) salt[i] = static_cast<uint8_t>(i * 3);
  SegmentBuilder b = Build(id, in);
  auto obj = b.SealWithSaltForTest(salt);
  if (!obj.ok()) abort();  // every record Build makes is valid
  std::vector<std::string> ext;
  auto d = DecodeSegment(id, in.size(), *obj, &ext);
  if (!d.ok() || d->records.size() != b.record_count()) abort();
  size_t plain = 0;
  for (const auto& e : ext) plain += e.size();
  if (plain != b.data_plain_bytes()) abort();
  size_t pos = in.empty() ? 0 : (static_cast<uint8_t>(in[0]) * 131u + in.size()) % obj->size();
  std::string bad = *obj;
  bad[pos] = static_cast<char>(bad[pos] ^ (1 << (in.size() % 8)));
  if (DecodeSegment(id, in.size(), bad).ok()) abort();
  if (!IsTornSegment(DecodeSegment(id, in.size(), obj->substr(0, pos)).status())) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  SegmentIdentity id = Id(data[0] & 1);
  if (data[0] & 2) EncodeMutate(id, in);
  else DecodeHostile(id, in);
  return 0;
}
