// libFuzzer target for sts::validate_response (src/common/protocol.cpp).
//
// Input layout: byte 0 picks the requested handles (one bit per candidate below), byte 1 bit 0
// turns on remove_trailing_line_break, the rest is the backend's stdout.
//
// Besides crashes and sanitizer findings it aborts when
//   - a message contains the planted marker "FUZZMARK" (seeds plant it in keys, values, errors,
//     garbage) unless it is a requested handle's handle_backend_error, the one place SPEC 3
//     lets backend text through;
//   - a message contains a raw control character, or does not name the executable;
//   - a successful result does not account for every requested handle exactly once, holds an
//     unrequested handle, or holds an empty value (or one ending in a line break when stripping);
//   - it disagrees with nlohmann's strict accept(): whatever we accept as valid JSON
//     (success, not_object, per-handle failures) nlohmann must accept, and what we call
//     not_json / bad_utf8 it must reject (inputs with a NUL byte or a leading BOM excepted:
//     nlohmann stops at NUL and skips a BOM; nor numbers that overflow a double, which
//     nlohmann rejects and JSON's grammar allows).
#include "fuzz_support.h"
#include "common/protocol.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kMarker = "FUZZMARK";
constexpr std::string_view kExe = "/fuzz/backend";
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
  // differential check only looks at inputs without either.
  const bool comparable = body.find('\0') == std::string_view::npos &&
                          !(body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF");
  bool json_valid_for_us = true;
  if (!r) {
    check_message(r.error(), false);
    if (sts::category(r.error().code) != sts::Category::backend_failed) fail("whole-run error of the wrong category", r.error().message);
    json_valid_for_us = r.error().code == sts::Code::response_not_object;
    bool syntax = r.error().code == sts::Code::response_not_json || r.error().code == sts::Code::response_bad_utf8;
    if (syntax && comparable && nlohmann::json::accept(body)) fail("we reject JSON that nlohmann accepts", r.error().message);
  } else {
    std::set<std::string> accounted;
    for (const auto& [handle, e] : r->failures) {
      if (sts::category(e.code) != sts::Category::handle_failed) fail("per-handle failure of the wrong category", e.message);
      check_message(e, e.code == sts::Code::handle_backend_error);
      if (!accounted.insert(handle).second) fail("handle both failed and resolved", handle);
    }
    for (const auto& [handle, value] : r->values) {
      if (!accounted.insert(handle).second) fail("handle both failed and resolved", handle);
      if (value.empty()) fail("empty value returned", handle);
      char last = value.view().back();
      if (options.remove_trailing_line_break && (last == '\n' || last == '\r')) fail("line break not stripped", handle);
    }
    if (accounted != std::set<std::string>(requested.begin(), requested.end())) fail("requested handles not accounted for", "");
  }
  if (json_valid_for_us && comparable && !may_overflow_double(body) && !nlohmann::json::accept(body)) fail("we accept JSON that nlohmann rejects", "");
  return 0;
}
