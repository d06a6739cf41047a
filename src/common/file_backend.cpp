// The file backend shared by `secret_backend_type: file` and `stsecrets helper read-file`.
//
// Paths: read_file_secret hands the handle to platform::read_beneath (file_io.h), which opens
// it beneath the root race-free (never following a symlink out of the root, refusing what is
// not a regular file without blocking) and reads through that descriptor straight into a
// SecureBuffer. Its messages name the handle (escaped) and the root, never file bytes.
#include "common/file_backend.h"

#include "common/file_io.h"
#include "common/text.h"

#include <memory>

namespace sts {

Result<SecureBuffer> read_file_secret(const std::string& root, std::string_view handle) {
  return platform::read_beneath(root, handle, kMaxFileSecretBytes);
}

}  // namespace sts
