// A small recursive-descent JSON reader; see flat_json.h. Bounded depth; never reads past the
// end of its input. Pure; no locking.
#include "cache/s3/flat_json.h"

#include <cctype>

namespace s3nbd {
namespace {

constexpr int kMaxDepth = 32;

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool Object(std::map<std::string, std::string>* out) {
    Space();
    if (!Eat('{')) return false;
    Space();
    if (Eat('}')) return true;
    for (;;) {
      std::string name, value;
      Space();
      if (!String(&name)) return false;
      Space();
      if (!Eat(':')) return false;
      Space();
      if (!Value(&value, 0)) return false;
      (*out)[name] = value;
      Space();
      if (Eat('}')) return true;
      if (!Eat(',')) return false;
    }
  }
  bool AtEnd() {
    Space();
    return i_ == s_.size();
  }

 private:
  bool Value(std::string* out, int depth) {
    if (depth > kMaxDepth || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') return String(out);
    if (c == '{' || c == '[') return Skip(depth + 1);
    size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.')) {
      ++i_;
    }
    *out = std::string(s_.substr(b, i_ - b));
    if (out->empty()) return false;
    if (*out == "true" || *out == "false" || *out == "null") return true;
    return (*out)[0] == '-' || std::isdigit(static_cast<unsigned char>((*out)[0]));
  }

  bool Skip(int depth) {  // a nested object or array
    if (depth > kMaxDepth) return false;
    const char open = s_[i_++];
    const char close = open == '{' ? '}' : ']';
    Space();
    if (Eat(close)) return true;
    for (;;) {
      std::string ignored;
      Space();
      if (open == '{') {
        if (!String(&ignored)) return false;
        Space();
        if (!Eat(':')) return false;
        Space();
      }
      if (!Value(&ignored, depth)) return false;
      Space();
      if (Eat(close)) return true;
      if (!Eat(',')) return false;
    }
  }

  bool String(std::string* out) {
    if (!Eat('"')) return false;
    out->clear();
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': case '\\': case '/': out->push_back(e); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          unsigned cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            unsigned lo = 0;
            if (!Eat('\\') || !Eat('u') || !Hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          Utf8(cp, out);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  bool Hex4(unsigned* cp) {
    if (s_.size() - i_ < 4) return false;
    for (int k = 0; k < 4; ++k) {
      char h = s_[i_++];
      unsigned v = h >= '0' && h <= '9' ? h - '0'
                   : h >= 'a' && h <= 'f' ? h - 'a' + 10
                   : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                          : 16u;
      if (v == 16) return false;
      *cp = *cp * 16 + v;
    }
    return true;
  }

  static void Utf8(unsigned cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<std::map<std::string, std::string>> ParseFlatJson(std::string_view text) {
  std::map<std::string, std::string> out;
  Reader r(text);
  if (!r.Object(&out) || !r.AtEnd()) {
    return Status::Error(EPROTO, "malformed JSON document (" + std::to_string(text.size()) + " bytes)");
  }
  return out;
}

}  // namespace s3nbd
