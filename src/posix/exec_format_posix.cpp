// The #! and ELF readers of exec_format.h.
//
// The #! parse follows fs/binfmt_script.c (Linux 5.1 and later) step by step, on a zero-padded
// copy of the first BINPRM_BUF_SIZE bytes, so the interpreter we check is the one the kernel
// opens. The ELF reader takes from the file only what the kernel and ld.so act on: PT_INTERP
// (the first one, as binfmt_elf does), the DT_RPATH / DT_RUNPATH strings and the names of the
// files ld.so loads (DT_NEEDED, DT_FILTER, DT_AUXILIARY, DT_AUDIT, DT_DEPAUDIT), found through
// DT_STRTAB mapped back to a file offset by the PT_LOAD segments.
#if defined(_WIN32)
#error "exec_format_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "posix/exec_format.h"

#include "common/text.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <utility>

namespace sts::posix {
namespace {

// Bounds on what is read, far above any real executable's needs (the kernel itself refuses
// program header tables over 64 KiB).
constexpr std::uint64_t kMaxProgramHeaderBytes = 64 * 1024;
constexpr std::uint64_t kMaxDynamicBytes = 1024 * 1024;
constexpr std::uint64_t kMaxStringBytes = 64 * 1024;      // one string
constexpr std::uint64_t kMaxStringsBytes = 1024 * 1024;   // all the strings of one file
constexpr std::uint64_t kMaxInterpBytes = PATH_MAX;  // binfmt_elf: p_filesz > PATH_MAX is ENOEXEC

// ELF constants (elf.h spelled out, so the reader does not depend on the host's elf.h).
constexpr unsigned char kElfClass32 = 1, kElfClass64 = 2;
constexpr unsigned char kElfData2Lsb = 1, kElfData2Msb = 2;
constexpr std::uint16_t kEtExec = 2, kEtDyn = 3;
constexpr std::uint32_t kPtLoad = 1, kPtDynamic = 2, kPtInterp = 3;
constexpr std::uint64_t kDtNull = 0, kDtNeeded = 1, kDtStrtab = 5, kDtStrsz = 10, kDtRpath = 15, kDtRunpath = 29;
constexpr std::uint64_t kDtDepaudit = 0x6ffffefb, kDtAudit = 0x6ffffefc, kDtAuxiliary = 0x7ffffffd, kDtFilter = 0x7fffffff;

Error malformed(std::string reason, int os_error = 0) {
  return make_error(Code::exec_rejected, std::move(reason), os_error);
}

// ---- #! (binfmt_script) ----------------------------------------------------------------------

bool spacetab(char c) { return c == ' ' || c == '\t'; }

// First byte in [first, last] (inclusive, as the kernel's helpers) that is not a space or tab.
const char* next_non_spacetab(const char* first, const char* last) {
  for (; first <= last; ++first) {
    if (!spacetab(*first)) return first;
  }
  return nullptr;
}

// First byte in [first, last] that is a space, a tab or NUL.
const char* next_terminator(const char* first, const char* last) {
  for (; first <= last; ++first) {
    if (spacetab(*first) || *first == '\0') return first;
  }
  return nullptr;
}

// The kernel's strnchr(buf, size, '\n'): like memchr, but it stops at the first NUL.
const char* kernel_strnchr_newline(const char* s, std::size_t count) {
  for (; count > 0 && *s != '\0'; --count, ++s) {
    if (*s == '\n') return s;
  }
  return nullptr;
}

// The C string at `from`, cut at `end` (the kernel writes a NUL there before copying).
std::string c_string(const char* from, const char* end) {
  const char* nul = static_cast<const char*>(std::memchr(from, '\0', static_cast<std::size_t>(end - from)));
  return std::string(from, nul != nullptr ? nul : end);
}

// ---- ELF -----------------------------------------------------------------------------------

// Bounded positioned reads from the descriptor; the size is fixed when the reader is made.
class FileBytes {
 public:
  FileBytes(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  std::uint64_t size() const { return size_; }
  // True when [offset, offset + length) lies inside the file (overflow-safe).
  bool inside(std::uint64_t offset, std::uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }
  // Reads exactly `length` bytes at `offset`; the caller checked inside() and the length cap.
  Result<std::string> read(std::uint64_t offset, std::uint64_t length) const {
    std::string out(static_cast<std::size_t>(length), '\0');
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return malformed("cannot be read: " + errno_text(errno), errno);
      if (n == 0) return malformed("ended while being read (it is being changed)");
      done += static_cast<std::size_t>(n);
    }
    return out;
  }

 private:
  int fd_;
  std::uint64_t size_;
};

// Integers of either byte order out of a header buffer; the caller sized the buffer.
class Decoder {
 public:
  Decoder(const std::string& bytes, bool big_endian) : bytes_(bytes), big_(big_endian) {}
  std::uint64_t uint(std::size_t at, std::size_t width) const {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      const auto b = static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[at + (big_ ? i : width - 1 - i)]));
      v = (v << 8) | b;
    }
    return v;
  }

 private:
  const std::string& bytes_;
  bool big_;
};

// The dynamic-section strings the reader keeps: the search paths and every name of a file ld.so
// loads (rules as data: tag, its name in messages, how ld.so splits it, where it goes).
enum class Split { none, keep_empty, drop_empty };
struct NameTag {
  std::uint64_t tag;
  const char* name;
  Split split;
  std::vector<std::string> ElfFacts::*out;
};
constexpr std::array<NameTag, 7> kNameTags{{
    {kDtRpath, "DT_RPATH", Split::keep_empty, &ElfFacts::rpath},
    {kDtRunpath, "DT_RUNPATH", Split::keep_empty, &ElfFacts::runpath},
    {kDtNeeded, "DT_NEEDED", Split::none, &ElfFacts::needed},
    {kDtFilter, "DT_FILTER", Split::none, &ElfFacts::filter},
    {kDtAuxiliary, "DT_AUXILIARY", Split::none, &ElfFacts::auxiliary},
    {kDtAudit, "DT_AUDIT", Split::drop_empty, &ElfFacts::audit},
    {kDtDepaudit, "DT_DEPAUDIT", Split::drop_empty, &ElfFacts::depaudit},
}};

// A file offset found through the PT_LOAD segments, and how many bytes of that segment the file
// holds from there on.
struct Mapped {
  std::uint64_t offset = 0, remaining = 0;
};

struct Segment {
  std::uint32_t type = 0;
  std::uint64_t offset = 0, vaddr = 0, filesz = 0;
};

// The fields of the ELF header the reader needs, per class.
struct Layout {
  std::size_t header_size, phoff_at, phoff_width, phentsize_at, phnum_at, phentsize;
  std::size_t p_offset_at, p_vaddr_at, p_filesz_at, word;  // program header fields; word: 4 or 8
};
constexpr Layout kLayout32{52, 28, 4, 42, 44, 32, 4, 8, 16, 4};
constexpr Layout kLayout64{64, 32, 8, 54, 56, 56, 8, 16, 32, 8};

class ElfReader {
 public:
  explicit ElfReader(const FileBytes& file) : file_(file) {}

  Result<ElfFacts> run() {
    if (auto st = read_header(); !st) return st.error();
    if (auto st = read_segments(); !st) return st.error();
    if (auto st = read_interpreter(); !st) return st.error();
    if (auto st = read_dynamic(); !st) return st.error();
    return facts_;
  }

 private:
  Status read_header() {
    if (!file_.inside(0, 16)) return malformed("its ELF header is cut short");
    auto ident = file_.read(0, 16);
    if (!ident) return ident.error();
    const auto cls = static_cast<unsigned char>((*ident)[4]);
    const auto data = static_cast<unsigned char>((*ident)[5]);
    if (cls != kElfClass32 && cls != kElfClass64) return malformed("its ELF class " + std::to_string(cls) + " is neither 32- nor 64-bit");
    if (data != kElfData2Lsb && data != kElfData2Msb) return malformed("its ELF byte order " + std::to_string(data) + " is unknown");
    facts_.bits = cls == kElfClass32 ? 32 : 64;
    facts_.big_endian = data == kElfData2Msb;
    layout_ = cls == kElfClass32 ? &kLayout32 : &kLayout64;
    if (!file_.inside(0, layout_->header_size)) return malformed("its ELF header is cut short");
    auto header = file_.read(0, layout_->header_size);
    if (!header) return header.error();
    Decoder d(*header, facts_.big_endian);
    const auto type = static_cast<std::uint16_t>(d.uint(16, 2));
    if (type != kEtExec && type != kEtDyn) {
      return malformed("it is an ELF file of type " + std::to_string(type) + ", not an executable");
    }
    phoff_ = d.uint(layout_->phoff_at, layout_->phoff_width);
    phentsize_ = d.uint(layout_->phentsize_at, 2);
    phnum_ = d.uint(layout_->phnum_at, 2);
    return ok();
  }

  Status read_segments() {
    if (phentsize_ != layout_->phentsize) {
      return malformed("its ELF program header size " + std::to_string(phentsize_) + " is not " +
                       std::to_string(layout_->phentsize));
    }
    const std::uint64_t bytes = phnum_ * phentsize_;
    if (phnum_ == 0 || bytes > kMaxProgramHeaderBytes) {
      return malformed("its ELF program header table has " + std::to_string(phnum_) + " entries (the kernel refuses it)");
    }
    if (!file_.inside(phoff_, bytes)) return malformed("its ELF program headers lie outside the file");
    auto table = file_.read(phoff_, bytes);
    if (!table) return table.error();
    Decoder d(*table, facts_.big_endian);
    for (std::uint64_t i = 0; i < phnum_; ++i) {
      const auto at = static_cast<std::size_t>(i * phentsize_);
      Segment s;
      s.type = static_cast<std::uint32_t>(d.uint(at, 4));
      s.offset = d.uint(at + layout_->p_offset_at, layout_->word);
      s.vaddr = d.uint(at + layout_->p_vaddr_at, layout_->word);
      s.filesz = d.uint(at + layout_->p_filesz_at, layout_->word);
      segments_.push_back(s);
    }
    return ok();
  }

  Status read_interpreter() {
    for (const Segment& s : segments_) {
      if (s.type != kPtInterp) continue;
      // binfmt_elf: 2 <= p_filesz <= PATH_MAX, NUL-terminated; only the first PT_INTERP counts.
      if (s.filesz < 2 || s.filesz > kMaxInterpBytes) {
        return malformed("its ELF program interpreter entry has " + std::to_string(s.filesz) + " bytes (the kernel refuses it)");
      }
      if (!file_.inside(s.offset, s.filesz)) return malformed("its ELF program interpreter lies outside the file");
      auto bytes = file_.read(s.offset, s.filesz);
      if (!bytes) return bytes.error();
      if (bytes->back() != '\0') return malformed("its ELF program interpreter is not NUL-terminated (the kernel refuses it)");
      std::string name = bytes->substr(0, bytes->find('\0'));
      if (name.empty()) return malformed("its ELF program interpreter is empty");
      facts_.interpreter = std::move(name);
      return ok();
    }
    return ok();
  }

  // Virtual address -> file offset through the PT_LOAD segments, with the bytes of that segment
  // from there on that the file holds.
  std::optional<Mapped> file_offset(std::uint64_t vaddr) const {
    for (const Segment& s : segments_) {
      if (s.type != kPtLoad || vaddr < s.vaddr || vaddr - s.vaddr >= s.filesz) continue;
      const std::uint64_t offset = s.offset + (vaddr - s.vaddr);
      if (offset < s.offset || offset >= file_.size()) return std::nullopt;  // wrapped, or past the end
      return Mapped{offset, std::min(s.filesz - (vaddr - s.vaddr), file_.size() - offset)};
    }
    return std::nullopt;
  }

  // PT_DYNAMIC as ld.so finds it: ld.so reads the section from memory (p_vaddr) and the last
  // PT_DYNAMIC wins, this reader reads the file (p_offset) and would take the first, so a file
  // with two, or whose address and offset disagree, could show this check other names than the
  // ones ld.so loads: refused.
  Result<const Segment*> find_dynamic() const {
    const Segment* dyn = nullptr;
    std::size_t count = 0;
    for (const Segment& s : segments_) {
      if (s.type != kPtDynamic) continue;
      if (dyn == nullptr) dyn = &s;
      ++count;
    }
    if (count > 1) {
      return malformed("its ELF program headers hold " + std::to_string(count) +
                       " PT_DYNAMIC segments (ld.so reads only the last one)");
    }
    if (dyn == nullptr) return dyn;
    if (dyn->filesz > kMaxDynamicBytes) return malformed("its ELF dynamic section is larger than 1 MiB");
    if (!file_.inside(dyn->offset, dyn->filesz)) return malformed("its ELF dynamic section lies outside the file");
    auto mapped = file_offset(dyn->vaddr);
    if (!mapped) return malformed("its ELF dynamic section lies outside the file's loaded segments");
    if (mapped->offset != dyn->offset) return malformed("its ELF dynamic section's address does not match its file offset");
    if (dyn->filesz > mapped->remaining) return malformed("its ELF dynamic section lies outside the file's loaded segments");
    return dyn;
  }

  Status read_dynamic() {
    auto found = find_dynamic();
    if (!found) return found.error();
    const Segment* dyn = *found;
    if (dyn == nullptr) return ok();
    auto bytes = file_.read(dyn->offset, dyn->filesz);
    if (!bytes) return bytes.error();
    Decoder d(*bytes, facts_.big_endian);
    const std::size_t entry = 2 * layout_->word;
    std::optional<std::uint64_t> strtab, strsz;  // the last of each counts, as in ld.so
    std::vector<std::pair<const NameTag*, std::uint64_t>> names;
    bool ended = false;
    for (std::size_t at = 0; at + entry <= bytes->size(); at += entry) {
      const std::uint64_t tag = d.uint(at, layout_->word);
      const std::uint64_t val = d.uint(at + layout_->word, layout_->word);
      if (tag == kDtNull) { ended = true; break; }
      if (tag == kDtStrtab) strtab = val;
      if (tag == kDtStrsz) strsz = val;
      for (const NameTag& t : kNameTags) {
        if (t.tag == tag) names.emplace_back(&t, val);
      }
    }
    // ld.so reads entries until DT_NULL, past the segment's end if need be.
    if (!ended) return malformed("its ELF dynamic section has no DT_NULL end");
    if (names.empty()) return ok();
    if (!strtab) return malformed("its ELF dynamic section has names but no string table");
    auto table = file_offset(*strtab);
    if (!table) return malformed("its ELF string table lies outside the file's loaded segments");
    for (const auto& [t, off] : names) {
      auto text = read_string(*table, off, strsz, t->name);
      if (!text) return text.error();
      split(*text, t->split, facts_.*(t->out));
    }
    return ok();
  }

  // A string of the table at `table`, read in growing chunks up to its NUL: names are short, the
  // table may be megabytes, and all the reads of one file together stay under kMaxStringsBytes.
  Result<std::string> read_string(const Mapped& table, std::uint64_t off, std::optional<std::uint64_t> strsz,
                                  const char* tag) {
    const std::string what = std::string("its ELF ") + tag + " entry";
    if ((strsz && off >= *strsz) || off >= table.remaining) return malformed(what + " lies outside the string table");
    std::uint64_t limit = table.remaining - off;
    std::string reason = "the string table's loaded segment";
    if (strsz && *strsz - off <= limit) {
      limit = *strsz - off;
      reason = "the string table";
    }
    if (limit > kMaxStringBytes) {
      limit = kMaxStringBytes;
      reason = "64 KiB";
    }
    std::string out;
    for (std::uint64_t chunk = 256; out.size() < limit; chunk *= 2) {
      const std::uint64_t length = std::min<std::uint64_t>(chunk, limit - out.size());
      strings_read_ += length;
      if (strings_read_ > kMaxStringsBytes) return malformed("its ELF dynamic section's strings take more than 1 MiB to read");
      auto bytes = file_.read(table.offset + off + out.size(), length);
      if (!bytes) return bytes.error();
      const std::size_t nul = bytes->find('\0');
      out += bytes->substr(0, nul);
      if (nul != std::string::npos) return out;
    }
    return malformed(what + " is not NUL-terminated within " + reason);
  }

  // Search paths: split at ':', empty entries kept (they mean the working directory). Audit
  // lists: split at ':', empty names dropped (ld.so skips them). Others: one name.
  static void split(const std::string& text, Split how, std::vector<std::string>& out) {
    if (how == Split::none) {
      out.push_back(text);
      return;
    }
    std::size_t start = 0;
    for (;;) {
      const std::size_t colon = text.find(':', start);
      std::string part = text.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (how == Split::keep_empty || !part.empty()) out.push_back(std::move(part));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }

  const FileBytes& file_;
  const Layout* layout_ = &kLayout64;
  std::uint64_t phoff_ = 0, phentsize_ = 0, phnum_ = 0;
  std::vector<Segment> segments_;
  std::uint64_t strings_read_ = 0;
  ElfFacts facts_;
};

}  // namespace

Result<ScriptLine> parse_script_line(std::string_view head) {
  // The kernel's buffer: zero-padded when the file is shorter (prepare_binprm).
  std::array<char, kBinprmBufSize> buf{};
  std::memcpy(buf.data(), head.data(), std::min(head.size(), buf.size()));
  const char* const begin = buf.data();
  const char* const buf_end = begin + buf.size() - 1;

  // Either a newline ends the line (nothing is truncated), or a space/tab/NUL must follow the
  // interpreter's name inside the buffer: the kernel never runs a truncated name.
  const char* i_end = kernel_strnchr_newline(begin, buf.size());
  if (i_end == nullptr) {
    i_end = next_non_spacetab(begin + 2, buf_end);
    if (i_end == nullptr) return malformed("its #! line is blank (the kernel refuses it)");
    if (next_terminator(i_end, buf_end) == nullptr) {
      return malformed("its #! line is longer than " + std::to_string(kBinprmBufSize - 1) +
                       " bytes and cuts the interpreter's name off (the kernel refuses it)");
    }
    i_end = buf_end;
  }
  while (spacetab(i_end[-1])) --i_end;  // begin[1] is '!', so this stops

  const char* i_name = next_non_spacetab(begin + 2, i_end);
  if (i_name == nullptr || i_name == i_end) return malformed("its #! line names no interpreter (the kernel refuses it)");
  const char* i_sep = next_terminator(i_name, i_end);
  const char* i_arg = nullptr;
  if (i_sep != nullptr && *i_sep != '\0') i_arg = next_non_spacetab(i_sep, i_end);

  ScriptLine line;
  line.interpreter = c_string(i_name, i_sep != nullptr ? i_sep : i_end);
  if (i_arg != nullptr && i_arg < i_end) line.argument = c_string(i_arg, i_end);
  return line;
}

Result<ExecFormat> read_exec_format(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return malformed("cannot be examined: " + errno_text(errno), errno);
  const FileBytes file(fd, st.st_size > 0 ? static_cast<std::uint64_t>(st.st_size) : 0);

  ExecFormat out;
  const std::uint64_t head_size = std::min<std::uint64_t>(file.size(), kBinprmBufSize);
  auto head = file.read(0, head_size);
  if (!head) return head.error();
  if (head->size() >= 2 && (*head)[0] == '#' && (*head)[1] == '!') {
    auto line = parse_script_line(*head);
    if (!line) return line.error();
    out.kind = ExecKind::script;
    out.script = std::move(line).value();
    return out;
  }
  if (head->size() >= 4 && head->compare(0, 4, "\x7f" "ELF") == 0) {
    auto facts = ElfReader(file).run();
    if (!facts) return facts.error();
    out.kind = ExecKind::elf;
    out.elf = std::move(facts).value();
    return out;
  }
  out.kind = ExecKind::other;
  return out;
}

}  // namespace sts::posix
