// answer_request (stsecrets/serve.h): a protocol request through the Resolver, and the response
// written straight into secure memory (text.h append_json_string).
#include "stsecrets/serve.h"

#include "common/protocol.h"
#include "common/text.h"
#include "stsecrets/logging.h"

#include <map>
#include <set>

namespace sts {
namespace {

void append_value(SecureBuffer& out, std::string_view value) {
  out.append("{\"value\":");
  append_json_string(out, value);
  out.append("}");
}

void append_error(SecureBuffer& out, std::string_view message) {
  out.append("{\"value\":null,\"error\":");
  // The reason may quote another secret (a backend's own error text): redacted, one line.
  append_json_string(out, escape_controls(redact(message)));
  out.append("}");
}

}  // namespace

Result<SecureBuffer> answer_request(std::string_view request, Resolver& resolver) {
  auto parsed = validate_request(request);
  if (!parsed) return std::move(parsed).error();
  std::vector<std::string> unique;
  std::set<std::string_view> seen;
  for (const auto& h : parsed->handles) {
    if (seen.insert(h).second) unique.push_back(h);
  }

  SecureBuffer out;
  out.append("{");
  bool first = true;
  auto key = [&](std::string_view handle) {
    if (!first) out.append(",");
    first = false;
    append_json_string(out, handle);
    out.append(":");
  };
  // Handles the Resolver refuses before any run (empty, control characters, ...) are answered
  // one by one; the rest are resolved together.
  std::vector<std::string> valid;
  std::map<std::string, Error, std::less<>> refused;
  for (const auto& h : unique) {
    if (Status st = validate_handle(h, "request", "secrets"); !st) {
      refused.emplace(h, std::move(st).error());
    } else {
      valid.push_back(h);
    }
  }
  std::map<std::string, Error, std::less<>> failed;
  std::optional<Error> run_error;
  if (!valid.empty()) {
    auto report = resolver.with_values(valid, [&](std::string_view handle, std::string_view value) {
      if (!valid_utf8(value)) {
        // JSON strings are UTF-8: this value cannot be sent (its bytes are never shown).
        failed.emplace(std::string(handle),
                       make_error(Code::handle_value_invalid, "secret \"" + sanitize_backend_text(handle) +
                                                                  "\": the value is not valid UTF-8 and cannot be sent "
                                                                  "in a JSON response; store it as UTF-8 text"));
        return;
      }
      key(handle);
      append_value(out, value);
    });
    if (!report) {
      run_error = report.error();
    } else {
      for (const auto& f : report->failures) failed.emplace(f.handle, f.error);
    }
  }
  for (const auto& h : unique) {
    if (auto r = refused.find(h); r != refused.end()) {
      key(h);
      append_error(out, r->second.message);
    } else if (auto f = failed.find(h); f != failed.end()) {
      key(h);
      append_error(out, f->second.message);
    } else if (run_error) {
      key(h);
      append_error(out, run_error->message);
    }
  }
  out.append("}\n");
  return out;
}

}  // namespace sts
