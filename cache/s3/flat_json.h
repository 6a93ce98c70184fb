// FlatJson: the top-level members of one JSON object, as text, for the small documents that
// credential sources return (credential_process output, EC2 metadata, ECS container
// credentials). Nested objects and arrays are validated and skipped. Pure; no locking.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "cache/util/status.h"

namespace s3nbd {

// Member name -> value: strings unescaped (\uXXXX to UTF-8), numbers as written,
// true/false/null as those words. Malformed JSON or a non-object document is EPROTO.
Result<std::map<std::string, std::string>> ParseFlatJson(std::string_view text);

}  // namespace s3nbd
