// Stable names of error codes (audit records, --json output).
#include "stsecrets/error.h"

namespace sts {

const char* code_name(Code c) noexcept {
  switch (c) {
    case Code::internal: return "internal";
    case Code::io_failed: return "io_failed";
    case Code::usage: return "usage";
    case Code::config_invalid: return "config_invalid";
    case Code::config_unreadable: return "config_unreadable";
    case Code::config_no_backend: return "config_no_backend";
    case Code::handle_invalid: return "handle_invalid";
    case Code::backend_unknown: return "backend_unknown";
    case Code::request_invalid: return "request_invalid";
    case Code::exec_rejected: return "exec_rejected";
    case Code::config_insecure: return "config_insecure";
    case Code::spawn_failed: return "spawn_failed";
    case Code::backend_exit: return "backend_exit";
    case Code::backend_signal: return "backend_signal";
    case Code::backend_timeout: return "backend_timeout";
    case Code::output_too_large: return "output_too_large";
    case Code::response_not_json: return "response_not_json";
    case Code::response_not_object: return "response_not_object";
    case Code::response_bad_utf8: return "response_bad_utf8";
    case Code::response_duplicate_key: return "response_duplicate_key";
    case Code::response_too_deep: return "response_too_deep";
    case Code::handle_missing: return "handle_missing";
    case Code::handle_backend_error: return "handle_backend_error";
    case Code::handle_value_empty: return "handle_value_empty";
    case Code::handle_value_not_string: return "handle_value_not_string";
    case Code::handle_value_invalid: return "handle_value_invalid";
  }
  return "internal";
}

}  // namespace sts
