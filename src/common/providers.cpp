// The built-in providers' entry points (backend_source.h): each BackendType that is not an
// executable goes to its own file (providers.h). The switches name every type, so a new type
// that is not wired up is a compiler warning (an error under -Werror), not a silent gap.
#include "common/providers.h"

namespace sts {

std::string provider_label(const Backend& backend) {
  const bool document = backend.type == BackendType::file_json || backend.type == BackendType::file_yaml;
  if (backend.name.empty()) {
    return document ? "secrets document " + backend.provider.path : "backend " + backend.describe();
  }
  return "backend \"" + backend.name + "\" (" + (document ? backend.provider.path : backend.describe()) + ")";
}

std::string provider_prefix(const Backend& backend) {
  return backend.name.empty() ? std::string() : "backend \"" + backend.name + "\": ";
}

std::unique_ptr<Source> make_provider_source(const Backend& backend, const FetcherOptions& options) {
  switch (backend.type) {
    case BackendType::file:
    case BackendType::docker_secrets:
    case BackendType::systemd_credentials: return make_folder_source(backend);
    case BackendType::file_json:
    case BackendType::file_yaml: return make_document_source(backend);
    case BackendType::env: return make_env_source(backend, options);
    case BackendType::executable: break;
  }
  return nullptr;   // executables are make_executable_source's (the router never asks here)
}

ExecutableReport check_provider(const Backend& backend) {
  switch (backend.type) {
    case BackendType::file:
    case BackendType::docker_secrets:
    case BackendType::systemd_credentials: return check_folder_provider(backend);
    case BackendType::file_json:
    case BackendType::file_yaml: return check_document_provider(backend);
    case BackendType::env: return check_env_provider(backend);
    case BackendType::executable: break;
  }
  ExecutableReport r;
  r.error = make_error(Code::internal, "check_provider called for an executable backend");
  return r;
}

}  // namespace sts
