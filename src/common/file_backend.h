// File: file_backend.h
//
// The file backend: a handle is the name of a file under a root folder. Shared by the built-in
// file providers (providers.cpp) and `stsecrets helper read-file DIR`.
//
// Rules (SPEC 7): reads ROOT/handle, at most 64 KiB; per-handle errors for a missing file, a
// directory, a path that leaves ROOT (`..`, absolute, a symlink pointing outside) and a file that
// is too large. The value goes straight into a SecureBuffer.
//
// Thread-safety: pure functions of the file system.
#pragma once

#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"
#include "stsecrets/secure_buffer.h"

#include <memory>
#include <string>
#include <string_view>

namespace sts {

constexpr std::size_t kMaxFileSecretBytes = 64 * 1024;

// Errors: Code::handle_missing (no such file), Code::handle_backend_error (directory, escapes
// the root, too large, unreadable), each message naming the handle and the cause.
Result<SecureBuffer> read_file_secret(const std::string& root, std::string_view handle);

}  // namespace sts
