// A tiny XML extractor for the few S3 response bodies s3nbd reads (ListObjectsV2, multi-delete
// results, <Error> documents, versioning state). Pure functions from text to structs, safe on hostile input:
// never reads out of bounds, returns a Status on malformed input. No state, no locking.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cache/util/status.h"

namespace s3nbd {

struct S3XmlObject {
  std::string key;
  uint64_t size = 0;
  std::string etag;
};

struct S3ListPage {
  std::vector<S3XmlObject> objects;
  bool is_truncated = false;
  std::string next_continuation_token;
};

struct S3XmlError {
  std::string key;  // only in multi-delete results
  std::string code;
  std::string message;
};

// Decodes &amp; &lt; &gt; &quot; &apos; and &#N; / &#xH; (to UTF-8). Malformed or
// out-of-range entities are an error.
Result<std::string> XmlUnescape(std::string_view text);
// Escapes & < > " ' for element text.
std::string XmlEscape(std::string_view text);

// Inner text of each <tag>...</tag> element (non-nested) in order; <tag/> gives "".
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);

// ListObjectsV2 result. A truncated page without a NextContinuationToken is an error.
Result<S3ListPage> ParseListObjectsV2(std::string_view xml);
// A top-level <Error> document; code/message empty if the body is not one.
S3XmlError ParseErrorDocument(std::string_view xml);
// The <Error> entries of a DeleteResult (Quiet mode lists only failures).
Result<std::vector<S3XmlError>> ParseDeleteResult(std::string_view xml);
// The <Status> of a VersioningConfiguration: "Enabled", "Suspended", or "" when absent (a
// bucket never versioned). A body that is not a VersioningConfiguration is EPROTO.
Result<std::string> ParseVersioningStatus(std::string_view xml);

}  // namespace s3nbd
