// SlotIndex; see slot_index.h for its invariants. LOCK RULE: every call runs under the owner's
// mutex; SlotPins alone is touched without it.
#include "cache/local/slot_index.h"

#include <algorithm>
#include <string>

namespace s3nbd {

void SlotIndex::Format(uint64_t slot_count, uint64_t record_count) {
  Load(slot_count, std::vector<CacheRecord>(record_count));
  quarantine_.clear();
  RebuildFreeLists();
}

void SlotIndex::Load(uint64_t slot_count, std::vector<CacheRecord> records) {
  slot_count_ = slot_count;
  records_ = std::move(records);
  slots_.assign(records_.size(), SlotState{});
  pins_->Reset(records_.size());
  free_slots_.clear();
  quarantine_.clear();
  free_tombs_.clear();
  clock_hand_ = 0;
}

// Highest first, so that allocation (from the back) takes the lowest record first.
void SlotIndex::RebuildFreeLists() {
  free_slots_.clear();
  free_tombs_.clear();
  for (uint64_t i = slot_count_; i-- > 0;)
    if (records_[i].kind == RecordKind::kFree) free_slots_.push_back(i);
  for (uint64_t i = records_.size(); i-- > slot_count_;)
    if (records_[i].kind == RecordKind::kFree) free_tombs_.push_back(i);
}

SlotIndex::RecoveryPlan SlotIndex::PlanRecovery(uint64_t uploaded_below) const {
  RecoveryPlan plan;
  for (uint64_t i = 0; i < records_.size(); i++) {
    const CacheRecord& r = records_[i];
    if (r.kind == RecordKind::kFree) continue;
    plan.max_seq = std::max(plan.max_seq, r.seq);
    plan.max_epoch = std::max(plan.max_epoch, r.epoch);
    // Already in the store (watermark): its CLEAN/FREE rewrite may not have reached the disk,
    // and uploading it again could go back over newer data.
    if (r.kind != RecordKind::kClean && r.seq < uploaded_below) {
      plan.drop.push_back(i);
      plan.uploaded++;
      continue;
    }
    plan.blocks[r.block].push_back(i);
  }
  for (auto& [block, recs] : plan.blocks) {
    std::sort(recs.begin(), recs.end(),
              [&](uint64_t a, uint64_t b) { return records_[a].seq < records_[b].seq; });
    size_t keep_from = 0;  // records after the newest CLEAN one are pending versions
    for (size_t k = 0; k < recs.size(); k++)
      if (records_[recs[k]].kind == RecordKind::kClean) keep_from = k;
    plan.drop.insert(plan.drop.end(), recs.begin(), recs.begin() + static_cast<long>(keep_from));
    recs.erase(recs.begin(), recs.begin() + static_cast<long>(keep_from));
  }
  return plan;
}

std::optional<uint64_t> SlotIndex::Take(std::vector<uint64_t>* list) {
  if (list->empty()) return std::nullopt;
  const uint64_t rec = list->back();
  list->pop_back();
  slots_[rec] = SlotState{.retire_gen = slots_[rec].retire_gen};
  pins_->SetRetired(rec, false);
  return rec;
}

std::optional<uint64_t> SlotIndex::TakeFreeSlot() { return Take(&free_slots_); }
std::optional<uint64_t> SlotIndex::TakeFreeTomb() { return Take(&free_tombs_); }

void SlotIndex::Free(uint64_t rec) {
  records_[rec] = CacheRecord{};
  (IsTomb(rec) ? free_tombs_ : free_slots_).push_back(rec);
}

std::vector<uint64_t> SlotIndex::TakeQuarantine() {
  std::vector<uint64_t> take;
  take.swap(quarantine_);
  return take;
}

void SlotIndex::QuarantineSynced(const std::vector<uint64_t>& slots) {
  free_slots_.insert(free_slots_.end(), slots.begin(), slots.end());
}

void SlotIndex::QuarantineFailed(const std::vector<uint64_t>& slots) {
  quarantine_.insert(quarantine_.end(), slots.begin(), slots.end());
}

void SlotIndex::Retire(uint64_t rec, std::vector<uint64_t>* to_write) {
  records_[rec] = CacheRecord{};
  SlotState& st = slots_[rec];
  st.free_written = false;
  st.retire_gen++;
  SetRetired(rec, true);  // after this, an unpinner dropping the last pin releases it too
  to_write->push_back(rec);
}

bool SlotIndex::FreeWritten(uint64_t rec, uint32_t gen) {
  if (!slots_[rec].retired || slots_[rec].retire_gen != gen) return false;  // retired again
  slots_[rec].free_written = true;
  return Release(rec);
}

bool SlotIndex::Release(uint64_t rec) {
  SlotState& st = slots_[rec];
  if (!st.retired || !st.free_written || pins_->pins(rec) != 0) return false;
  SetRetired(rec, false);
  st.free_written = false;
  (IsTomb(rec) ? free_tombs_ : quarantine_).push_back(rec);
  return true;
}

// CLOCK over the data slots, a batch of at most 32 (and an eighth of the cache) per call.
size_t SlotIndex::Evict(const std::function<bool(uint64_t slot, uint64_t block)>& take,
                        std::vector<uint64_t>* victims) {
  const uint64_t n = slot_count_;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(32, n / 8 + 1));
  size_t found = 0;
  for (uint64_t step = 0; step < 2 * n && found < want; step++) {
    const uint64_t s = clock_hand_;
    clock_hand_ = (clock_hand_ + 1) % n;
    const CacheRecord& r = records_[s];
    if (r.kind != RecordKind::kClean || pins_->pins(s) != 0 || slots_[s].retired) continue;
    if (slots_[s].ref) {
      slots_[s].ref = false;
      continue;
    }
    if (!take(s, r.block)) continue;
    Retire(s, victims);
    found++;
  }
  return found;
}

Status SlotIndex::CheckInvariants(std::vector<int> owners, bool quiescent) const {
  auto fail = [](const std::string& m) { return Status::Error(EINVAL, "invariant: " + m); };
  auto name = [](uint64_t r) { return std::to_string(r); };
  if (owners.size() != records_.size() || slots_.size() != records_.size())
    return fail("index of " + name(records_.size()) + " records, state for " +
                name(slots_.size()) + ", owners for " + name(owners.size()));
  for (const auto* list : {&free_slots_, &quarantine_, &free_tombs_})
    for (uint64_t r : *list) {
      if (r >= records_.size()) return fail("free list holds record " + name(r) + " out of range");
      owners[r]++;
      if (records_[r].kind != RecordKind::kFree)
        return fail("record " + name(r) + " is free but not FREE");
    }
  for (uint64_t r : quarantine_)
    if (IsTomb(r)) return fail("tombstone " + name(r) + " in the slot quarantine");
  for (uint64_t r : free_slots_)
    if (IsTomb(r)) return fail("tombstone " + name(r) + " in the free slots");
  for (uint64_t r : free_tombs_)
    if (!IsTomb(r)) return fail("slot " + name(r) + " in the free tombstones");
  for (uint64_t i = 0; i < records_.size(); i++) {
    const CacheRecord& r = records_[i];
    if (r.flags != 0 && r.kind != RecordKind::kDirty)
      return fail("record " + name(i) + " has flags but is not DIRTY");
    if (r.kind != RecordKind::kFree && IsTomb(i) != (r.kind == RecordKind::kErase))
      return fail("record " + name(i) + ": kind does not fit its place");
    if (slots_[i].retired) owners[i]++;
    if (owners[i] != 1) return fail("record " + name(i) + " has " + name(owners[i]) + " owners");
    if (quiescent && pins_->pins(i) != 0) return fail("record " + name(i) + " still pinned");
    if (slots_[i].retired && r.kind != RecordKind::kFree)
      return fail("retired record " + name(i) + " is not FREE");
    // Its FREE record was written and its pins are gone: whoever came last should have
    // released it (a lost release leaks the slot).
    if (quiescent && slots_[i].retired && slots_[i].free_written)
      return fail("retired record " + name(i) + " was never released");
    if (slots_[i].retired != pins_->retired(i))
      return fail("record " + name(i) + ": retired bit of the pins differs");
  }
  return Status::Ok();
}

}  // namespace s3nbd
