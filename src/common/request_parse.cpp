// validate_request(): the request an agent sends to `stsecrets backend` or `helper read-file`
// (SPEC 3 and 8; the rules are listed in protocol.h).
//
// A json::Handler over the shared strict reader (json_lexer.h) records what it saw; finish()
// then judges it in a fixed order, so a request has one well-defined first error:
//   JSON syntax / UTF-8 / depth / duplicate key  ->  top level is an object  ->  version  ->
//   secrets array  ->  each handle  ->  secret_backend_timeout.
// Messages name fields and offsets, never request bytes; the only exception is the version
// string, escaped and capped, because "which version did the agent speak" is what its operator
// needs to know.
#include "common/protocol.h"

#include "common/json_lexer.h"
#include "common/text.h"

#include "stsecrets/handles.h"
#include "stsecrets/secure_buffer.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sts {
namespace {

// The shape every error message points at.
constexpr const char* kShapeHint = "; a request looks like {\"version\":\"1.0\",\"secrets\":[\"h1\",\"h2\"]}";
// How much of a bad version string an error shows.
constexpr std::size_t kMaxVersionShown = 64;

enum SlotKind : std::uint8_t { kIgnored = 0, kTop, kVersion, kSecrets, kHandle, kTimeout };

Error request_error(const std::string& what) { return make_error(Code::request_invalid, "request " + what); }

// " (byte N)": every message ends with the offset it is about, as the response's do.
std::string at_byte(std::size_t offset) { return " (byte " + std::to_string(offset) + ")"; }

// "1", "1.0", "1.1", "1.N" (major version 1). A minor version above 0 includes 1.1's fields.
std::optional<ProtocolVersion> parse_version(std::string_view v) {
  if (v == "1") return ProtocolVersion::v1_0;
  if (v.size() < 3 || v.size() > 6 || v.substr(0, 2) != "1.") return std::nullopt;
  const std::string_view minor = v.substr(2);
  if (!std::all_of(minor.begin(), minor.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return minor.find_first_not_of('0') == std::string_view::npos ? ProtocolVersion::v1_0 : ProtocolVersion::v1_1;
}

// What is wrong with a handle (SPEC 1's rules), or "".
std::string handle_problem(std::string_view h) {
  if (h.empty()) return "is an empty handle";
  if (h.size() > kMaxHandleBytes) return "is a handle longer than " + std::to_string(kMaxHandleBytes) + " bytes";
  for (char ch : h) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return "is a handle with a control character (U+0000-U+001F, U+007F)";
  }
  // The reader only produces valid UTF-8; checked again because the rule is the handle's own.
  if (!valid_utf8(h)) return "is a handle that is not valid UTF-8";
  return {};
}

// Seconds as JSON number text -> milliseconds, rounded up; an error message when not positive.
Result<std::chrono::milliseconds> parse_timeout(std::string_view text, std::size_t offset) {
  const std::string where = "\"secret_backend_timeout\"";
  const std::string at = at_byte(offset);
  if (text.empty() || text.front() == '-') return request_error(where + " must be a positive number of seconds" + at);
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc::result_out_of_range) {
    // The grammar was checked by the reader: out of range is an overflow (cap it) or an
    // underflow (a positive number too small for a double: the least positive timeout).
    const bool underflow = text.find("e-") != std::string_view::npos || text.find("E-") != std::string_view::npos;
    seconds = underflow ? 1e-9 : HUGE_VAL;
  } else if (ec != std::errc() || end != text.data() + text.size()) {
    return request_error(where + " is not a number" + at);
  }
  if (!(seconds > 0)) return request_error(where + " must be a positive number of seconds" + at);
  const double cap = static_cast<double>(kMaxRequestTimeout.count());
  const double ms = std::ceil(std::min(seconds, cap) * 1000.0);
  return std::chrono::milliseconds(std::max<std::chrono::milliseconds::rep>(1, static_cast<std::chrono::milliseconds::rep>(ms)));
}

class RequestHandler final : public json::Handler {
 public:
  RequestHandler() = default;
  RequestHandler(const RequestHandler&) = delete;
  RequestHandler& operator=(const RequestHandler&) = delete;
  ~RequestHandler() override { scratch_.release(); }

  json::Slot member(const json::Slot& object, std::size_t, std::string_view key) override {
    if (object.kind != kTop) return {};
    if (key == "version") return {kVersion, 0};
    if (key == "secrets") return {kSecrets, 0};
    if (key == "secret_backend_timeout") return {kTimeout, 0};
    return {};
  }
  json::Slot element(const json::Slot& array, std::size_t, std::size_t index) override {
    return array.kind == kSecrets ? json::Slot{kHandle, index} : json::Slot{};
  }
  SecureBuffer* value(const json::Slot& slot, json::Type type, std::size_t offset) override;
  void string_done(const json::Slot& slot) override;
  void number(const json::Slot& slot, std::string_view text) override {
    if (slot.kind == kTimeout) timeout_text_.assign(text);
  }
  std::string duplicate_name(const json::Slot& object, std::size_t, std::string_view key) override {
    // Only the protocol's own field names: any other key is request bytes.
    if (object.kind == kTop && (key == "version" || key == "secrets" || key == "secret_backend_timeout")) {
      return "\"" + std::string(key) + "\"";
    }
    return {};
  }

  Result<Request> finish();

 private:
  struct Field {
    json::Type type = json::Type::none;
    std::size_t offset = 0;
  };
  void note_handle_error(std::string message) {
    if (!handle_error_) handle_error_ = request_error(message);
  }

  json::Type top_ = json::Type::none;
  Field version_;
  Field secrets_;
  Field timeout_;
  std::string version_text_;
  std::string timeout_text_;
  std::size_t handle_offset_ = 0;   // of the handle being decoded
  std::vector<std::string> handles_;
  std::optional<Error> handle_error_;   // the first bad element of "secrets"
  SecureBuffer scratch_;                // the string being decoded; cleared after each
};

SecureBuffer* RequestHandler::value(const json::Slot& slot, json::Type type, std::size_t offset) {
  switch (slot.kind) {
    case kTop: top_ = type; return nullptr;
    case kSecrets: secrets_ = {type, offset}; return nullptr;
    case kTimeout: timeout_ = {type, offset}; return nullptr;
    case kVersion: version_ = {type, offset}; break;
    case kHandle:
      if (type != json::Type::string) {
        note_handle_error("\"secrets\"[" + std::to_string(slot.index) + "] is " + json::type_name(type) +
                          ", not a string" + at_byte(offset));
      }
      handle_offset_ = offset;
      break;
    default: return nullptr;
  }
  // Only the version and the handles are decoded; every other string is validated in place.
  if (type != json::Type::string) return nullptr;
  scratch_.clear();
  return &scratch_;
}

void RequestHandler::string_done(const json::Slot& slot) {
  if (slot.kind == kVersion) {
    version_text_.assign(scratch_.view());
  } else if (slot.kind == kHandle) {
    if (const std::string problem = handle_problem(scratch_.view()); !problem.empty()) {
      note_handle_error("\"secrets\"[" + std::to_string(slot.index) + "] " + problem + at_byte(handle_offset_) +
                        "; a handle is 1 to " + std::to_string(kMaxHandleBytes) +
                        " bytes of UTF-8 without control characters");
    } else {
      handles_.emplace_back(scratch_.view());
    }
  }
  scratch_.clear();
}

Result<Request> RequestHandler::finish() {
  using json::Type;
  if (top_ != Type::object) return request_error(std::string("is ") + json::type_name(top_) + ", not an object" + kShapeHint);

  if (version_.type == Type::none) return request_error("has no \"version\" string" + std::string(kShapeHint));
  if (version_.type != Type::string) {
    return request_error("\"version\" is " + std::string(json::type_name(version_.type)) + ", not a string like \"1.0\"" +
                         at_byte(version_.offset));
  }
  const std::optional<ProtocolVersion> version = parse_version(version_text_);
  if (!version) {
    return request_error("has unsupported protocol version \"" + quote_text(version_text_, kMaxVersionShown) +
                         "\": this backend speaks 1.x (1.0 and 1.1)");
  }

  if (secrets_.type == Type::none) return request_error("has no \"secrets\" array" + std::string(kShapeHint));
  if (secrets_.type != Type::array) {
    return request_error("\"secrets\" is " + std::string(json::type_name(secrets_.type)) +
                         ", not an array of handle strings" + at_byte(secrets_.offset));
  }
  if (handle_error_) return std::move(*handle_error_);

  Request request;
  request.version = *version;
  if (timeout_.type != Type::none) {
    if (timeout_.type != Type::number) {
      return request_error("\"secret_backend_timeout\" is " + std::string(json::type_name(timeout_.type)) +
                           ", not a number of seconds" + at_byte(timeout_.offset));
    }
    auto timeout = parse_timeout(timeout_text_, timeout_.offset);
    if (!timeout) return std::move(timeout).error();
    request.timeout = *timeout;
  }
  std::sort(handles_.begin(), handles_.end());
  handles_.erase(std::unique(handles_.begin(), handles_.end()), handles_.end());
  request.handles = std::move(handles_);
  return request;
}

}  // namespace

Result<Request> validate_request(std::string_view bytes) {
  RequestHandler handler;
  if (auto failure = json::walk(bytes, handler, json::Slot{kTop, 0})) {
    // An empty request is a JSON error like any other to the agent that sent it.
    if (failure->kind == json::Failure::Kind::empty) return request_error("is not valid JSON (it is empty)" + std::string(kShapeHint));
    return make_error(Code::request_invalid, json::describe(*failure, "request"));
  }
  return handler.finish();
}

}  // namespace sts
