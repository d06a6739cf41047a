// libFuzzer target for the request side of the protocol: what `stsecrets backend` and
// `stsecrets helper read-file DIR` do with a request they did not write. The request validator
// (sts::validate_request, src/common/request_parse.cpp) must never crash or recurse; every handle
// it accepts is then looked up under a fixed root by read_file_secret (the helper's and the
// `file` backend's reader), which must never return anything but the files inside that root.
//
// Invariants (abort on violation):
//   - errors are Code::request_invalid, one line (no raw control characters), start "request ",
//     and never contain the planted marker "FUZZMARK" except inside an unsupported version string
//     (the one piece of a request an error may show, escaped);
//   - an accepted request's handles are sorted, unique, non-empty, at most kMaxHandleBytes, valid
//     UTF-8 without control characters; its timeout, if any, is positive and within the cap;
//   - an accepted request round-trips: validate(encode(r)) has r's version and handles, and the
//     timeout rounded up to whole seconds for 1.1 (1.0 sends none); encoding that is stable;
//   - nlohmann's strict parser agrees on what is JSON: it accepts whatever we accept, and rejects
//     what we call not valid JSON / UTF-8 (inputs with a NUL byte, a leading BOM or a number that
//     overflows a double excepted, as in fuzz_response);
//   - a value is only ever the content of a file inside the root ("inside-<name>"); the symlink
//     "escape" (-> a file outside the root) never resolves.
#include "fuzz_support.h"
#include "common/file_backend.h"
#include "common/protocol.h"
#include "common/text.h"

#include "stsecrets/handles.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

using sts::fuzz::kMarker;

struct Root {
  std::string path;
  Root() {
    char tmpl[] = "/tmp/sts-fuzz-request-XXXXXX";
    std::string base = ::mkdtemp(tmpl);
    path = base + "/root";
    std::filesystem::create_directories(path + "/sub");
    std::ofstream(path + "/a") << "inside-a";
    std::ofstream(path + "/sub/b") << "inside-b";
    std::ofstream(base + "/outside") << "OUTSIDE";
    std::filesystem::create_symlink(base + "/outside", path + "/escape");
    std::filesystem::create_symlink("sub/b", path + "/link-in");
  }
};

[[noreturn]] void fail(const char* why, const std::string& message) {
  std::fprintf(stderr, "fuzz_request invariant broken: %s\nmessage: %s\n", why, message.c_str());
  std::abort();
}

void require(bool ok, const char* why, const std::string& message = {}) {
  if (!ok) fail(why, message);
}

bool comparable(std::string_view bytes) {
  if (bytes.find('\0') != std::string_view::npos) return false;
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") return false;
  std::size_t run = 0;
  for (char c : bytes) {
    const bool digit = c >= '0' && c <= '9';
    if (run > 0 && (c == 'e' || c == 'E')) return false;
    run = digit ? run + 1 : 0;
    if (run >= 300) return false;
  }
  return true;
}

void check_error(const sts::Error& e, std::string_view bytes) {
  require(e.code == sts::Code::request_invalid, "error of the wrong code", e.message);
  require(!sts::fuzz::has_control(e.message), "raw control character in a message", e.message);
  require(e.message.rfind("request ", 0) == 0, "message does not say it is about the request", e.message);
  const std::size_t marker = e.message.find(kMarker);
  if (marker != std::string::npos) {
    const std::string version = "request has unsupported protocol version \"";
    require(e.message.rfind(version, 0) == 0 && marker >= version.size(), "request bytes echoed", e.message);
  }
  const bool not_json = e.message.rfind("request is not valid JSON", 0) == 0 ||
                        e.message.rfind("request is not valid UTF-8", 0) == 0;
  if (not_json && comparable(bytes) && nlohmann::json::accept(bytes)) fail("we call JSON invalid that nlohmann accepts", e.message);
}

void check_request(const sts::Request& r) {
  require(std::is_sorted(r.handles.begin(), r.handles.end()), "handles not sorted");
  require(std::adjacent_find(r.handles.begin(), r.handles.end()) == r.handles.end(), "a handle twice");
  for (const auto& h : r.handles) {
    require(!h.empty() && h.size() <= sts::kMaxHandleBytes, "handle of a bad size");
    require(!sts::fuzz::has_control(h) && sts::valid_utf8(h), "handle with a control character or bad UTF-8");
  }
  if (r.timeout) {
    require(r.timeout->count() > 0, "timeout not positive");
    require(*r.timeout <= std::chrono::milliseconds(sts::kMaxRequestTimeout), "timeout over the cap");
  }
}

void check_round_trip(const sts::Request& r) {
  const std::string encoded = sts::encode_request(r);
  auto back = sts::validate_request(encoded);
  require(back.has_value(), "an accepted request does not survive its encoding", back ? "" : back.error().message);
  require(back->version == r.version && back->handles == r.handles, "round trip changed version or handles");
  if (r.version == sts::ProtocolVersion::v1_1 && r.timeout) {
    const auto ms = r.timeout->count();
    const auto seconds = ms / 1000 + (ms % 1000 != 0 ? 1 : 0);
    require(back->timeout == std::chrono::milliseconds(seconds * 1000), "timeout not rounded up to whole seconds");
  } else {
    require(!back->timeout.has_value(), "a timeout the encoder should not have sent");
  }
  require(sts::encode_request(*back) == encoded, "encoding is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Root root;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto request = sts::validate_request(bytes);
  if (!request) {
    check_error(request.error(), bytes);
    return 0;
  }
  if (comparable(bytes)) require(nlohmann::json::accept(bytes), "we accept a request nlohmann rejects");
  check_request(*request);
  check_round_trip(*request);
  for (const auto& handle : request->handles) {
    auto value = sts::read_file_secret(root.path, handle);
    if (!value) {
      require(!sts::fuzz::has_control(value.error().message), "raw control character in a read error",
              value.error().message);
      continue;
    }
    const std::string_view v = value->view();
    require(v.substr(0, 7) == "inside-", "a value from outside the root");
    require(v.find("OUTSIDE") == std::string_view::npos, "a value from outside the root");
  }
  return 0;
}
