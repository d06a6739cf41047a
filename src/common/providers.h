// File: providers.h
//
// The built-in providers of SPEC 8, one file each, behind backend_source.h's two entry points
// (make_provider_source, check_provider in providers.cpp):
//
//   provider_folder.cpp    file (file.text), docker.secrets, systemd.credentials: one file per key
//                          beneath a root folder (platform::read_beneath through read_file_secret)
//   provider_document.cpp  file.json, file.yaml: string leaves of one owner-only document
//                          (platform::read_secret_document, then lookup_json / lookup_yaml)
//   provider_env.cpp       env: the caller's variable named by the key, if in allowed_keys
//
//   std::unique_ptr<Source> s = make_document_source(backend);
//   ExecutableReport r = check_document_provider(backend);
//
// Every message starts with provider_label() or provider_prefix(), so an operator with several
// backends knows which one spoke. No message carries a value.
//
// Thread-safety: the Sources keep no mutable state between reads (backend_source.h).
#pragma once

#include "common/backend_source.h"

#include <memory>
#include <string>

namespace sts {

// `backend "json" (/etc/s.json)` for a named backend, `secrets document /etc/s.json` (or
// `backend file:/srv/secrets`) for the default one: what a per-key message starts with.
std::string provider_label(const Backend& backend);
// `backend "json": ` for a named backend, "" for the default one: prefixed to messages that name
// their file or folder themselves.
std::string provider_prefix(const Backend& backend);

std::unique_ptr<Source> make_folder_source(const Backend& backend);
ExecutableReport check_folder_provider(const Backend& backend);

std::unique_ptr<Source> make_document_source(const Backend& backend);
ExecutableReport check_document_provider(const Backend& backend);

std::unique_ptr<Source> make_env_source(const Backend& backend, const FetcherOptions& options);
ExecutableReport check_env_provider(const Backend& backend);

}  // namespace sts
