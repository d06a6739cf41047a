// libFuzzer target for the response side of the protocol: sts::validate_response
// (src/common/response_parse.cpp) and sts::for_each_response_string (response_strings.cpp), both
// on every input.
//
// Input layout: byte 0 picks the requested handles (one bit per candidate below), byte 1 bit 0
// turns on remove_trailing_line_break, the rest is the backend's stdout.
//
// Besides crashes and sanitizer findings it aborts when
//   - a message contains the planted marker "FUZZMARK" (seeds plant it in keys, values, errors,
//     metadata, expirations, garbage) unless it is a requested handle's handle_backend_error,
//     the one place SPEC 3 lets backend text through;
//   - a message contains a raw control character, or does not name the executable;
//   - a successful result does not account for every requested handle exactly once, holds an
//     unrequested handle, holds an empty value (or one ending in a line break when stripping) or
//     one with a NUL byte, or has an expiration for a handle it did not resolve;
//   - it disagrees with nlohmann's strict parser: whatever we accept as valid JSON
//     (success, not_object, per-handle failures) nlohmann must accept, and what we call
//     not_json / bad_utf8 it must reject (inputs with a NUL byte or a leading BOM excepted:
//     nlohmann stops at NUL and skips a BOM; nor numbers that overflow a double, which
//     nlohmann rejects and JSON's grammar allows);
//   - for_each_response_string fails to finish, misses a resolved value of 4 bytes or more, or
//     misses any string value of 4 bytes or more that nlohmann's SAX parser finds in a valid
//     document (duplicates and over-deep documents included: those are valid JSON to nlohmann).
#include "fuzz_support.h"
#include "common/protocol.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using sts::fuzz::kMarker;
constexpr std::string_view kExe = "/fuzz/backend";
constexpr std::size_t kMinReported = 4;   // redaction::kMinRedactedBytes
const char* const kCandidates[] = {"h1", "h2", "version", "a", "value", "error", "db/pass", "\xC3\xA9"};

[[noreturn]] void fail(const char* why, const std::string& message) {
  std::fprintf(stderr, "fuzz_response invariant broken: %s\nmessage: %s\n", why, message.c_str());
  std::abort();
}

// nlohmann rejects numbers that overflow a double (1e999, 400-digit integers); JSON's grammar
// does not, and neither do we.
bool may_overflow_double(std::string_view body) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    bool digit = body[i] >= '0' && body[i] <= '9';
    if (run > 0 && (body[i] == 'e' || body[i] == 'E')) return true;
    run = digit ? run + 1 : 0;
    if (run >= 300) return true;
  }
  return false;
}

void check_message(const sts::Error& e, bool may_carry_backend_text) {
  if (e.message.rfind("backend " + std::string(kExe) + ": ", 0) != 0) fail("message does not name the executable", e.message);
  if (sts::fuzz::has_control(e.message)) fail("raw control character in a message", e.message);
  if (e.message.find(kMarker) != std::string::npos && !may_carry_backend_text) fail("response bytes echoed", e.message);
}

void check_result(const sts::FetchResult& r, const std::vector<std::string>& requested, bool strip) {
  std::set<std::string> accounted;
  for (const auto& [handle, e] : r.failures) {
    if (sts::category(e.code) != sts::Category::handle_failed) fail("per-handle failure of the wrong category", e.message);
    check_message(e, e.code == sts::Code::handle_backend_error);
    if (!accounted.insert(handle).second) fail("handle both failed and resolved", handle);
  }
  for (const auto& [handle, value] : r.values) {
    if (!accounted.insert(handle).second) fail("handle both failed and resolved", handle);
    if (value.empty()) fail("empty value returned", handle);
    if (std::memchr(value.data(), 0, value.size()) != nullptr) fail("value with a NUL byte returned", handle);
    char last = value.view().back();
    if (strip && (last == '\n' || last == '\r')) fail("line break not stripped", handle);
  }
  for (const auto& [handle, when] : r.expirations) {
    if (r.values.count(handle) == 0) fail("expiration for a handle that did not resolve", handle);
  }
  if (accounted != std::set<std::string>(requested.begin(), requested.end())) fail("requested handles not accounted for", "");
}

// The scanner's own invariants, and what it must report of a valid document.
void check_strings(std::string_view body, const sts::Result<sts::FetchResult>& r, bool comparable) {
  std::vector<std::string> reported;
  const bool done = sts::for_each_response_string(body, [&](std::string_view v) {
    if (v.size() < kMinReported) fail("string shorter than 4 bytes reported", "");
    reported.emplace_back(v);
  });
  if (!done) fail("for_each_response_string did not finish", "");
  if (r) {
    std::vector<std::string> resolved;
    for (const auto& [handle, value] : r->values) {
      // A stripped value is a prefix of the one in the document; the scanner reports the latter.
      if (value.size() >= kMinReported) resolved.emplace_back(value.view());
    }
    for (const auto& v : resolved) {
      bool found = false;
      for (const auto& rep : reported) found = found || rep.compare(0, v.size(), v) == 0;
      if (!found) fail("a resolved value was not reported for redaction", "");
    }
  }
  std::vector<std::string> reference;
  if (comparable && sts::fuzz::nlohmann_string_values(body, reference)) {
    std::erase_if(reference, [](const std::string& s) { return s.size() < kMinReported; });
    if (!sts::fuzz::includes_all(reported, reference)) fail("a string value of a valid document was not reported", "");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::vector<std::string> requested;
  for (unsigned i = 0; i < 8; ++i) {
    if ((data[0] >> i) & 1u) requested.emplace_back(kCandidates[i]);
  }
  sts::ValidateOptions options;
  options.remove_trailing_line_break = (data[1] & 1u) != 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

  auto r = sts::validate_response(body, requested, options, kExe);

  // nlohmann's lexer takes a NUL byte for the end of input and skips a leading BOM: the
  // differential checks only look at inputs without either.
  const bool comparable = body.find('\0') == std::string_view::npos &&
                          !(body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") && !may_overflow_double(body);
  bool json_valid_for_us = true;
  if (!r) {
    check_message(r.error(), false);
    if (sts::category(r.error().code) != sts::Category::backend_failed) fail("whole-run error of the wrong category", r.error().message);
    json_valid_for_us = r.error().code == sts::Code::response_not_object;
    bool syntax = r.error().code == sts::Code::response_not_json || r.error().code == sts::Code::response_bad_utf8;
    if (syntax && comparable && nlohmann::json::accept(body)) fail("we reject JSON that nlohmann accepts", r.error().message);
  } else {
    check_result(*r, requested, options.remove_trailing_line_break);
  }
  if (json_valid_for_us && comparable && !nlohmann::json::accept(body)) fail("we accept JSON that nlohmann rejects", "");
  check_strings(body, r, comparable);
  return 0;
}
