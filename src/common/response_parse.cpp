// validate_response(): a backend's stdout against the requested handles (SPEC 3; protocol.h).
//
// A json::Handler over the shared strict reader (json_lexer.h):
//   - string values of requested handles are decoded straight into SecureBuffer storage; every
//     other string (keys, unrequested values, `error` and `expiration` strings) is validated
//     without being copied anywhere, or decoded into SecureBuffer scratch that is zeroed;
//   - errors carry byte offsets (0-based) and fixed wording, never response bytes, except the
//     backend's own `error` string of a requested handle: kept raw in secure memory until the
//     whole response is read, scrubbed of every value it holds and every known value
//     (redaction.h), and only then escaped and cut by sanitize_backend_text(). Escaping or
//     cutting first would hide a quoted value from redaction ("\x01" is not the byte 0x01; a
//     value cut at the cap matches nothing).
//
// Decisions beyond the letter of SPEC 3 (documented here and in the tests):
//   - A requested handle whose entry is not an object ("h1": "s1", "h1": null, ...) fails that
//     handle with Code::handle_value_not_string; the message names the JSON type only.
//   - An `error` that is neither null nor a string (a number, true, an object...) fails the handle
//     with Code::handle_backend_error; the message names the type only. "" and null mean "no error".
//   - When an entry has both a non-empty `error` and a usable `value`, the error wins.
//   - `expiration`: null and "" mean none (a backend with a typed optional field writes one or
//     the other); any other non-string, or a malformed string, is Code::handle_value_invalid.
//     It is judged only once the value is usable: a handle fails for its first problem.
//   - Malformed \u escapes (non-hex digits) are syntax errors (response_not_json); escapes that
//     encode lone or mismatched surrogates are response_bad_utf8.
//   - Invalid UTF-8 outside strings is response_bad_utf8; valid non-ASCII there is not_json.
//   - The whole input is validated before the top-level type is judged: "[1," is not_json,
//     "[1]" is response_not_object, 33 nested '[' is response_too_deep.
//   - Duplicate keys name the key only when it is a requested handle (top level) or one of the
//     fixed field names value/error/expiration inside a requested handle's entry; otherwise just
//     the offset.
#include "common/protocol.h"

#include "common/json_lexer.h"
#include "common/redaction.h"
#include "common/text.h"

#include "stsecrets/secure_buffer.h"

#include <cstring>
#include <map>
#include <string>
#include <utility>

namespace sts {
namespace {

using json::Type;
using Clock = std::chrono::system_clock;

enum SlotKind : std::uint8_t { kIgnored = 0, kTop, kEntry, kValue, kError, kExpiration };

// What one requested handle's entry looked like.
struct Entry {
  std::string_view handle;
  Type entry = Type::none;   // none: missing from the response
  Type value = Type::none;
  Type error = Type::none;
  Type expiration = Type::none;
  SecureBuffer value_bytes;    // decoded `value` when it is a string
  bool error_nonempty = false;
  SecureBuffer error_raw;      // decoded `error` when it is a non-empty string
  std::string error_text;      // error_raw scrubbed and sanitized (scrub_error_texts)
  // A non-empty `expiration` string, parsed; nullopt when absent, null or "".
  std::optional<Result<Clock::time_point>> expires;
};

using HandleIndex = std::map<std::string_view, std::size_t, std::less<>>;

class ResponseHandler final : public json::Handler {
 public:
  ResponseHandler(std::vector<Entry>& entries, const HandleIndex& index) : entries_(entries), index_(index) {}
  ResponseHandler(const ResponseHandler&) = delete;
  ResponseHandler& operator=(const ResponseHandler&) = delete;
  ~ResponseHandler() override { scratch_.release(); }

  json::Slot member(const json::Slot& object, std::size_t, std::string_view key) override;
  json::Slot element(const json::Slot&, std::size_t, std::size_t) override { return {}; }
  SecureBuffer* value(const json::Slot& slot, Type type, std::size_t offset) override;
  void string_done(const json::Slot& slot) override;
  void number(const json::Slot&, std::string_view) override {}
  std::string duplicate_name(const json::Slot& object, std::size_t, std::string_view key) override;

  Type top() const noexcept { return top_; }

 private:
  std::vector<Entry>& entries_;
  const HandleIndex& index_;
  Type top_ = Type::none;
  SecureBuffer scratch_;   // `error` and `expiration` strings; zeroed after each use
};

json::Slot ResponseHandler::member(const json::Slot& object, std::size_t, std::string_view key) {
  if (object.kind == kTop) {
    if (auto it = index_.find(key); it != index_.end()) return {kEntry, it->second};
  } else if (object.kind == kEntry) {
    if (key == "value") return {kValue, object.index};
    if (key == "error") return {kError, object.index};
    if (key == "expiration") return {kExpiration, object.index};
  }
  return {};   // metadata and unrequested keys: validated, then dropped
}

SecureBuffer* ResponseHandler::value(const json::Slot& slot, Type type, std::size_t) {
  const bool string = type == Type::string;
  switch (slot.kind) {
    case kTop: top_ = type; return nullptr;
    case kEntry: entries_[slot.index].entry = type; return nullptr;
    case kValue:
      entries_[slot.index].value = type;
      return string ? &entries_[slot.index].value_bytes : nullptr;
    case kError: entries_[slot.index].error = type; break;
    case kExpiration: entries_[slot.index].expiration = type; break;
    default: return nullptr;
  }
  if (!string) return nullptr;
  scratch_.clear();
  return &scratch_;
}

void ResponseHandler::string_done(const json::Slot& slot) {
  if (slot.kind == kError) {
    Entry& e = entries_[slot.index];
    e.error_nonempty = !scratch_.empty();
    if (e.error_nonempty) e.error_raw = scratch_.copy();
  } else if (slot.kind == kExpiration && !scratch_.empty()) {
    entries_[slot.index].expires = parse_expiration(scratch_.view());
  }
  scratch_.clear();
}

std::string ResponseHandler::duplicate_name(const json::Slot& object, std::size_t, std::string_view key) {
  if (object.kind == kTop) {
    if (auto it = index_.find(key); it != index_.end()) return "\"" + sanitize_backend_text(it->first) + "\"";
  } else if (object.kind == kEntry && (key == "value" || key == "error" || key == "expiration")) {
    return "\"" + std::string(key) + "\" in the entry for handle \"" +
           sanitize_backend_text(entries_[object.index].handle) + "\"";
  }
  return {};
}

Code whole_run_code(json::Failure::Kind kind) noexcept {
  switch (kind) {
    case json::Failure::Kind::empty:
    case json::Failure::Kind::syntax: return Code::response_not_json;
    case json::Failure::Kind::utf8: return Code::response_bad_utf8;
    case json::Failure::Kind::too_deep: return Code::response_too_deep;
    case json::Failure::Kind::duplicate_key: return Code::response_duplicate_key;
  }
  return Code::response_not_json;
}

// One entry per distinct requested handle, and the index from name to entry.
std::vector<Entry> make_entries(const std::vector<std::string>& requested, HandleIndex& index) {
  std::vector<Entry> entries;
  entries.reserve(requested.size());
  for (const auto& h : requested) {
    if (index.emplace(h, entries.size()).second) {
      entries.emplace_back();
      entries.back().handle = h;
    }
  }
  return entries;
}

// Why a handle whose entry is an object has no usable string value, or "" when it has one; sets
// `code` to the failure's code. Strips trailing line breaks first when the options say so, since
// "empty after stripping" is one of the problems.
std::string value_problem(Entry& e, const ValidateOptions& options, Code& code) {
  code = Code::handle_backend_error;
  if (e.error == Type::string && e.error_nonempty) return "backend error: " + e.error_text;
  if (e.error != Type::none && e.error != Type::null && e.error != Type::string) {
    return std::string("its \"error\" is ") + json::type_name(e.error) + ", not a string (treated as an error)";
  }
  code = Code::handle_value_empty;
  if (e.value == Type::none) return "its entry has no \"value\"";
  if (e.value == Type::null) return "its \"value\" is null";
  code = Code::handle_value_not_string;
  if (e.value != Type::string) return std::string("its \"value\" is ") + json::type_name(e.value) + ", not a string";
  if (options.remove_trailing_line_break) strip_trailing_line_breaks(e.value_bytes);
  code = Code::handle_value_empty;
  if (e.value_bytes.empty()) {
    return options.remove_trailing_line_break ? "its \"value\" is empty (after removing trailing line breaks)"
                                              : "its \"value\" is empty";
  }
  code = Code::handle_value_invalid;
  if (std::memchr(e.value_bytes.data(), 0, e.value_bytes.size()) != nullptr) {
    return "its \"value\" contains U+0000 (\\u0000), which cannot reach an environment variable or a C string "
           "intact; the backend must not return NUL characters";
  }
  return {};
}

// Why a handle's `expiration` is unusable, or "".
std::string expiration_problem(const Entry& e) {
  if (e.expiration != Type::none && e.expiration != Type::null && e.expiration != Type::string) {
    return std::string("its \"expiration\" is ") + json::type_name(e.expiration) +
           ", not an RFC 3339 UTC time like \"2026-12-01T15:00:00Z\"";
  }
  if (e.expires && !*e.expires) return "its \"expiration\" " + e.expires->error().message;
  return {};
}

// Each non-empty `error` string, with every value of the response (as it will be stored) and
// every known value masked, escaped and cut for a message.
void scrub_error_texts(std::vector<Entry>& entries, const ValidateOptions& options) {
  bool any = false;
  for (Entry& e : entries) {
    any = any || e.error_nonempty;
    if (e.value == Type::string && options.remove_trailing_line_break) strip_trailing_line_breaks(e.value_bytes);
  }
  if (!any) return;
  const std::size_t token = redaction::register_source([&](const std::function<void(std::string_view)>& emit) {
    for (const Entry& e : entries) emit(e.value_bytes.view());
  });
  for (Entry& e : entries) {
    if (!e.error_nonempty) continue;
    std::string text(e.error_raw.view());
    redaction::scrub(text);
    e.error_text = sanitize_backend_text(text);
    secure_zero(text.data(), text.size());
    e.error_raw.release();
  }
  redaction::unregister_source(token);
}

// Moves each entry's outcome into the result.
FetchResult judge_entries(std::vector<Entry>& entries, const ValidateOptions& options, std::string_view executable) {
  const std::string prefix = "backend " + std::string(executable) + ": handle \"";
  FetchResult result;
  for (Entry& e : entries) {
    auto fail = [&](Code code, const std::string& why) {
      e.value_bytes.release();
      result.failures.emplace(std::string(e.handle),
                              make_error(code, prefix + sanitize_backend_text(e.handle) + "\": " + why));
    };
    if (e.entry == Type::none) {
      fail(Code::handle_missing, "missing from the response");
      continue;
    }
    if (e.entry != Type::object) {
      fail(Code::handle_value_not_string,
           std::string("its entry is ") + json::type_name(e.entry) + ", not an object with a \"value\" string");
      continue;
    }
    Code code = Code::internal;
    if (std::string why = value_problem(e, options, code); !why.empty()) {
      fail(code, why);
      continue;
    }
    if (std::string why = expiration_problem(e); !why.empty()) {
      fail(Code::handle_value_invalid, why);
      continue;
    }
    if (e.expires) result.expirations.emplace(std::string(e.handle), **e.expires);
    result.values.emplace(std::string(e.handle), std::move(e.value_bytes));
  }
  return result;
}

}  // namespace

Result<FetchResult> validate_response(std::string_view bytes, const std::vector<std::string>& requested,
                                      const ValidateOptions& options, std::string_view executable) {
  HandleIndex index;
  std::vector<Entry> entries = make_entries(requested, index);
  {
    ResponseHandler handler(entries, index);
    const auto fail = [&](Code code, const std::string& what) {
      return make_error(code, "backend " + std::string(executable) + ": " + what);
    };
    if (auto failure = json::walk(bytes, handler, json::Slot{kTop, 0})) {
      return fail(whole_run_code(failure->kind), json::describe(*failure, "response"));
    }
    if (handler.top() != Type::object) {
      return fail(Code::response_not_object,
                  std::string("response is ") + json::type_name(handler.top()) + ", not a JSON object of handles");
    }
  }
  scrub_error_texts(entries, options);
  return judge_entries(entries, options, executable);
}

}  // namespace sts
