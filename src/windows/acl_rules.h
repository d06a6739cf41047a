// File: acl_rules.h
//
// The Windows rules of SPEC 5 as a pure function of an owner + DACL (security_descriptor.h), so
// every rule can be tested with descriptors built from SDDL, including ones Wine cannot store
// on a file (a foreign owner).
//
//   auto verdict = evaluate_acl(info, current_user_sid(), ObjectKind::file, "C:\\sts\\backend.exe");
//   if (verdict.failure) return make_error(Code::exec_rejected, *verdict.failure);
//   auto above = evaluate_acl(info, user, ObjectKind::folder, "C:\\sts", "the config file");
//
// The file:
//   - owner: SYSTEM, Administrators or the current user;
//   - no NULL DACL; only allow and deny entries;
//   - allow entries only for SYSTEM, Administrators and the current user (as the Datadog and
//     StackState agents require), and the current user has one that grants execute;
//   - no deny entry for any of those three.
// Every folder above it:
//   - owner: SYSTEM, Administrators, the current user or TrustedInstaller (which owns
//     C:\Program Files and, on many installs, C:\);
//   - no NULL DACL; only allow and deny entries; no deny entry for the three;
//   - other principals may hold allow entries (Users read C:\ on every install) but no
//     write-class right: delete child, delete, change permissions, take ownership, generic
//     write or generic all, and, on the folder that holds the file itself (ObjectKind::folder),
//     add file: a DLL planted beside the backend would be loaded with it. "Add subfolder" is
//     allowed everywhere (Authenticated Users hold it on C:\), and "add file" on the folders
//     further up (ObjectKind::ancestor; Users hold it on C:\ProgramData): neither can replace
//     an existing child, and those folders are not on the backend's DLL search path.
//   - a failing system folder (a drive root, Windows, Program Files, ProgramData, Users) gets
//     no icacls fix that would change it for every program on the host: the fix is to move the
//     backend or config into a folder of its own (SPEC 5: a fix must never harm the host).
// The main config file (SPEC 2; ObjectKind::config):
//   - owner, NULL DACL, entry types and deny entries as for the file;
//   - other principals may read it (it holds handles, not secrets) but hold no write-class
//     right: write data, append data, delete, change permissions, take ownership, generic
//     write or generic all; no execute entry is needed.
// An existing --output-dir folder (ObjectKind::output_folder; host.h make_private_dir): the
//   rules of the folder that holds the backend (nobody else may add files, delete children,
//   delete the folder or change its permissions or owner; others may list it and add
//   subfolders, which replace no file), named "--output-dir DIR", every fix ending ", or give
//   --output-dir a folder of your own"; a system folder's fix is only that.
// Entries marked inherit-only do not apply to the object itself and are skipped.
//
// Every failure names the account and its rights in words, and gives the icacls fix.
// Thread-safety: pure function.
#pragma once

#if !defined(_WIN32)
#error "acl_rules.h is for Windows; CMake should have picked src/posix"
#endif

#include "windows/security_descriptor.h"
#include "stsecrets/check.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts::win {

enum class ObjectKind {
  file,      // the backend executable
  folder,    // the folder that holds the backend or the config file (or a secrets root)
  ancestor,  // a folder above that one
  config,    // the main config file
  output_folder,  // an existing --output-dir folder (the folder rules, worded for --output-dir)
};

struct AclVerdict {
  std::vector<CheckRule> rules;        // every rule evaluated, in order
  std::optional<std::string> failure;  // the first failing rule as a one-line message
};

// `guarded`: what a folder's write-class rights would let others replace ("the backend", "the
// config file", "the resolved files in it"), for the message.
AclVerdict evaluate_acl(const SecurityInfo& info, std::string_view user_sid, ObjectKind kind, std::string_view path,
                        std::string_view guarded = "the backend");

// Rights that let their holder replace or re-permission the object.
std::uint32_t write_class_rights(ObjectKind kind) noexcept;

}  // namespace sts::win
