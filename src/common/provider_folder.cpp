// The folder providers (providers.h): file (alias file.text), docker.secrets (root /run/secrets
// by default) and systemd.credentials (root $CREDENTIALS_DIRECTORY, taken from the environment
// the config was loaded with). A key is a file name beneath the root; the read is
// read_file_secret (file_backend.h: race-free beneath the root, capped, into secure memory).
#include "common/providers.h"

#include "common/file_backend.h"
#include "common/secret_document.h"
#include "common/platform_names.h"
#include "common/text.h"

#include <filesystem>

namespace sts {
namespace {

// "" when the root is usable, else why not (and the fix).
std::string root_problem(const Backend& backend) {
  const std::string& root = backend.provider.root;
  if (root.empty()) {
    return backend.type == BackendType::systemd_credentials
               ? "CREDENTIALS_DIRECTORY is not set: run the agent as a systemd service with LoadCredential= "
                 "or SetCredential= (systemd 247 or later), or use a file backend"
               : "no root folder is configured: set root in the backend's config";
  }
  if (!platform::is_absolute_path(root)) {
    return "the root folder must be an absolute path, got \"" + quote_text(root, 256) + "\"";
  }
  return {};
}

class FolderSource final : public Source {
 public:
  explicit FolderSource(const Backend& backend) : backend_(backend) {}

  Result<FetchResult> read(const std::vector<std::string>& keys, RunFacts& facts) override {
    if (const std::string problem = root_problem(backend_); !problem.empty()) {
      return make_error(Code::config_invalid, provider_label(backend_) + ": " + problem);
    }
    FetchResult result;
    for (const auto& key : keys) {
      auto v = read_file_secret(backend_.provider.root, key);
      if (v) {
        result.values.emplace(key, std::move(v).value());
        continue;
      }
      // The default backend keeps read_file_secret's message as it is (it names the file);
      // a named one says which backend spoke.
      Error e = std::move(v).error();
      e.message = provider_prefix(backend_) + e.message;
      result.failures.emplace(key, std::move(e));
    }
    facts.exit_code = 0;
    return result;
  }

 private:
  const Backend& backend_;
};

}  // namespace

std::unique_ptr<Source> make_folder_source(const Backend& backend) { return std::make_unique<FolderSource>(backend); }

ExecutableReport check_folder_provider(const Backend& backend) {
  ExecutableReport report;
  report.path = backend.provider.root;
  if (const std::string problem = root_problem(backend); !problem.empty()) {
    const bool systemd = backend.type == BackendType::systemd_credentials && backend.provider.root.empty();
    report.rules.push_back(CheckRule{systemd ? "credentials folder" : "root folder", false,
                                     systemd ? "CREDENTIALS_DIRECTORY is not set" : problem,
                                     systemd ? "run the agent as a systemd service with LoadCredential= or SetCredential="
                                             : "set root to an absolute folder"});
    report.error = make_error(Code::config_invalid, provider_label(backend) + ": " + problem);
    return report;
  }
  report.rules.push_back(CheckRule{"root folder", true, "absolute", ""});
  platform::inspect_secret_folder(backend.provider.root, report);
  if (report.error) report.error->message = provider_prefix(backend) + report.error->message;
  return report;
}

}  // namespace sts
