// File: exec_format.h
//
// What the kernel does with a file it is asked to execute, read from an open descriptor, so the
// check can follow what really runs (SPEC 5):
//   - a "#!" line, parsed exactly as Linux's binfmt_script does (BINPRM_BUF_SIZE bytes, spaces
//     and tabs, the interpreter's name, at most one optional argument);
//   - an ELF header: the program interpreter (PT_INTERP, "the loader"), the DT_RPATH and
//     DT_RUNPATH strings of its dynamic section, and the names of the files ld.so loads
//     (DT_NEEDED, DT_FILTER, DT_AUXILIARY, DT_AUDIT, DT_DEPAUDIT).
//
//   auto format = posix::read_exec_format(fd);
//   if (!format) return reject(format.error().message);   // "its ELF program headers lie outside the file"
//   if (format->kind == posix::ExecKind::script) check(format->script.interpreter);
//
// Defensive by construction: 32- and 64-bit, little- and big-endian ELF; every read is a
// bounded pread (so the descriptor's offset stays 0 for the hash and the exec); every offset and
// size is checked against the file size without overflow; the strings of one file are read in
// chunks up to their NUL, at most 64 KiB each and 1 MiB in all; a dynamic section this reader
// could see differently from ld.so (two PT_DYNAMIC, an address that does not match its offset,
// no DT_NULL end) is refused; a malformed header is an error value
// (Code::exec_rejected, a clause without the path: the caller names the file), never a crash.
//
// Thread-safety: pure functions of the descriptor's bytes.
#pragma once

#if defined(_WIN32)
#error "exec_format.h is for POSIX; Windows runs PE files only"
#endif

#include "stsecrets/error.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts::posix {

// Linux's BINPRM_BUF_SIZE: the kernel reads this many bytes to find the #! line.
constexpr std::size_t kBinprmBufSize = 256;

enum class ExecKind {
  script,  // starts with "#!"
  elf,     // starts with "\x7f" "ELF"
  other,   // neither: only a binfmt_misc handler (not checked) could run it
};

struct ScriptLine {
  std::string interpreter;              // as written; may be relative (the caller refuses that)
  std::optional<std::string> argument;  // the one optional argument, inner spaces kept
};

struct ElfFacts {
  int bits = 64;                           // 32 or 64
  bool big_endian = false;
  std::optional<std::string> interpreter;  // PT_INTERP, when present
  std::vector<std::string> rpath;          // DT_RPATH entries, split at ':', in order
  std::vector<std::string> runpath;        // DT_RUNPATH entries, split at ':', in order
  // The files ld.so loads by these names, as written (a name with '/' is a path; ld.so expands
  // $ORIGIN in it). DT_AUDIT and DT_DEPAUDIT are split at ':' and their empty names dropped, as
  // ld.so does; the others are one name per entry. In dynamic-section order.
  std::vector<std::string> needed;     // DT_NEEDED
  std::vector<std::string> filter;     // DT_FILTER
  std::vector<std::string> auxiliary;  // DT_AUXILIARY
  std::vector<std::string> audit;      // DT_AUDIT
  std::vector<std::string> depaudit;   // DT_DEPAUDIT
};

struct ExecFormat {
  ExecKind kind = ExecKind::other;
  ScriptLine script;  // kind == script
  ElfFacts elf;       // kind == elf
};

// Reads the start of the file through `fd` (pread) and parses it.
Result<ExecFormat> read_exec_format(int fd);

// The binfmt_script parse of the first bytes of a file that starts with "#!" (at most
// kBinprmBufSize of them are looked at, as the kernel does). Errors when the kernel would refuse
// the line (ENOEXEC): no interpreter name, or a name cut off by the buffer's end.
Result<ScriptLine> parse_script_line(std::string_view head);

}  // namespace sts::posix
