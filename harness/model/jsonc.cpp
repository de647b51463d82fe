// JSON with // and /* */ comments -> ordered_json plus a map of JSON Pointer -> 1-based line.
//
// A small recursive-descent parser of our own, so every value's line is known exactly and
// syntax errors say what was expected at which line, and at which value (the JSON Pointer of
// the value being read when the error was found). Numbers are handed to nlohmann for
// conversion so integers stay integers and floats round-trip like everywhere else.
//
// The text must be UTF-8 (RFC 8259 §8.1); a leading UTF-8 byte order mark is ignored, as that
// section allows. Every byte of a string or comment is checked, so values and messages are
// always valid UTF-8. Limits (load.hpp): size, nesting depth, pointer length; duplicate keys
// are refused.
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "harness/model/load.hpp"
#include "harness/model/pointer.hpp"

namespace sockchaos::harness {
namespace {

const char kUtf8Bom[] = "\xEF\xBB\xBF";

// RFC 6901: "~" as "~0", "/" as "~1" (escape_pointer_token, and the parser's own path).
void append_pointer_token(std::string& out, const std::string& token) {
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
}

// Bytes a string holds as they are: printable ASCII but the quote and the backslash (DEL too,
// as JSON allows). One table look-up per byte instead of four comparisons.
constexpr std::array<bool, 256> kPlainStringByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", c);
  return buf;
}

// "1e309", or the first 24 characters and the length of a long token.
std::string shorten_token(const std::string& token) {
  if (token.size() <= 40) return token;
  return token.substr(0, 24) + "... (" + std::to_string(token.size()) + " characters)";
}

class JsoncParser {
 public:
  JsoncParser(const std::string& text, const std::string& file, Document& doc)
      : text_(text), file_(file), doc_(doc) {}

  void parse() {
    if (text_.size() >= 2 && ((uc(0) == 0xFF && uc(1) == 0xFE) || (uc(0) == 0xFE && uc(1) == 0xFF)))
      fail("the file starts with a UTF-16 byte order mark; expected UTF-8 text (save the file as UTF-8)");
    if (text_.compare(0, 3, kUtf8Bom) == 0) pos_ = line_start_ = 3;  // RFC 8259 §8.1: may be ignored
    skip_space();
    if (at_end())
      fail(text_.empty() || text_ == kUtf8Bom
               ? "expected a JSON object; the file is empty"
               : "expected a JSON object; the file is empty but for white space and comments");
    doc_.value = parse_value(0);
    path_.clear();
    skip_space();
    if (!at_end()) fail("expected the end of the document after the top-level value; got " + describe_here());
  }

 private:
  const std::string& text_;
  const std::string& file_;
  Document& doc_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;  // offset of the current line's first byte
  // JSON Pointer of the value being read (every syntax error names it): one buffer, a token
  // appended as the parser descends into a member or element and cut off as it comes back.
  std::string path_;

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  unsigned char uc(size_t at) const { return static_cast<unsigned char>(text_[at]); }

  char advance() {
    char c = text_[pos_++];
    if (c == '\n') {
      ++line_;
      line_start_ = pos_;
    }
    return c;
  }

  [[noreturn]] void fail(const std::string& message, int line = 0) const {
    throw ScenarioError({InputIssue{file_, path_, line ? line : line_, message}});
  }

  std::string column() const { return "byte " + std::to_string(pos_ - line_start_ + 1) + " of the line"; }

  [[noreturn]] void fail_utf8() const {
    fail("expected UTF-8 text; " + column() + " (" + hex_byte(uc(pos_)) +
         ") is not valid UTF-8 (save the file as UTF-8)");
  }

  // Consumes one UTF-8 character of a string or comment (which holds no newline), refusing
  // malformed sequences and NUL bytes.
  void take_char(std::string* out) {
    unsigned char c = uc(pos_);
    if (c == 0) fail("expected text; got a NUL byte at " + column() + " (is the file UTF-16? expected UTF-8)");
    size_t n = c < 0x80 ? 1 : utf8_sequence_length(text_, pos_);
    if (n == 0) fail_utf8();
    if (out) out->append(text_, pos_, n);
    if (n == 1) advance();
    else pos_ += n;
  }

  std::string describe_here() const {
    if (at_end()) return "the end of the file";
    unsigned char c = uc(pos_);
    if (c == '\n' || c == '\r') return "the end of the line";
    if (c == 0) return "a NUL byte (is the file UTF-16? expected UTF-8)";
    if (c < 0x20 || c == 0x7F) return "the control character " + hex_byte(c);
    if (c >= 0x80) {
      size_t n = utf8_sequence_length(text_, pos_);
      if (n == 0) return "the byte " + hex_byte(c) + " at " + column() + ", which is not valid UTF-8";
      if (text_.compare(pos_, 3, kUtf8Bom) == 0) return "a byte order mark (U+FEFF)";
      return "'" + text_.substr(pos_, n) + "'";
    }
    // Show the token-ish text at this position, at most 20 printable ASCII characters.
    size_t end = pos_;
    while (end < text_.size() && end - pos_ < 20 && uc(end) > 0x20 && uc(end) < 0x7F &&
           (end == pos_ || std::string(",:{}[]\"").find(text_[end]) == std::string::npos))
      ++end;
    return "'" + text_.substr(pos_, end - pos_) + "'";
  }

  void skip_space() {
    while (!at_end()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r') {
        // A run of indentation at once (the common case: pretty-printed files).
        ++pos_;
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
      } else if (c == '\n') {
        advance();
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (!at_end() && peek() != '\n' && peek() != '\r') take_char(nullptr);  // as nlohmann and VS Code
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '*') {
        int start_line = line_;
        advance();
        advance();
        while (true) {
          if (at_end()) fail("expected '*/' to close the comment opened here; got the end of the file", start_line);
          if (peek() == '*' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
            advance();
            advance();
            break;
          }
          take_char(nullptr);
        }
      } else if (c == '/') {
        fail("expected '//' or '/*' to start a comment; got a single '/'");
      } else {
        break;
      }
    }
  }

  void append_key(const std::string& key) {
    path_ += '/';
    append_pointer_token(path_, key);
  }

  void append_index(size_t index) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, index).ptr;
    path_ += '/';
    path_.append(digits, end);
  }

  // The value at path_.
  json parse_value(int depth) {
    if (path_.size() > kMaxPointerBytes)
      fail("expected the JSON Pointer of a value to be at most " + std::to_string(kMaxPointerBytes) +
           " bytes; this one is " + std::to_string(path_.size()) + " (keys that long are no scenario keys)");
    skip_space();
    doc_.lines[path_] = line_;
    char c = peek();
    if ((c == '{' || c == '[') && depth >= kMaxNestingDepth)
      fail("expected at most " + std::to_string(kMaxNestingDepth) +
           " levels of objects and lists inside each other; this one is nested deeper");
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return json(parse_string());
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    if (text_.compare(pos_, 4, "true") == 0 && !ident_char_at(pos_ + 4)) return literal(4, json(true));
    if (text_.compare(pos_, 5, "false") == 0 && !ident_char_at(pos_ + 5)) return literal(5, json(false));
    if (text_.compare(pos_, 4, "null") == 0 && !ident_char_at(pos_ + 4)) return literal(4, json(nullptr));
    if (c == '\'') fail("expected a value; strings use double quotes \"...\", not single quotes");
    if (c == '}' || c == ']') fail("expected a value; got " + describe_here() + " (a trailing comma?)");
    fail("expected a value (object, list, string, number, true, false or null); got " + describe_here());
  }

  bool ident_char_at(size_t p) const {
    return p < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[p])) || text_[p] == '_');
  }

  json literal(size_t length, json value) {
    pos_ += length;
    return value;
  }

  // Keys are checked here, so members are appended without ordered_map's linear lookup: a
  // small object's keys are compared one by one, a large one's go to a hash table.
  static constexpr size_t kLinearKeys = 16;

  json parse_object(int depth) {
    const size_t base = path_.size();
    int open_line = line_;
    advance();  // {
    json object = json::object();
    auto& members = object.get_ref<json::object_t&>();
    std::vector<int> member_lines;
    std::unordered_map<std::string, int> key_lines;  // from the (kLinearKeys + 1)-th key on
    auto first_line_of = [&](const std::string& key) -> int {  // 0: a new key
      if (members.size() < kLinearKeys) {
        for (size_t i = 0; i < members.size(); ++i)
          if ((members.begin() + i)->first == key) return member_lines[i];
        return 0;
      }
      if (key_lines.empty())
        for (size_t i = 0; i < members.size(); ++i) key_lines.emplace((members.begin() + i)->first, member_lines[i]);
      auto it = key_lines.find(key);
      return it == key_lines.end() ? 0 : it->second;
    };
    skip_space();
    if (peek() == '}') {
      advance();
      return object;
    }
    while (true) {
      path_.resize(base);
      skip_space();
      if (peek() == '}') fail("expected a key in double quotes; got '}' (JSON does not allow a trailing comma)");
      if (peek() != '"') {
        if (at_end()) fail("expected a key or '}' to close the object opened on line " + std::to_string(open_line));
        fail("expected a key in double quotes; got " + describe_here());
      }
      int key_line = line_;
      std::string key = parse_string();
      if (int first = first_line_of(key); first != 0) {
        append_key(key);
        fail("duplicate key \"" + key + "\" (first at line " + std::to_string(first) + "); expected each key once",
             key_line);
      }
      skip_space();
      if (peek() != ':') fail("expected ':' after the key \"" + key + "\"; got " + describe_here());
      advance();
      append_key(key);
      json value = parse_value(depth + 1);
      if (!key_lines.empty()) key_lines.emplace(key, key_line);
      members.emplace_back(std::move(key), std::move(value));
      member_lines.push_back(key_line);
      path_.resize(base);
      skip_space();
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == '}') {
        advance();
        return object;
      }
      if (at_end()) fail("expected ',' or '}' to close the object opened on line " + std::to_string(open_line) + "; got the end of the file");
      fail("expected ',' or '}' after the value of \"" + members.back().first + "\"; got " + describe_here());
    }
  }

  json parse_array(int depth) {
    const size_t base = path_.size();
    int open_line = line_;
    advance();  // [
    json array = json::array();
    skip_space();
    if (peek() == ']') {
      advance();
      return array;
    }
    while (true) {
      skip_space();
      if (peek() == ']') fail("expected a value; got ']' (JSON does not allow a trailing comma)");
      append_index(array.size());
      array.push_back(parse_value(depth + 1));
      path_.resize(base);
      skip_space();
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == ']') {
        advance();
        return array;
      }
      if (at_end()) fail("expected ',' or ']' to close the list opened on line " + std::to_string(open_line) + "; got the end of the file");
      fail("expected ',' or ']' in the list; got " + describe_here());
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t parse_hex4() {
    if (pos_ + 4 > text_.size()) fail("expected 4 hex digits after \\u");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= h - '0';
      else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
      else fail("expected 4 hex digits after \\u");
    }
    return v;
  }

  std::string parse_string() {
    int open_line = line_;
    advance();  // "
    std::string out;
    while (true) {
      if (at_end()) fail("expected '\"' to close the string opened on line " + std::to_string(open_line));
      char c = peek();
      if (c == '"') {
        advance();
        return out;
      }
      if (c == '\n') fail("expected '\"' to close the string before the end of the line (use \\n for a newline)");
      if (c == '\0') fail("expected no NUL byte inside a string (is the file UTF-16? expected UTF-8)");
      if (static_cast<unsigned char>(c) < 0x20) fail("expected no control characters inside a string (escape them)");
      if (c != '\\') {
        if (static_cast<unsigned char>(c) >= 0x80) {
          take_char(&out);
          continue;
        }
        // A run of plain ASCII (no quote, backslash, control character or newline) at once.
        size_t end = pos_ + 1;
        while (end < text_.size() && kPlainStringByte[uc(end)]) ++end;
        out.append(text_, pos_, end - pos_);
        pos_ = end;
        continue;
      }
      advance();
      if (at_end()) fail("expected an escape character after '\\'");
      char e = advance();
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.compare(pos_, 2, "\\u") != 0) fail("expected a low surrogate \\uDC00-\\uDFFF after a high surrogate");
            pos_ += 2;
            uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("expected a low surrogate \\uDC00-\\uDFFF after a high surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("expected a high surrogate before a low surrogate \\u escape");
          } else if (cp == 0) {
            // Strings become program arguments, sysctl values and file names: C strings.
            fail("expected no NUL character (\\u0000) in a string; strings are passed on as C strings");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          if (static_cast<unsigned char>(e) < 0x20 || static_cast<unsigned char>(e) >= 0x7F)
            fail("expected a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) after '\\'");
          fail(std::string("expected a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX); got '\\") + e + "'");
      }
    }
  }

  json parse_number() {
    size_t start = pos_;
    if (peek() == '-') ++pos_;
    auto digits = [&] {
      size_t n = 0;
      while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++pos_, ++n;
      return n;
    };
    if (peek() == '0') {
      ++pos_;
      if (std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a number without leading zeros");
    } else if (digits() == 0) {
      fail("expected digits after '-'");
    }
    bool fraction_or_exponent = false;
    if (peek() == '.') {
      ++pos_;
      fraction_or_exponent = true;
      if (digits() == 0) fail("expected digits after the decimal point");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      fraction_or_exponent = true;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (digits() == 0) fail("expected digits in the exponent");
    }
    if (!at_end() && (std::isalpha(static_cast<unsigned char>(peek())))) {
      size_t end = pos_;
      while (end < text_.size() && std::isalnum(static_cast<unsigned char>(text_[end]))) ++end;
      std::string token = shorten_token(text_.substr(start, end - start));
      fail("expected a number or a quoted string; got " + token + " — did you mean \"" + token + "\"?");
    }
    // The common cases without a parser per number: what nlohmann's lexer makes of the token
    // (an unsigned or signed 64-bit integer, or the correctly rounded double); anything out of
    // range (a too large integer becomes a double, underflow, overflow) goes to nlohmann itself.
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (!fraction_or_exponent && *first != '-') {
      uint64_t u = 0;
      if (auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) return json(u);
    } else if (!fraction_or_exponent) {
      int64_t i = 0;
      if (auto r = std::from_chars(first, last, i); r.ec == std::errc() && r.ptr == last) return json(i);
    } else {
      double d = 0;
      if (auto r = std::from_chars(first, last, d); r.ec == std::errc() && r.ptr == last && std::isfinite(d))
        return json(d);
    }
    std::string token(first, last);
    try {
      return json::parse(token);
    } catch (const json::exception&) {  // out_of_range 406: beyond what a double holds
      fail("expected a number of magnitude at most 1.8e308 (what a double holds); got " + shorten_token(token));
    }
  }
};

}  // namespace

std::string escape_pointer_token(const std::string& token) {
  std::string out;
  append_pointer_token(out, token);
  return out;
}

std::optional<std::vector<std::string>> split_pointer(const std::string& pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') return std::nullopt;
  std::string current;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(current);
      current.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) return std::nullopt;
      current += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
      continue;
    }
    current += pointer[i];
  }
  return tokens;
}

std::string join_pointer(const std::vector<std::string>& tokens, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < tokens.size(); ++i) out += "/" + escape_pointer_token(tokens[i]);
  return out;
}

Document parse_document(const std::string& text, const std::string& file, const DocumentLimits& limits) {
  if (text.size() > limits.max_bytes) throw ScenarioError({too_large_issue(file, text.size(), limits)});
  Document doc;
  doc.file = file;
  JsoncParser(text, file, doc).parse();
  return doc;
}

InputIssue too_large_issue(const std::string& file, std::optional<size_t> size, const DocumentLimits& limits) {
  std::string what = size ? std::to_string(*size) + " bytes" : "more than " + std::to_string(limits.max_bytes) + " bytes";
  return {file, "", 0,
          "the file is " + what + "; expected " + limits.what + " of at most " + std::to_string(limits.max_bytes) +
              " bytes (" + std::to_string(limits.max_bytes >> 20) + " MiB)"};
}

int line_of(const std::map<std::string, int>& lines, std::string pointer) {
  while (true) {
    auto it = lines.find(pointer);
    if (it != lines.end()) return it->second;
    if (pointer.empty()) return 0;
    pointer.erase(pointer.rfind('/'));
  }
}

}  // namespace sockchaos::harness
