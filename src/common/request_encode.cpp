// The request a backend receives (SPEC 3; see protocol.h).
//
// nlohmann_json writes it: a request carries handle names only, which are not secret. Handles were
// validated by the scanner; invalid UTF-8 would be replaced (U+FFFD) rather than throw out of
// here, and such a handle then simply comes back missing.
#include "common/protocol.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace sts {

std::string encode_request(const Request& request) {
  std::vector<std::string> handles = request.handles;
  std::sort(handles.begin(), handles.end());
  handles.erase(std::unique(handles.begin(), handles.end()), handles.end());

  // ordered_json keeps "version" first, as SPEC 3 writes it.
  nlohmann::ordered_json out;
  out["version"] = std::string(protocol_version_name(request.version));
  out["secrets"] = std::move(handles);
  if (request.version == ProtocolVersion::v1_1 && request.timeout) {
    // Whole seconds, rounded up: a backend told less than the configured time would give up
    // before stsecrets does.
    const auto ms = std::max<std::chrono::milliseconds::rep>(request.timeout->count(), 1);
    out["secret_backend_timeout"] = ms / 1000 + (ms % 1000 != 0 ? 1 : 0);
  }
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string encode_request(const std::vector<std::string>& handles) {
  Request request;
  request.handles = handles;
  return encode_request(request);
}

}  // namespace sts
