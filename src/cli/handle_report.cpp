// Handle and failure formatting (handle_report.h).
#include "handle_report.h"

#include "output.h"

namespace sts::cli {

std::string format_uses(const std::vector<HandleUse>& uses) {
  std::string out;
  for (const auto& u : uses) {
    if (!out.empty()) out += ", ";
    out += u.origin + ": " + u.key_path;
  }
  return out;
}

void print_failure(const HandleFailure& failure) {
  std::string line = "handle \"" + failure.handle + "\"";
  if (!failure.uses.empty()) line += " (used at " + format_uses(failure.uses) + ")";
  line += ": " + failure.error.message;
  print_error_line(line);
}

int fail_handles(const std::vector<HandleFailure>& failures) {
  for (const auto& f : failures) print_failure(f);
  return exit_code(failures.empty() ? Code::internal : failures.front().error.code);
}

int fail_all(const std::vector<Error>& errors) {
  for (const auto& e : errors) fail(e);
  return exit_code(errors.empty() ? Code::internal : errors.front().code);
}

std::map<std::string, std::vector<HandleUse>> group_by_handle(const std::vector<HandleUse>& uses) {
  std::map<std::string, std::vector<HandleUse>> out;
  for (const auto& u : uses) out[u.handle].push_back(u);
  return out;
}

}  // namespace sts::cli
