// The text module (src/common/text.h): the one home of the escapers, the UTF-8 check, OS error
// texts and JSON string literals.
#include "common/text.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <string>

TEST_CASE("escape_controls: one line whatever the text") {
  CHECK(sts::escape_controls("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(sts::escape_controls(std::string("\0\x01\x7f", 3)) == "\\x00\\x01\\x7f");
  CHECK(sts::escape_controls("caf\xC3\xA9 \"q\"") == "caf\xC3\xA9 \"q\"");
}

TEST_CASE("quote_text: safe between double quotes, capped at whole pieces") {
  CHECK(sts::quote_text("plain/path") == "plain/path");
  CHECK(sts::quote_text("a \"b\" \\c") == "a \\\"b\\\" \\\\c");
  CHECK(sts::quote_text("x\ny") == "x\\ny");
  CHECK(sts::quote_text("bad\xff") == "bad\\xff");              // invalid UTF-8 is escaped, never copied
  CHECK(sts::quote_text("\xC2\x85") == "\\u0085");               // C1 control
  CHECK(sts::quote_text(std::string(10, 'a'), 8) == "aaaaa...");
  CHECK(sts::quote_text("\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC", 7) == "\xE2\x82\xAC...");   // never half a character
  CHECK(sts::quote_text("\n\n\n", 5) == "\\n...");               // never half an escape
}

TEST_CASE("valid_utf8 and utf8_sequence_length") {
  CHECK(sts::valid_utf8(""));
  CHECK(sts::valid_utf8("ascii \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(sts::valid_utf8("\xC0\xAF"));          // overlong
  CHECK_FALSE(sts::valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(sts::valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(sts::valid_utf8("\xE2\x82"));          // truncated
  const auto* p = reinterpret_cast<const unsigned char*>("\xE2\x82\xAC");
  CHECK(sts::utf8_sequence_length(p, 3) == 3);
  CHECK(sts::utf8_sequence_length(p, 2) == 0);
}

TEST_CASE("errno_text and JSON string literals") {
  CHECK(sts::errno_text(ENOENT) == "No such file or directory");
  CHECK(sts::json_string("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
  sts::SecureBuffer b;
  sts::append_json_string(b, "v\t");
  CHECK(b.view() == "\"v\\t\"");
  CHECK(sts::ascii_lower("AbC-1") == "abc-1");
  CHECK(sts::ascii_upper("AbC-1") == "ABC-1");
}
