// File: support/configs.h
//
// Configs built in code for tests: an executable default backend, a file default backend.
#pragma once

#include "stsecrets/config.h"

#include <string>

namespace sts::test {

inline Config executable_config(const std::string& command) {
  Config cfg;
  Backend b;
  b.type = BackendType::executable;
  b.exec.command = command;
  b.where = "test";
  cfg.default_backend = std::move(b);
  return cfg;
}

inline Config file_config(const std::string& root) {
  Config cfg;
  Backend b;
  b.type = BackendType::file;
  b.provider.root = root;
  b.where = "test";
  cfg.default_backend = std::move(b);
  return cfg;
}

// The default backend's executable settings, to adjust a config built above.
inline ExecutableSettings& exec_of(Config& cfg) { return cfg.default_backend->exec; }

}  // namespace sts::test
