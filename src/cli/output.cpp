// Error lines, reports and secret-bearing text for the stsecrets command (output.h).
#include "output.h"

#include "stsecrets/host.h"
#include "stsecrets/logging.h"
#include "stsecrets/secure_buffer.h"

namespace sts::cli {

void print_error_line(std::string_view line) {
  std::string out = "stsecrets: error: ";
  out += escape_controls(redact(line));
  out += '\n';
  (void)write_stderr(out);   // one write keeps the line whole; nowhere left to report a failure
}

int fail(const Error& error) {
  std::string_view rest = error.message;
  if (rest.empty()) rest = code_name(error.code);
  // The library joins several located problems with '\n': one stderr line each.
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    if (!line.empty()) print_error_line(line);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return exit_code(error.code);
}

Status print_report(std::string_view text) { return write_stdout(redact(text)); }

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
