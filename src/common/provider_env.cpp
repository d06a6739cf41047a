// The env provider (providers.h): a key is the name of a variable of the caller's environment
// (FetcherOptions::caller_environment, else the process environment at the time of the read),
// and only a name listed in the backend's allowed_keys is read: a handle in a config file must
// not be able to pull any variable of the agent's environment into a check's output or an
// integration's config.
//
// Memory: the variable's value already lives in the process environment (ordinary memory, and
// /proc/PID/environ); the copy handed out is a SecureBuffer. When this provider snapshots the
// process environment itself, it zeroes the snapshot's values before freeing them.
#include "common/providers.h"

#include "common/platform_names.h"
#include "common/text.h"

#include <algorithm>

namespace sts {
namespace {

class EnvSource final : public Source {
 public:
  EnvSource(const Backend& backend, const FetcherOptions& options)
      : backend_(backend), caller_(options.caller_environment) {}

  Result<FetchResult> read(const std::vector<std::string>& keys, RunFacts& facts) override {
    Environment snapshot;
    const Environment* env = caller_;
    if (env == nullptr) {
      snapshot = current_environment();
      env = &snapshot;
    }
    FetchResult result;
    for (const auto& key : keys) {
      auto value = read_one(*env, key);
      if (value) {
        result.values.emplace(key, std::move(value).value());
      } else {
        result.failures.emplace(key, std::move(value).error());
      }
    }
    for (auto& [name, value] : snapshot) secure_zero(value.data(), value.size());
    facts.exit_code = 0;
    return result;
  }

 private:
  Result<SecureBuffer> read_one(const Environment& env, const std::string& key) const {
    const std::string head = provider_label(backend_) + ": variable \"" + quote_text(key, 256) + "\"";
    const auto& allowed = backend_.provider.allowed_keys;
    // Names compare as the platform compares them (any case on Windows).
    const bool listed = std::any_of(allowed.begin(), allowed.end(),
                                    [&](const std::string& a) { return env_name_key(a) == env_name_key(key); });
    if (!listed) {
      return make_error(Code::handle_invalid,
                        head + " is not in allowed_keys; to let handles read it, add it to the backend's config: "
                               "allowed_keys: [" + (allowed.empty() ? std::string() : allowed.front() + ", ") +
                            quote_text(key, 256) + "]");
    }
    const std::string* value = find_env(env, key);
    if (value == nullptr) {
      return make_error(Code::handle_missing,
                        head + " is not set in the agent's environment; set it where the agent is started (e.g. "
                               "Environment= in its systemd unit)");
    }
    if (value->empty()) {
      return make_error(Code::handle_value_empty, head + " is empty; set it to the secret");
    }
    return SecureBuffer(*value);
  }

  const Backend& backend_;
  const Environment* caller_;
};

}  // namespace

std::unique_ptr<Source> make_env_source(const Backend& backend, const FetcherOptions& options) {
  return std::make_unique<EnvSource>(backend, options);
}

ExecutableReport check_env_provider(const Backend& backend) {
  ExecutableReport report;
  const auto& allowed = backend.provider.allowed_keys;
  std::string list;
  for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
  const bool ok = !allowed.empty();
  report.rules.push_back(CheckRule{"allowed keys", ok, ok ? list : "none: no handle can read a variable",
                                   ok ? "" : "list the variables handles may read: allowed_keys: [DB_PASSWORD]"});
  if (!ok) {
    report.error = make_error(Code::config_invalid,
                              provider_label(backend) + ": allowed_keys is empty, so every handle of this backend fails; "
                                                        "list the variables handles may read: allowed_keys: [DB_PASSWORD]");
  }
  return report;
}

}  // namespace sts
