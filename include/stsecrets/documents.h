// File: stsecrets/documents.h
//
// YAML documents as stsecrets reads them: the one loader for the main config and for the files
// to resolve, with the same safety rules everywhere.
//
//   auto doc = sts::load_document("conf.d/postgres.yaml");
//   if (!doc) { std::cerr << doc.error().message; }   // "cannot read ...", "... not valid YAML at line 3, column 7: ..."
//
// Rules: a file is read whole, at most kMaxDocumentBytes; a FIFO, device or folder is refused
// without blocking. Syntax errors keep yaml-cpp's line, column and the fixed part of its
// message, never input text (some yaml-cpp messages end in a quote of the input, which could be
// a secret pasted by mistake). Only the first document of a multi-document file is used.
//
// Thread-safety: pure functions of the file system.
#pragma once

#include "stsecrets/error.h"

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

constexpr std::size_t kMaxDocumentBytes = 64 * 1024 * 1024;

struct Document {
  std::string origin;   // the file name as given, for messages and output names
  YAML::Node root;
};

// Errors: Code::config_unreadable naming the file and the OS reason, or the line and column.
Result<Document> load_document(const std::string& path);
// Every file, in order; every error is collected, one line each.
Result<std::vector<Document>> load_documents(const std::vector<std::string>& paths);
// Parses YAML text. `origin` names it in errors ("environment: STS_X", a file name).
Result<YAML::Node> parse_yaml(std::string_view text, std::string_view origin);

}  // namespace sts
