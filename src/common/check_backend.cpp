// sts::check_backend (stsecrets/check.h): the report `stsecrets check` prints. Platform-neutral:
// the executable rules come from check_executable (executable_check_{posix,windows}.cpp); the
// descriptor it opens is closed again here, nothing runs.
//
// Precedence matches make_fetcher: secret_backend_type (the in-process file backend) wins over
// secret_backend_command.
#include "common/executable_check.h"
#include "stsecrets/check.h"

#include <filesystem>
#include <system_error>

namespace sts {

namespace {

ExecutableReport check_file_backend(const BackendConfig& config) {
  ExecutableReport report;
  report.path = config.file_root;
  const std::string& root = config.file_root;
  auto fail = [&report](std::string name, std::string detail, std::string fix, std::string message) {
    if (!report.error) report.error = make_error(Code::config_invalid, std::move(message));
    report.rules.push_back(CheckRule{std::move(name), false, std::move(detail), std::move(fix)});
  };

  if (config.backend_type != "file") {
    fail("backend type", "\"" + config.backend_type + "\" is not a known type",
         "set secret_backend_type to file",
         "secret_backend_type is \"" + config.backend_type + "\": the only built-in type is file");
    return report;
  }
  std::filesystem::path p(root);
  if (root.empty() || !p.is_absolute()) {
    fail("root folder", root.empty() ? "not set" : "\"" + root + "\" is relative",
         "set secret_backend_config.root to an absolute folder",
         "secret_backend_config.root must be an absolute folder, got \"" + root + "\"");
    return report;
  }
  report.rules.push_back(CheckRule{"root folder", true, "absolute", ""});

  std::error_code ec;
  auto status = std::filesystem::status(p, ec);
  if (ec || !std::filesystem::exists(status)) {
    fail("root folder exists", root + " does not exist", "create it: mkdir -m 700 " + root,
         "secret_backend_config.root " + root + " does not exist: create it (mkdir -m 700 " + root +
             ") or correct the setting");
  } else if (!std::filesystem::is_directory(status)) {
    fail("root folder exists", root + " is not a folder", "point secret_backend_config.root at a folder",
         "secret_backend_config.root " + root + " is not a folder: point it at the folder holding one file per handle");
  } else {
    report.rules.push_back(CheckRule{"root folder exists", true, "folder", ""});
  }
  return report;
}

}  // namespace

ExecutableReport check_backend(const BackendConfig& config) {
  if (!config.backend_type.empty()) return check_file_backend(config);
  if (config.command.empty()) {
    ExecutableReport report;
    std::string where = config.source.empty() ? "the main config" : config.source;
    report.error = make_error(Code::config_no_backend,
                              "no secret backend is configured: set secret_backend_command (or secret_backend_type) in " +
                                  where);
    return report;
  }
  ExecutableReport report;
  CheckOptions options{config.command, config.allow_group_exec, config.sha256};
  options.child_path = backend_search_path(config.environment, nullptr);
  auto checked = platform::check_executable(options, &report);
  // The report carries the outcome; the verified descriptor closes here, unused.
  if (!checked && !report.error) report.error = checked.error();
  return report;
}

}  // namespace sts
