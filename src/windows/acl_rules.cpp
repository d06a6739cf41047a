// SPEC 5 (Windows) as a pure function of owner + DACL (acl_rules.h).
#if !defined(_WIN32)
#error "acl_rules.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "windows/acl_rules.h"

namespace sts::win {
namespace {

bool is_trusted(std::string_view sid, std::string_view user_sid) {
  return sid == kSidSystem || sid == kSidAdministrators || (!user_sid.empty() && sid == user_sid);
}

std::string quoted(std::string_view path) { return "\"" + std::string(path) + "\""; }

bool is_folder_kind(ObjectKind kind) {
  return kind == ObjectKind::folder || kind == ObjectKind::ancestor || kind == ObjectKind::output_folder;
}

constexpr std::string_view kOwnOutputFolder = "give --output-dir a folder of your own";

// A drive root, or a folder Windows and every program rely on, whose permissions no fix of ours
// may change.
bool is_system_folder(std::string_view path) {
  std::string p(path);
  while (p.size() > 3 && (p.back() == '\\' || p.back() == '/')) p.pop_back();
  for (auto& c : p) c = c == '/' ? '\\' : static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (p.size() <= 3) return true;   // "c:\" (or something shorter that is not a folder of its own)
  if (p.size() < 3 || p[1] != ':' || p[2] != '\\') return false;
  const std::string_view rest = std::string_view(p).substr(3);
  for (std::string_view system : {"windows", "program files", "program files (x86)", "programdata", "users"}) {
    if (rest == system) return true;
  }
  return false;
}

class Evaluator {
 public:
  Evaluator(std::string_view user_sid, ObjectKind kind, std::string_view path, std::string_view guarded)
      : user_(user_sid), kind_(kind), path_(path), guarded_(guarded), what_(what_text(kind, path)),
        prefix_(kind == ObjectKind::output_folder ? "--output-dir " + std::string(path) + ": "
                : is_folder_kind(kind)            ? "folder " + std::string(path) + ": "
                : kind == ObjectKind::config ? "config file " + std::string(path) + ": "
                                             : std::string()) {}

  static std::string what_text(ObjectKind kind, std::string_view path) {
    switch (kind) {
      case ObjectKind::file: return "backend " + std::string(path);
      case ObjectKind::folder:
      case ObjectKind::ancestor: return "folder " + std::string(path);
      case ObjectKind::config: return "config file " + std::string(path);
      case ObjectKind::output_folder: return "--output-dir " + std::string(path);
    }
    return std::string(path);
  }

  // fix: an icacls command line; for a system folder it becomes the advice to move away.
  void add(const std::string& name, bool ok, const std::string& detail, const std::string& fix,
           const std::string& message) {
    const bool move_away = is_folder_kind(kind_) && is_system_folder(path_);
    std::string shown_fix = move_away ? "put " + guarded_ + " in a folder of its own (such as C:\\Program "
                                                            "Files\\stsecrets) instead of changing " +
                                            path_ + ", a system folder"
                                      : fix;
    if (kind_ == ObjectKind::output_folder) {
      // The resolved files can go anywhere the operator likes: a folder of their own always fixes it.
      shown_fix = move_away ? std::string(kOwnOutputFolder) + " instead of changing " + path_ + ", a system folder"
                            : fix + ", or " + std::string(kOwnOutputFolder);
    }
    verdict_.rules.push_back(CheckRule{prefix_ + name, ok, detail, ok ? std::string() : shown_fix});
    if (!ok && !verdict_.failure) verdict_.failure = message + (move_away ? ": " : ": run ") + shown_fix;
  }

  AclVerdict run(const SecurityInfo& info) {
    const bool folder = is_folder_kind(kind_);
    const std::string user_name = user_.empty() ? std::string("the current user") : account_text(user_);
    const std::string trusted_names = "SYSTEM, Administrators and " + user_name;

    // Owner.
    bool owner_ok = is_trusted(info.owner_sid, user_) || (folder && info.owner_sid == kSidTrustedInstaller);
    std::string owner = info.owner_sid.empty() ? std::string("nobody") : account_text(info.owner_sid);
    add("owner", owner_ok, owner, "icacls " + quoted(path_) + " /setowner *" + user_,
        what_ + " is owned by " + owner + ", not by SYSTEM, Administrators or " + user_name);

    // NULL DACL: everyone has every right.
    if (info.null_dacl) {
      std::string fix = "icacls " + quoted(path_) + " /inheritance:r /grant:r *S-1-5-18:(F) *S-1-5-32-544:(F) *" + user_ +
                        (kind_ == ObjectKind::file ? ":(RX)" : ":(F)");
      add("dacl", false, "NULL DACL (everyone has full control)", fix,
          what_ + " has a NULL DACL, so everyone has full control");
      return std::move(verdict_);
    }
    add("dacl", true, std::to_string(info.aces.size()) + " entries", "", "");

    bool user_can_execute = false;
    for (const AceInfo& ace : info.aces) {
      if (ace.inherit_only()) continue;  // applies to children only
      const std::string who = ace.sid.empty() ? std::string("an entry without a SID") : account_text(ace.sid);
      const std::string rights = rights_in_words(ace.mask, folder);
      const std::string inh = ace.inherited() ? " (inherited)" : "";
      // /inheritance:d first turns inherited entries into explicit copies that /remove can drop.
      const std::string detach = ace.inherited() ? " /inheritance:d" : "";
      if (!ace.allow() && !ace.deny()) {
        add("entry " + who, false, "entry of type " + std::to_string(ace.type), 
            "icacls " + quoted(path_) + detach + " /remove *" + (ace.sid.empty() ? std::string("<SID>") : ace.sid),
            what_ + " has an entry of unsupported type " + std::to_string(ace.type) + " for " + who + inh);
        continue;
      }
      const bool trusted = is_trusted(ace.sid, user_);
      if (ace.deny()) {
        add("deny " + who, !trusted, "deny " + rights + inh,
            "icacls " + quoted(path_) + detach + " /remove:d *" + ace.sid,
            what_ + " has a deny entry for " + who + " (" + rights + ")" + inh +
                "; SYSTEM, Administrators and the current user must not be denied");
        continue;
      }
      if (!ace.sid.empty() && ace.sid == user_ &&
          (ace.mask & (FILE_EXECUTE | GENERIC_EXECUTE | GENERIC_ALL)) != 0) {
        user_can_execute = true;
      }
      if (trusted || (folder && ace.sid == kSidTrustedInstaller)) {
        add("allow " + who, true, rights + inh, "", "");
        continue;
      }
      if (kind_ == ObjectKind::file) {
        add("allow " + who, false, rights + inh,
            "icacls " + quoted(path_) + detach + " /remove:g *" + ace.sid,
            what_ + " allows " + who + " " + rights + inh + "; only " + trusted_names + " may have entries");
        continue;
      }
      // A folder or the config: others may read (and list) but not change.
      std::uint32_t bad = ace.mask & write_class_rights(kind_);
      add("allow " + who, bad == 0, rights + inh,
          "icacls " + quoted(path_) + detach + " /remove:g *" + ace.sid + " && icacls " + quoted(path_) +
              " /grant *" + ace.sid + (folder ? ":(RX)" : ":(R)"),
          what_ + " lets " + who + " " + rights_in_words(bad, folder) + inh +
              (folder ? ", so they could replace " + guarded_ : std::string(", so they could choose what runs or which secrets the agent gets")));
    }
    if (kind_ == ObjectKind::file) {
      add("execute", user_can_execute, user_can_execute ? user_name + " may execute" : user_name + " has no execute entry",
          "icacls " + quoted(path_) + " /grant *" + user_ + ":(RX)",
          what_ + " has no allow entry that lets " + user_name + " execute it");
    }
    return std::move(verdict_);
  }

 private:
  std::string user_;
  ObjectKind kind_;
  std::string path_;
  std::string guarded_;
  std::string what_;
  std::string prefix_;
  AclVerdict verdict_;
};

}  // namespace

std::uint32_t write_class_rights(ObjectKind kind) noexcept {
  std::uint32_t common = DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL;
  if (kind == ObjectKind::folder || kind == ObjectKind::output_folder) {
    return common | FILE_ADD_FILE | FILE_DELETE_CHILD;
  }
  if (kind == ObjectKind::ancestor) return common | FILE_DELETE_CHILD;
  return common | FILE_WRITE_DATA | FILE_APPEND_DATA;
}

AclVerdict evaluate_acl(const SecurityInfo& info, std::string_view user_sid, ObjectKind kind, std::string_view path,
                        std::string_view guarded) {
  return Evaluator(user_sid, kind, path, guarded).run(info);
}

}  // namespace sts::win
