// The built-in providers' Sources (backend_source.h; SPEC 8): in-process reads, no spawn.
//   file (file.text), docker.secrets, systemd.credentials: one file per key beneath a root,
//   through the race-free read_file_secret (file_backend.h).
#include "common/backend_source.h"

#include "common/file_backend.h"

#include <filesystem>
#include <system_error>

namespace sts {
namespace {

class FileSource final : public Source {
 public:
  explicit FileSource(const Backend& backend) : backend_(backend) {}

  Result<FetchResult> read(const std::vector<std::string>& keys, RunFacts& facts) override {
    if (backend_.provider.root.empty()) {
      return make_error(Code::config_invalid,
                        backend_.type == BackendType::systemd_credentials
                            ? "backend " + backend_.describe() +
                                  ": CREDENTIALS_DIRECTORY is not set; run the agent as a systemd service with "
                                  "LoadCredential= or SetCredential=, or use a file backend"
                            : "backend " + backend_.describe() + ": no root folder is configured");
    }
    FetchResult result;
    for (const auto& key : keys) {
      auto v = read_file_secret(backend_.provider.root, key);
      if (v) {
        result.values.emplace(key, std::move(v).value());
      } else {
        result.failures.emplace(key, std::move(v).error());
      }
    }
    facts.exit_code = 0;
    return result;
  }

 private:
  const Backend& backend_;
};

class UnavailableSource final : public Source {
 public:
  explicit UnavailableSource(const Backend& backend) : backend_(backend) {}
  Result<FetchResult> read(const std::vector<std::string>&, RunFacts&) override {
    return make_error(Code::config_invalid, "backend " + backend_.describe() + ": the type " +
                                                std::string(backend_type_name(backend_.type)) +
                                                " is not available in this build");
  }

 private:
  const Backend& backend_;
};

// The rules of a folder-per-handle provider: an absolute root that exists and is a folder.
ExecutableReport check_root_folder(const Backend& backend) {
  ExecutableReport report;
  const std::string& root = backend.provider.root;
  report.path = root;
  auto fail = [&report](std::string name, std::string detail, std::string fix, std::string message) {
    if (!report.error) report.error = make_error(Code::config_invalid, std::move(message));
    report.rules.push_back(CheckRule{std::move(name), false, std::move(detail), std::move(fix)});
  };
  if (root.empty()) {
    if (backend.type == BackendType::systemd_credentials) {
      fail("credentials folder", "CREDENTIALS_DIRECTORY is not set",
           "run the agent as a systemd service with LoadCredential= or SetCredential=",
           "backend " + backend.describe() + ": CREDENTIALS_DIRECTORY is not set; run the agent as a systemd "
           "service with LoadCredential= or SetCredential=");
    } else {
      fail("root folder", "not set", "set root in the backend's config", "backend " + backend.describe() + ": no root folder is configured");
    }
    return report;
  }
  const std::filesystem::path p(root);
  if (!p.is_absolute()) {
    fail("root folder", "\"" + root + "\" is relative", "set root to an absolute folder",
         "the root folder must be absolute, got \"" + root + "\"");
    return report;
  }
  report.rules.push_back(CheckRule{"root folder", true, "absolute", ""});
  std::error_code ec;
  const auto status = std::filesystem::status(p, ec);
  if (ec || !std::filesystem::exists(status)) {
    fail("root folder exists", root + " does not exist", "create it: mkdir -m 700 " + root,
         "root folder " + root + " does not exist: create it (mkdir -m 700 " + root + ") or correct the setting");
  } else if (!std::filesystem::is_directory(status)) {
    fail("root folder exists", root + " is not a folder", "point root at a folder",
         "root folder " + root + " is not a folder: point it at the folder holding one file per handle");
  } else {
    report.rules.push_back(CheckRule{"root folder exists", true, "folder", ""});
  }
  return report;
}

}  // namespace

ExecutableReport check_provider(const Backend& backend) {
  switch (backend.type) {
    case BackendType::file:
    case BackendType::docker_secrets:
    case BackendType::systemd_credentials: return check_root_folder(backend);
    default: {
      ExecutableReport r;
      r.error = make_error(Code::config_invalid, "backend " + backend.describe() + ": the type " +
                                                     std::string(backend_type_name(backend.type)) +
                                                     " is not available in this build");
      return r;
    }
  }
}

std::unique_ptr<Source> make_provider_source(const Backend& backend, const FetcherOptions&) {
  switch (backend.type) {
    case BackendType::file:
    case BackendType::docker_secrets:
    case BackendType::systemd_credentials: return std::make_unique<FileSource>(backend);
    default: return std::make_unique<UnavailableSource>(backend);
  }
}

}  // namespace sts
