// Error lines and raw stdout writes for the stsecrets command (output.h).
#include "cli/output.h"

#include "stsecrets/logging.h"
#include "stsecrets/secure_buffer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace sts::cli {
namespace {

void print_prefixed(std::string_view prefix, std::string_view line) {
  std::string out(prefix);
  out += escape_controls(sts::redact(line));
  out += '\n';
  // stderr is unbuffered; one fwrite keeps the line whole.
  std::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace


void print_error_line(std::string_view line) { print_prefixed("stsecrets: error: ", line); }
void print_warning_line(std::string_view line) { print_prefixed("stsecrets: warning: ", line); }

int fail(const Error& error) {
  std::string_view rest = error.message;
  if (rest.empty()) rest = code_name(error.code);
  // The library joins several located problems with '\n': one stderr line each.
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty()) print_error_line(line);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return exit_code(error.code);
}

Status write_fd(int fd, std::string_view bytes, std::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      return make_error(Code::internal, "cannot write to " + std::string(what) + ": " + std::strerror(err), err);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

Status write_stdout(std::string_view bytes) { return write_fd(STDOUT_FILENO, bytes, "standard output"); }

SecretText::SecretText(SecretText&& other) noexcept : text_(std::move(other.text_)) { other.wipe(); }

SecretText& SecretText::operator=(SecretText&& other) noexcept {
  if (this != &other) {
    wipe();
    text_ = std::move(other.text_);
    other.wipe();
  }
  return *this;
}

SecretText::~SecretText() { wipe(); }

void SecretText::wipe() noexcept {
  // Zero the whole capacity, not just the size: earlier contents may sit beyond size().
  if (text_.capacity() > 0) sts::secure_zero(text_.data(), text_.capacity());
  text_.clear();
}

}  // namespace sts::cli
