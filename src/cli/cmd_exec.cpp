// `stsecrets exec [--config FILE] [--] COMMAND [ARG...]`: resolve ENC[...] environment values
// with one backend run, then execve(COMMAND). No fork: COMMAND replaces this process, so its
// exit status and signals are what the caller sees, and no stsecrets process lingers.
#include "cli/commands.h"
#include "cli/handle_report.h"
#include "cli/inputs.h"
#include "cli/output.h"

#include "stsecrets/resolver.h"
#include "stsecrets/secure_buffer.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace sts::cli {
namespace {

constexpr OptionSpec kSpecs[] = {{"config", 0, true}, kLogLevelOption, kHelpOption};
constexpr const char* kDefaultPath = "/usr/bin:/bin";

void wipe(std::vector<std::string>& strings) {
  for (auto& s : strings) {
    if (s.capacity() > 0) secure_zero(s.data(), s.capacity());
  }
}

// execve with execvp's PATH search: the operator typed COMMAND, so PATH lookup is expected.
// Returns the errno of the most telling failure (EACCES over ENOENT, as execvp does).
int exec_command(const std::vector<std::string>& argv, char* const* envp, const Environment& caller_env) {
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const std::string& command = argv.front();
  if (command.find('/') != std::string::npos) {
    ::execve(command.c_str(), cargv.data(), envp);
    return errno;
  }
  auto it = caller_env.find("PATH");
  std::string path = it != caller_env.end() ? it->second : kDefaultPath;
  int best = ENOENT;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + command;
    ::execve(candidate.c_str(), cargv.data(), envp);
    int err = errno;
    if (err == EACCES) best = EACCES;
    else if (err != ENOENT && err != ENOTDIR) return err;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return best;
}

}  // namespace

int run_exec(std::span<const std::string> args) {
  auto parsed = parse_args(args, kSpecs, "exec", ParseMode::stop_at_positional);
  if (!parsed) return fail(parsed.error());
  if (auto rc = apply_common_options(*parsed, "exec")) return *rc;
  if (parsed->positionals.empty()) {
    return fail(make_error(Code::usage, "exec needs a COMMAND to run; " + help_hint("exec")));
  }

  const Environment caller_env = current_environment();
  const std::string config_path = main_config_path(*parsed, caller_env);
  auto cfg = load_config_file(config_path, caller_env);
  if (!cfg) return fail(cfg.error());

  Environment env = caller_env;
  std::vector<std::string> entries;
  {
    Resolver resolver(*cfg);
    auto report = resolver.resolve_environment(env, EnvScan::all);
    if (!report) return fail(report.error());
    if (!report->failures.empty()) return fail_handles(report->failures);
    entries.reserve(env.size());
    for (auto& [name, value] : env) {
      std::string entry;
      entry.reserve(name.size() + 1 + value.size());
      entry += name;
      entry += '=';
      entry += value;
      entries.push_back(std::move(entry));
      if (value.capacity() > 0) secure_zero(value.data(), value.capacity());
    }
  }
  std::vector<char*> envp;
  envp.reserve(entries.size() + 1);
  for (auto& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int err = exec_command(parsed->positionals, envp.data(), caller_env);
  // Only reached when COMMAND could not be executed: nothing ran, so the values go.
  wipe(entries);
  return fail(make_error(Code::usage, "cannot execute " + parsed->positionals.front() + ": " + std::strerror(err), err));
}

}  // namespace sts::cli
