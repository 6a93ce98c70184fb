// Hand-written XML extraction for S3 responses. Every index is checked against the
// input size; string_view::find is the only scanning primitive. No state, no locking.
#include "cache/s3/s3_xml.h"

namespace s3nbd {
namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Parses the numeric entity body ("#65" or "#x41") into a code point; false if malformed.
bool ParseCharRef(std::string_view body, uint32_t* cp) {
  if (body.size() < 2 || body[0] != '#') return false;
  int base = 10;
  size_t i = 1;
  if (body[1] == 'x' || body[1] == 'X') {
    base = 16;
    i = 2;
  }
  if (i >= body.size()) return false;
  uint32_t v = 0;
  for (; i < body.size(); ++i) {
    char c = body[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v * base + d;
    if (v > 0x10FFFF) return false;
  }
  if (v == 0 || (v >= 0xD800 && v <= 0xDFFF)) return false;
  *cp = v;
  return true;
}

Result<uint64_t> ParseU64(std::string_view s) {
  if (s.empty() || s.size() > 20) return Status::Error(EPROTO, "bad number '" + std::string(s) + "'");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Status::Error(EPROTO, "bad number '" + std::string(s) + "'");
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return Status::Error(EPROTO, "number out of range '" + std::string(s) + "'");
    v = next;
  }
  return v;
}

// First element's unescaped text, or "" if absent.
Result<std::string> FirstText(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> found = XmlElements(xml, tag);
  if (found.empty()) return std::string();
  return XmlUnescape(found.front());
}

}  // namespace

Result<std::string> XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t amp = text.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, amp - i));
    size_t semi = text.find(';', amp);
    if (semi == std::string_view::npos || semi - amp > 12) {
      return Status::Error(EPROTO, "malformed XML entity");
    }
    std::string_view name = text.substr(amp + 1, semi - amp - 1);
    uint32_t cp = 0;
    if (name == "amp") out += '&';
    else if (name == "lt") out += '<';
    else if (name == "gt") out += '>';
    else if (name == "quot") out += '"';
    else if (name == "apos") out += '\'';
    else if (ParseCharRef(name, &cp)) AppendUtf8(cp, &out);
    else return Status::Error(EPROTO, "malformed XML entity '&" + std::string(name) + ";'");
    i = semi + 1;
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  if (tag.empty()) return out;
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while (pos < xml.size()) {
    size_t start = xml.find(open, pos);
    if (start == std::string_view::npos) break;
    size_t after = start + open.size();
    if (after >= xml.size()) break;
    char c = xml[after];
    if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      pos = after;  // a longer tag name sharing the prefix (<Key> vs <KeyCount>)
      continue;
    }
    size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) break;
    if (xml[gt - 1] == '/') {  // <tag/> (gt > after >= 1, so gt - 1 is in range)
      out.push_back(std::string_view());
      pos = gt + 1;
      continue;
    }
    size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) break;  // truncated: ignore the partial element
    out.push_back(xml.substr(gt + 1, end - gt - 1));
    pos = end + close.size();
  }
  return out;
}

Result<S3ListPage> ParseListObjectsV2(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return Status::Error(EPROTO, "ListObjectsV2: response is not a ListBucketResult");
  }
  // A cut or garbled page must not pass for a shorter listing: an object missing from it would
  // read as zeros. So the document must be closed, every <Contents> must be, and IsTruncated
  // must say which page this is.
  std::string_view end = xml.substr(0, xml.find_last_not_of(" \t\r\n") + 1);
  constexpr std::string_view kClose = "</ListBucketResult>";
  if (end.size() < kClose.size() || end.substr(end.size() - kClose.size()) != kClose) {
    return Status::Error(EPROTO, "ListObjectsV2: response does not end with </ListBucketResult> (cut or malformed)");
  }
  std::vector<std::string_view> all_contents = XmlElements(xml, "Contents");
  size_t opened = 0;
  for (size_t pos = xml.find("<Contents>"); pos != std::string_view::npos; pos = xml.find("<Contents>", pos + 1)) {
    ++opened;
  }
  if (opened != all_contents.size()) {
    return Status::Error(EPROTO, "ListObjectsV2: " + std::to_string(opened) + " <Contents> opened, " +
                                     std::to_string(all_contents.size()) + " well formed");
  }
  if (XmlElements(xml, "IsTruncated").empty()) {
    return Status::Error(EPROTO, "ListObjectsV2: response has no <IsTruncated>");
  }
  S3ListPage page;
  for (std::string_view contents : all_contents) {
    S3XmlObject obj;
    std::vector<std::string_view> keys = XmlElements(contents, "Key");
    if (keys.empty()) return Status::Error(EPROTO, "ListObjectsV2: <Contents> without <Key>");
    Result<std::string> key = XmlUnescape(keys.front());
    if (!key.ok()) return key.status().Wrap("ListObjectsV2: key");
    obj.key = std::move(*key);
    std::vector<std::string_view> sizes = XmlElements(contents, "Size");
    if (!sizes.empty()) {
      Result<uint64_t> size = ParseU64(sizes.front());
      if (!size.ok()) return size.status().Wrap("ListObjectsV2: " + obj.key + ": size");
      obj.size = *size;
    }
    Result<std::string> etag = FirstText(contents, "ETag");
    if (!etag.ok()) return etag.status().Wrap("ListObjectsV2: " + obj.key + ": etag");
    obj.etag = std::move(*etag);
    page.objects.push_back(std::move(obj));
  }
  // IsTruncated and the token sit outside <Contents>; keys cannot contain '<', so a search
  // of the whole document cannot be fooled by key text.
  std::vector<std::string_view> truncated = XmlElements(xml, "IsTruncated");
  page.is_truncated = !truncated.empty() && truncated.front() == "true";
  Result<std::string> token = FirstText(xml, "NextContinuationToken");
  if (!token.ok()) return token.status().Wrap("ListObjectsV2: continuation token");
  page.next_continuation_token = std::move(*token);
  if (page.is_truncated && page.next_continuation_token.empty()) {
    return Status::Error(EPROTO, "ListObjectsV2: truncated page without NextContinuationToken");
  }
  return page;
}

S3XmlError ParseErrorDocument(std::string_view xml) {
  S3XmlError e;
  std::vector<std::string_view> errors = XmlElements(xml, "Error");
  if (errors.empty()) return e;
  std::string_view body = errors.front();
  Result<std::string> code = FirstText(body, "Code");
  Result<std::string> message = FirstText(body, "Message");
  Result<std::string> key = FirstText(body, "Key");
  if (code.ok()) e.code = std::move(*code);
  if (message.ok()) e.message = std::move(*message);
  if (key.ok()) e.key = std::move(*key);
  return e;
}

Result<std::vector<S3XmlError>> ParseDeleteResult(std::string_view xml) {
  if (xml.find("<DeleteResult") == std::string_view::npos) {
    return Status::Error(EPROTO, "multi-delete: response is not a DeleteResult");
  }
  std::vector<S3XmlError> out;
  for (std::string_view body : XmlElements(xml, "Error")) {
    S3XmlError e;
    Result<std::string> key = FirstText(body, "Key");
    Result<std::string> code = FirstText(body, "Code");
    Result<std::string> message = FirstText(body, "Message");
    if (!key.ok()) return key.status().Wrap("multi-delete: error key");
    e.key = std::move(*key);
    if (code.ok()) e.code = std::move(*code);
    if (message.ok()) e.message = std::move(*message);
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::string> ParseVersioningStatus(std::string_view xml) {
  if (xml.find("<VersioningConfiguration") == std::string_view::npos) {
    return Status::Error(EPROTO, "GetBucketVersioning: response is not a VersioningConfiguration");
  }
  Result<std::string> status = FirstText(xml, "Status");
  if (!status.ok()) return status.status().Wrap("GetBucketVersioning: status");
  return status;
}

}  // namespace s3nbd
