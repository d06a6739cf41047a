// File: stsecrets/serve.h
//
// The pipe entered from the protocol side (SPEC 8): one backend request in, one response out.
// `stsecrets backend` and `stsecrets helper read-file` are this function with a config around it;
// an agent that wants to answer its own backend protocol can call it too.
//
//   auto response = sts::answer_request(request_bytes, resolver);
//   if (!response) return exit_code(response.error().code);   // a bad request: Code::request_invalid
//   sts::write_stdout(response->view());
//
// Every handle of the request is resolved through the resolver's backends in one go (one run per
// backend). A handle that fails gets {"value": null, "error": "<why>"}: the reason is one line,
// escaped, redacted, never a value. When a single backend's whole run fails, every handle it
// serves carries that error. The response is built in secure memory only.
//
// Thread-safety: as the Resolver.
#pragma once

#include "stsecrets/error.h"
#include "stsecrets/resolver.h"
#include "stsecrets/secure_buffer.h"

#include <cstddef>
#include <string_view>

namespace sts {

// The largest request read from standard input.
constexpr std::size_t kMaxRequestBytes = 1024 * 1024;

Result<SecureBuffer> answer_request(std::string_view request, Resolver& resolver);

}  // namespace sts
