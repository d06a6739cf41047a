// `stsecrets backend [--config FILE]` and `stsecrets helper read-file DIR`: the protocol side of
// the pipe (SPEC 8). Both read one request from stdin and answer it with sts::answer_request
// through a Resolver: `backend` over the main config's backends, `helper read-file DIR` over a
// single built-in file backend rooted at DIR. A bad request is exit 2 with nothing on stdout.
#include "commands.h"
#include "output.h"

#include "stsecrets/host.h"
#include "stsecrets/resolver.h"
#include "stsecrets/serve.h"

#include <filesystem>

namespace sts::cli {
namespace {

constexpr OptionSpec kBackendSpecs[] = {{"config", 0, true}, kLogLevelOption, kHelpOption};
constexpr OptionSpec kHelperSpecs[] = {kLogLevelOption, kHelpOption};

int answer(const Config& cfg) {
  auto request = read_stdin(kMaxRequestBytes);
  if (!request) return fail(request.error());
  Resolver resolver(cfg, one_shot());
  auto response = answer_request(*request, resolver);
  if (!response) return fail(response.error());
  auto written = write_stdout(response->view());
  response->release();
  return written ? 0 : fail(written.error());
}

}  // namespace

int run_serve(std::span<const std::string> args) {
  auto parsed = parse_args(args, kBackendSpecs, "backend", ParseMode::options_anywhere);
  if (!parsed) return fail(parsed.error());
  if (auto rc = apply_common_options(*parsed, "backend")) return *rc;
  if (!parsed->positionals.empty()) return fail(unexpected_argument("backend", parsed->positionals.front()));
  const Environment env = current_environment();
  auto cfg = load_config_file(config_path(*parsed, env), env);
  if (!cfg) return fail(cfg.error());
  return answer(*cfg);
}

int run_helper(std::span<const std::string> args) {
  auto parsed = parse_args(args, kHelperSpecs, "helper", ParseMode::options_anywhere);
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
  std::error_code ec;
  // UTF-8 paths (host.h): fs::path(std::string) is the ANSI code page on Windows.
  const std::filesystem::path root = std::filesystem::absolute(path_from_utf8(pos[1]), ec);
  const std::string dir = path_to_utf8(root);
  const auto status = std::filesystem::status(root, ec);
  if (ec) return fail(make_error(Code::usage, "secrets folder " + pos[1] + ": " + ec.message(), ec.value()));
  if (!std::filesystem::is_directory(status)) {
    return fail(make_error(Code::usage, "secrets folder " + pos[1] + " is not a directory"));
  }
  Config cfg;
  Backend files;
  files.type = BackendType::file;
  files.provider.root = dir;
  files.where = "helper read-file";
  cfg.default_backend = std::move(files);
  return answer(cfg);
}

}  // namespace sts::cli
