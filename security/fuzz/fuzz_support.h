// File: fuzz_support.h
//
// Small helpers shared by the fuzz targets: the one-line rule every error message must keep, the
// marker seeds plant where no message may echo it, the NAME=VALUE line format the config and
// handle targets use to fuzz environment variables, and nlohmann's view of a document's strings
// (the reference the protocol targets compare against).
#pragma once

#include "stsecrets/config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace sts::fuzz {

// Seeds plant this in keys, values, errors and garbage: no message may contain it, except where
// a rule lets input text through (a requested handle's `error`, a request's version).
constexpr std::string_view kMarker = "FUZZMARK";

// True when text holds a raw control character (U+0000-U+001F, U+007F): such a message could
// span lines or forge a log line.
inline bool has_control(std::string_view text) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// NAME=VALUE lines (one per '\n'; lines without '=' or with an empty name are skipped).
inline Environment parse_env_lines(std::string_view text) {
  Environment env;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    const auto eq = line.find('=');
    if (eq != std::string_view::npos && eq > 0) env.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    start = end + 1;
  }
  return env;
}

// nlohmann's SAX view of a document: every string *value* (not keys), in document order,
// duplicates included (a DOM would keep only the last of duplicate keys). ok is false when
// nlohmann rejects the input.
class StringValues final : public nlohmann::json_sax<nlohmann::json> {
 public:
  using json = nlohmann::json;
  std::vector<std::string> values;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& s) override {
    values.push_back(s);
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

// The string values nlohmann finds in text, or ok = false when it rejects it. Never throws.
inline bool nlohmann_string_values(std::string_view text, std::vector<std::string>& values) {
  StringValues sax;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &sax, nlohmann::json::input_format_t::json,
                                   /*strict=*/true, /*ignore_comments=*/false);
  } catch (...) {
    ok = false;
  }
  if (ok) values = std::move(sax.values);
  return ok;
}

// True when every element of `want` is in `have`, counting repeats.
inline bool includes_all(std::vector<std::string> have, std::vector<std::string> want) {
  std::sort(have.begin(), have.end());
  std::sort(want.begin(), want.end());
  return std::includes(have.begin(), have.end(), want.begin(), want.end());
}

}  // namespace sts::fuzz
