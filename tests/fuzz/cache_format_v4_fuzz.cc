// libFuzzer target: the cache format 4 decoders (header, record, map unit, sector bitmap, the
// recovery check of a slot's map) on hostile bytes. The first byte picks the decoder; what
// decodes must re-encode to bytes that decode to the same encoding (a fixed point), and a
// slot map that verifies must keep only sectors whose checksums match.
// Build and run: make check-fuzz (FUZZ_RUNS=... for longer runs).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cache/local/cache_format_v4.h"
#include "cache/util/coding.h"

namespace {

using namespace s3nbd;

void Header(std::span<const uint8_t> in) {
  std::array<uint8_t, kCacheHeaderSize> buf{};
  std::memcpy(buf.data(), in.data(), std::min(in.size(), buf.size()));
  CacheHeaderV4 h;
  auto st = DecodeHeaderV4(buf, &h);
  if (!st.ok() || *st == HeaderState::kEmpty || h.version != kCacheFormatVersion4) return;
  std::array<uint8_t, kCacheHeaderSize> once{}, twice{};
  EncodeHeaderV4(h, once);
  CacheHeaderV4 again;
  if (!DecodeHeaderV4(once, &again).ok()) abort();
  EncodeHeaderV4(again, twice);
  if (once != twice) abort();
}

void Record(std::span<const uint8_t> in, bool has_map) {
  std::array<uint8_t, kCacheRecordSize> buf{};
  std::memcpy(buf.data(), in.data(), std::min(in.size(), buf.size()));
  CacheRecord r;
  if (!DecodeRecordV4(buf, has_map, &r).ok()) return;
  std::array<uint8_t, kCacheRecordSize> once{};
  EncodeRecord(r, once);
  CacheRecord again;
  if (!DecodeRecordV4(once, has_map, &again).ok() || again.flags != r.flags || again.seq != r.seq ||
      again.hash != r.hash)
    abort();
}

void Unit(std::span<const uint8_t> in, uint16_t count) {
  std::array<uint8_t, kMapUnitSize> buf{};
  std::memcpy(buf.data(), in.data(), std::min(in.size(), buf.size()));
  MapUnit u;
  auto st = DecodeMapUnit(buf, 0, 0, count, &u);
  if (!st.ok() || *st == UnitState::kEmpty) return;
  if ((u.dirty & ~u.valid) != 0) abort();
  std::array<uint8_t, kMapUnitSize> once{};
  EncodeMapUnit(u, once);
  MapUnit again;
  if (!DecodeMapUnit(once, 0, 0, count, &again).ok() || again.valid != u.valid ||
      again.sums != u.sums)
    abort();
}

void Bitmap(std::span<const uint8_t> in) {
  if (in.size() < 2) return;
  const uint32_t sectors = (uint32_t{in[0]} << 8 | in[1]) % 4097;
  auto set = SectorSet::Deserialize(in.subspan(2), sectors);
  if (!set.ok()) return;
  std::vector<uint8_t> out(set->SerializedSize());
  set->Serialize(out);
  auto again = SectorSet::Deserialize(out, sectors);
  if (!again.ok() || !(*again == *set)) abort();
  uint32_t n = 0;
  set->ForEachRun([&](uint32_t first, uint32_t count) {
    if (count == 0 || first + count > sectors || !set->AllSet(first, count)) abort();
    n += count;
  });
  if (n != set->Count()) abort();
}

// A 32 KiB block (one unit): bytes 0..511 are the map, the rest the slot's data.
void Slot(std::span<const uint8_t> in) {
  CacheHeaderV4 h = MakeCacheHeaderV4({}, kMinMapBlockSize, 1 << 30, 64 << 20);
  std::vector<uint8_t> map(h.map_stride, 0);
  std::memcpy(map.data(), in.data(), std::min<size_t>(in.size(), map.size()));
  std::string data(kMinMapBlockSize, 0);
  if (in.size() > map.size())
    std::memcpy(data.data(), in.data() + map.size(), std::min(in.size() - map.size(), data.size()));
  const CacheRecord r{RecordKind::kDirty, 0, GetLE<uint64_t>(map.data() + 16), 0, 0, kRecordMapped};
  auto got = VerifySlotMap(h, 0, r, map, data, in.empty() ? 0 : in[0]);
  if (!got.ok()) return;
  if (!got->map.dirty.IsSubsetOf(got->map.valid)) abort();
  got->map.valid.ForEachRun([&](uint32_t first, uint32_t count) {
    for (uint32_t s = first; s < first + count; s++)
      if (SectorSum(0, s, 64, data.data() + s * kSectorSize) != got->map.sums[s]) abort();
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> in(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      Header(in);
      break;
    case 1:
      Record(in, true);
      break;
    case 2:
      Record(in, false);
      break;
    case 3:  // a short last unit now and then
      Unit(in, static_cast<uint16_t>(data[0] >= 128 ? 1 + data[0] % 63 : 64));
      break;
    case 4:
      Bitmap(in);
      break;
    default:
      Slot(in);
      break;
  }
  return 0;
}
