// zstd frames with per-thread contexts; see zstd_frame.h.
#include "cache/codec/zstd_frame.h"

#include <zstd.h>

#include <memory>

namespace s3nbd {

namespace {
struct CctxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> t_cctx;
thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> t_dctx;
}  // namespace

size_t ZstdBound(size_t n) { return ZSTD_compressBound(n); }

size_t ZstdCompressInto(std::string_view plaintext, char* dst, size_t capacity, int level) {
  if (!t_cctx) t_cctx.reset(ZSTD_createCCtx());
  if (!t_cctx) return 0;
  size_t n = ZSTD_compressCCtx(t_cctx.get(), dst, capacity, plaintext.data(), plaintext.size(),
                               level > 0 ? level : ZSTD_CLEVEL_DEFAULT);
  return ZSTD_isError(n) || n >= plaintext.size() ? 0 : n;
}

bool ZstdDecompressInto(std::string_view frame, std::span<char> out) {
  if (!t_dctx) t_dctx.reset(ZSTD_createDCtx());
  if (!t_dctx) return false;
  size_t n = ZSTD_decompressDCtx(t_dctx.get(), out.data(), out.size(), frame.data(), frame.size());
  return !ZSTD_isError(n) && n == out.size();
}

}  // namespace s3nbd
