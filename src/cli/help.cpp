// Help texts (help.h). Keep docs/cli.md in step with these.
#include "help.h"

namespace sts::cli {
namespace {

constexpr std::string_view kMain = R"(stsecrets - resolve ENC[handle] secrets in StackState Agent configuration
through a checked, sandboxed secret backend.

Usage:
  stsecrets check    [--config FILE] [--fetch] [--json]   audit the backend setup
  stsecrets handles  [--config FILE] [FILE...] [--json]   list handles and where they are used
  stsecrets resolve  [--config FILE] [FILE...] [-o OUT | --output-dir DIR] [--json]
                                                          write configuration with secrets filled in
  stsecrets exec     [--config FILE] -- COMMAND [ARG...]  run COMMAND with ENC[...] variables resolved
  stsecrets helper read-file DIR                          a protocol 1.0 backend reading DIR/handle
  stsecrets backend  [--config FILE]                      act as a secret backend for an agent
  stsecrets help [COMMAND]
  stsecrets --version | --help

Options for every command:
  --config FILE       the main config (default: $STS_CONFIG, else
                      /etc/stackstate-agent/stackstate.yaml); STS_<KEY> variables override its keys
  --log-level LEVEL   trace, debug, info, warn (default), error or off; logs go to stderr, redacted
  -h, --help          help for the command

Exit status:
  0 success   1 internal error, or the system failed (disk full, output not writable)
  2 usage or configuration error   3 rejected by the checks (backend, config or audit file)
  4 the backend run failed   5 one or more handles could not be resolved

Examples:
  stsecrets check --fetch
  stsecrets handles /etc/stackstate-agent/conf.d/*.yaml
  stsecrets resolve conf.d/postgres.yaml -o /run/agent/postgres.yaml
  stsecrets exec -- stackstate-agent run

Run 'stsecrets help COMMAND' for the details of one command.
)";

constexpr std::string_view kCheck = R"(Usage: stsecrets check [--config FILE] [--fetch] [--json]

Audits the secret backends of the main config without running them: the main config file's own
rules, then for each backend (the default one, then every named one) the executable's path,
owner, group, mode and SHA-256, and every rule of the executable check (its interpreter and
loader included) as OK or FAIL with the command that fixes it. A built-in backend reports its
folder or document instead.

  --config FILE   the main config (default: $STS_CONFIG, else /etc/stackstate-agent/stackstate.yaml)
  --fetch         also run each backend once for every handle in the main config and in STS_*
                  variables, and report each handle as OK or FAIL with the cause (never a value)
  --json          print one JSON document (schema 1, see docs/cli.md) instead of text

Exit status: 0 all OK; 2 configuration error or no backend configured; 3 the executable, the
config file or the audit file is rejected; 4 the backend run failed; 5 a handle could not be
fetched.

Examples:
  stsecrets check
  stsecrets check --config ./stackstate.yaml --fetch
)";

constexpr std::string_view kHandles = R"(Usage: stsecrets handles [--config FILE] [FILE...] [--json]

Lists every ENC[handle] in the main config, in each FILE and in STS_<KEY> variables, with the file
(or "environment") and the key path where it is used, e.g. instances[0].password. Runs nothing.
Invalid handles (empty, control characters, longer than 4096 bytes, under a secret_* key) are
reported one per line, with exit status 2.

  --config FILE   the main config (default: $STS_CONFIG, else /etc/stackstate-agent/stackstate.yaml)
  --json          print {"schema":1,"handles":[{"handle":..., "backend":..., "uses":[{"origin":...,
                  "key_path":..., "kind":...}]}]}

Examples:
  stsecrets handles
  stsecrets handles /etc/stackstate-agent/conf.d/*.yaml --json
)";

constexpr std::string_view kResolve = R"(Usage: stsecrets resolve [--config FILE] [FILE...] [-o OUT | --output-dir DIR] [--json]

Resolves the handles of the main config and of every FILE with one backend run, and writes the
resolved documents. If any handle fails, nothing is written: every failed handle is listed with
where it is used and why, and the exit status is 5.

What is written:
  - without FILE, the main config itself; with FILEs, only the FILEs (the main config's handles
    are still resolved, so they are checked too);
  - one document: to stdout, or to OUT with -o;
  - several documents: to DIR with --output-dir, each under its own base name (with --json the
    .yaml/.yml extension becomes .json); two inputs with the same base name are an error.
    Without --output-dir they go to stdout: YAML documents each introduced by '--- # FILE', or
    with --json one JSON object keyed by FILE;
  - files are created 0600 whatever the umask, written to a temporary file and renamed into
    place. An input file is never overwritten. DIR is created (0700) if it does not exist.

Typing: a secret is always a string (double-quoted in YAML). With --json, other plain scalars are
typed by the YAML 1.2 core schema (null, true/false, integers, finite floats); quoted scalars
stay strings; yes/no/on/off stay strings. Comments and anchors are not preserved.
STS_<KEY> variables are not merged into the output (use 'stsecrets exec' for the environment).

  --config FILE       the main config (default: $STS_CONFIG, else /etc/stackstate-agent/stackstate.yaml)
  -o, --output OUT    write the single document to OUT
  --output-dir DIR    write every document to DIR
  --json              write JSON instead of YAML

Examples:
  stsecrets resolve                                        # the main config, to stdout
  stsecrets resolve conf.d/postgres.yaml -o /run/agent/postgres.yaml
  stsecrets resolve conf.d/*.yaml --output-dir /run/agent/conf.d
  stsecrets resolve conf.d/mysql.yaml --json | jq .instances
)";

constexpr std::string_view kExec = R"(Usage: stsecrets exec [--config FILE] [--] COMMAND [ARG...]

Resolves every environment variable whose whole value is ENC[handle] (one backend run), then
replaces itself with COMMAND (found through PATH when it has no '/'), which gets the resolved
values. COMMAND's exit status and signals are its own. If any handle cannot be resolved, COMMAND
is not run and the exit status is 5; if COMMAND does not exist the status is 2, if it exists but
cannot be executed, 1.
Options for stsecrets end at COMMAND or at '--'.

  --config FILE   the main config (default: $STS_CONFIG, else /etc/stackstate-agent/stackstate.yaml)

Examples:
  DB_PASSWORD='ENC[db_password]' stsecrets exec -- ./migrate --apply
  STS_API_KEY='ENC[api_key]' stsecrets exec -- stackstate-agent run
)";

constexpr std::string_view kHelper = R"(Usage: stsecrets helper read-file DIR

A secret backend speaking protocol 1.0 on stdin/stdout: it reads the request
{"version":"1.0","secrets":[...]} (at most 1 MiB) and answers each handle with the contents of
DIR/handle (at most 64 KiB), or a per-handle error for a missing file, a directory, a path that
leaves DIR ('..', absolute paths, symlinks pointing outside), a file that is too large, or bytes
that are not UTF-8. A request of another major version is refused (exit status 2).

Configure it as the backend of the agent, e.g.:
  secret_backend_command: /usr/local/bin/stsecrets
  secret_backend_arguments: [helper, read-file, /etc/stackstate-agent/secrets]

Example:
  echo '{"version":"1.0","secrets":["api_key"]}' | stsecrets helper read-file /etc/stackstate-agent/secrets
)";

constexpr std::string_view kBackend = R"(Usage: stsecrets backend [--config FILE]

Acts as a secret backend for an agent that runs it as its secret_backend_command: reads one
request {"version":"1.0"|"1.1","secrets":[...]} from stdin (at most 1 MiB), resolves every handle
through the main config's default and named backends (each checked and run as 'resolve' does),
and writes one response. A handle that cannot be resolved gets {"value":null,"error":"..."}
(never a value). A malformed request is exit status 2 with nothing on stdout.

Configure the agent (stackstate.yaml or datadog.yaml) with:
  secret_backend_command: /usr/bin/stsecrets
  secret_backend_arguments: [backend, --config, /etc/stackstate-agent/secrets-backends.yaml]

  --config FILE   the config that names the backends (default: $STS_CONFIG, else
                  /etc/stackstate-agent/stackstate.yaml)

Example:
  echo '{"version":"1.0","secrets":["db;password"]}' | stsecrets backend --config backends.yaml
)";

}  // namespace

std::string_view main_help() { return kMain; }

std::optional<std::string_view> command_help(std::string_view command) {
  if (command == "check") return kCheck;
  if (command == "handles") return kHandles;
  if (command == "resolve") return kResolve;
  if (command == "exec") return kExec;
  if (command == "helper") return kHelper;
  if (command == "backend") return kBackend;
  return std::nullopt;
}

}  // namespace sts::cli
