// libFuzzer target for the S3 XML parser (cache/s3/s3_xml.h): every entry point on arbitrary
// bytes. The parser promises to be safe on hostile input: never read out of bounds, never
// throw, return a Status on malformed input. Build and run: make check-fuzz-xml (or make check-fuzz, all targets).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto page = s3nbd::ParseListObjectsV2(xml);
  if (page.ok()) {
    // a page that parsed is usable: a truncated one has its token
    if (page->is_truncated && page->next_continuation_token.empty()) __builtin_trap();
    for (const auto& o : page->objects) (void)o.key.size();
  }
  auto err = s3nbd::ParseErrorDocument(xml);
  (void)err.code.size();
  auto del = s3nbd::ParseDeleteResult(xml);
  if (del.ok()) (void)del->size();
  auto un = s3nbd::XmlUnescape(xml);
  if (un.ok()) {
    // escaping then unescaping gives the text back
    auto round = s3nbd::XmlUnescape(s3nbd::XmlEscape(*un));
    if (!round.ok() || *round != *un) __builtin_trap();
  }
  for (std::string_view tag : {"Key", "Contents", "Error"}) (void)s3nbd::XmlElements(xml, tag).size();
  return 0;
}
