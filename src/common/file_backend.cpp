// The file backend shared by `secret_backend_type: file` and `stsecrets helper read-file`.
//
// Paths: read_file_secret hands the handle to platform::read_beneath (file_io.h), which opens
// it beneath the root race-free (never following a symlink out of the root, refusing what is
// not a regular file without blocking) and reads through that descriptor straight into a
// SecureBuffer. Its messages name the handle (escaped) and the root, never file bytes.
#include "common/file_backend.h"

#include "common/audit.h"
#include "common/file_io.h"
#include "common/text.h"

#include <chrono>
#include <memory>

namespace sts {

Result<SecureBuffer> read_file_secret(const std::string& root, std::string_view handle) {
  return platform::read_beneath(root, handle, kMaxFileSecretBytes);
}

namespace {

class FileFetcher final : public Fetcher {
 public:
  FileFetcher(std::string root, bool strip, std::string audit_file)
      : root_(std::move(root)), strip_(strip), audit_file_(std::move(audit_file)) {}

  Result<FetchResult> fetch(const std::vector<std::string>& handles) override {
    auto started = std::chrono::steady_clock::now();
    FetchResult result;
    for (const auto& h : handles) {
      auto v = read_file_secret(root_, h);
      if (!v) {
        result.failures.emplace(h, std::move(v).error());
        continue;
      }
      SecureBuffer value = std::move(v).value();
      if (strip_) {
        std::size_t n = value.size();
        while (n > 0 && (value.data()[n - 1] == '\n' || value.data()[n - 1] == '\r')) --n;
        value.truncate(n);
      }
      if (value.empty()) {
        result.failures.emplace(h, make_error(Code::handle_value_empty, "secret \"" + sanitize_backend_text(h) +
                                                                           "\": the file under " + root_ + " is empty"));
        continue;
      }
      result.values.emplace(h, std::move(value));
    }
    if (!audit_file_.empty()) {
      AuditRecord rec;
      rec.time = std::chrono::system_clock::now();
      rec.executable = "file:" + root_;
      rec.handles = handles;
      rec.resolved = result.values.size();
      rec.failed = result.failures.size();
      rec.exit_code = 0;
      rec.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
      rec.outcome = "ok";
      // Fail closed: when an audit log is configured, secrets are not released unrecorded.
      auto st = append_audit(audit_file_, rec);
      if (!st) return st.error();
    }
    return result;
  }

 private:
  std::string root_;
  bool strip_;
  std::string audit_file_;
};

}  // namespace

std::unique_ptr<Fetcher> make_file_fetcher(const std::string& root, bool remove_trailing_line_break, std::string audit_file) {
  return std::make_unique<FileFetcher>(root, remove_trailing_line_break, std::move(audit_file));
}

}  // namespace sts
