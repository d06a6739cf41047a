// `stsecrets helper read-file DIR`: a protocol 1.0 backend. The request is parsed by the
// library's request parser; each handle is read by the same function as the built-in file
// backend (sts::read_file_secret); the response is written by hand into a SecureBuffer so no
// copy of a value is left in ordinary memory, then zeroed.
#include "cli/commands.h"
#include "common/text.h"
#include "cli/output.h"

#include "common/file_backend.h"
#include "common/protocol.h"
#include "stsecrets/secure_buffer.h"

#include <cerrno>
#include <csignal>
#include <set>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace sts::cli {
namespace {

constexpr OptionSpec kSpecs[] = {kLogLevelOption, kHelpOption};

Result<std::string> read_request() {
  std::string bytes;
  char chunk[16384];
  while (true) {
    ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      return make_error(Code::internal, std::string("cannot read the request from standard input: ") + std::strerror(err), err);
    }
    if (n == 0) break;
    bytes.append(chunk, static_cast<std::size_t>(n));
    if (bytes.size() > kMaxRequestBytes) {
      return make_error(Code::request_invalid, "the request on standard input is larger than " +
                                         std::to_string(kMaxRequestBytes) + " bytes");
    }
  }
  return bytes;
}

void append_value(SecureBuffer& out, std::string_view value) {
  out.append("{\"value\":");
  append_json_string(out, value);
  out.append("}");
}

void append_error(SecureBuffer& out, std::string_view message) {
  out.append("{\"value\":null,\"error\":");
  append_json_string(out, message);
  out.append("}");
}

int read_file(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    int err = errno;
    return fail(make_error(Code::usage, "secrets folder " + dir + ": " + std::strerror(err), err));
  }
  if (!S_ISDIR(st.st_mode)) return fail(make_error(Code::usage, "secrets folder " + dir + " is not a directory"));

  auto request = read_request();
  if (!request) return fail(request.error());
  auto parsed = validate_request(*request);
  if (!parsed) return fail(parsed.error());

  SecureBuffer out;
  out.append("{");
  bool first = true;
  std::set<std::string_view> answered;   // a repeated handle is answered once: no duplicate keys
  for (const auto& handle : parsed->handles) {
    if (!answered.insert(handle).second) continue;
    if (!first) out.append(",");
    first = false;
    append_json_string(out, handle);
    out.append(":");
    auto value = read_file_secret(dir, handle);
    if (!value) {
      append_error(out, value.error().message);
    } else if (!valid_utf8(value->view())) {
      append_error(out, "secret \"" + handle + "\": the file is not valid UTF-8");
    } else {
      append_value(out, value->view());
    }
  }
  out.append("}\n");
  auto written = write_stdout(out.view());
  out.release();
  if (!written) return fail(written.error());
  return 0;
}

}  // namespace

int run_helper(std::span<const std::string> args) {
  auto parsed = parse_args(args, kSpecs, "helper", ParseMode::options_anywhere);
  if (!parsed) return fail(parsed.error());
  if (auto rc = apply_common_options(*parsed, "helper")) return *rc;
  const auto& pos = parsed->positionals;
  if (pos.empty()) return fail(make_error(Code::usage, "helper needs a subcommand: read-file DIR; " + help_hint("helper")));
  if (pos[0] != "read-file") {
    return fail(make_error(Code::usage, "unknown helper '" + pos[0] + "': the only helper is read-file DIR; " +
                                            help_hint("helper")));
  }
  if (pos.size() < 2) return fail(make_error(Code::usage, "helper read-file needs DIR; " + help_hint("helper")));
  if (pos.size() > 2) return fail(unexpected_argument("helper", pos[2]));
  // A caller that stops reading gets EPIPE reported, not a silent SIGPIPE death.
  std::signal(SIGPIPE, SIG_IGN);
  return read_file(pos[1]);
}

}  // namespace sts::cli
