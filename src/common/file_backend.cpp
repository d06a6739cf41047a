// The file backend shared by `secret_backend_type: file` and `stsecrets helper read-file`.
//
// Paths: the handle is a relative path under the root. It may not be absolute or contain a ".."
// component, and after resolving symlinks (std::filesystem::canonical) it must still be under
// the canonical root. Reads go through an unbuffered FILE* straight into a SecureBuffer, so no
// stdio or iostream buffer keeps a copy of the value.
#include "common/file_backend.h"

#include "common/text.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

namespace sts {
namespace fs = std::filesystem;

namespace {

// `why` names paths built from the handle, so it is escaped like the handle itself: a handle
// with a control character must not break the one-line error (found by fuzz_request).
Error file_error(Code code, std::string_view handle, const std::string& why) {
  return make_error(code, "secret \"" + sanitize_backend_text(handle) + "\": " + sanitize_backend_text(why));
}

bool is_within(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

}  // namespace

Result<SecureBuffer> read_file_secret(const std::string& root, std::string_view handle) {
  if (handle.empty()) return file_error(Code::handle_backend_error, handle, "empty name");
  if (handle.find('\0') != std::string_view::npos)
    return file_error(Code::handle_backend_error, handle, "name contains a NUL byte");
  fs::path rel{std::string(handle)};
  if (rel.is_absolute() || handle.front() == '/' || handle.front() == '\\')
    return file_error(Code::handle_backend_error, handle, "absolute paths are not allowed; name a file under " + root);
  for (const auto& part : rel) {
    if (part == "..") return file_error(Code::handle_backend_error, handle, "\"..\" is not allowed; name a file under " + root);
  }
  std::error_code ec;
  fs::path canon_root = fs::canonical(root, ec);
  if (ec) return file_error(Code::handle_backend_error, handle, "secrets folder " + root + " is not usable: " + ec.message());
  fs::path joined = canon_root / rel;
  if (!fs::exists(fs::symlink_status(joined, ec)))
    return file_error(Code::handle_missing, handle, "no file " + joined.string());
  fs::path target = fs::canonical(joined, ec);
  if (ec) return file_error(Code::handle_missing, handle, "cannot resolve " + joined.string() + ": " + ec.message());
  if (!is_within(canon_root, target))
    return file_error(Code::handle_backend_error, handle, joined.string() + " leads outside " + canon_root.string() + " (symlink?)");
  auto st = fs::status(target, ec);
  if (ec) return file_error(Code::handle_backend_error, handle, "cannot stat " + target.string() + ": " + ec.message());
  if (fs::is_directory(st)) return file_error(Code::handle_backend_error, handle, target.string() + " is a directory, not a file");
  if (!fs::is_regular_file(st)) return file_error(Code::handle_backend_error, handle, target.string() + " is not a regular file");

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(target.string().c_str(), "rb"), &std::fclose);
  if (!f) return file_error(Code::handle_backend_error, handle, "cannot open " + target.string());
  std::setvbuf(f.get(), nullptr, _IONBF, 0);
  SecureBuffer value;
  value.reserve(4096);
  while (true) {
    if (value.spare_size() == 0) {
      if (value.size() > kMaxFileSecretBytes) break;
      value.reserve(value.size() * 2);
    }
    std::size_t got = std::fread(value.spare(), 1, value.spare_size(), f.get());
    value.commit(got);
    if (got == 0) break;
  }
  if (std::ferror(f.get())) return file_error(Code::handle_backend_error, handle, "cannot read " + target.string());
  if (value.size() > kMaxFileSecretBytes)
    return file_error(Code::handle_backend_error, handle,
                      target.string() + " is larger than " + std::to_string(kMaxFileSecretBytes) + " bytes");
  return value;
}

}  // namespace sts
