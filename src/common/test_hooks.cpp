// Test seams (test_hooks.h). Production code calls them; unless a test set a hook they do nothing.
#include "common/test_hooks.h"

#include <utility>

namespace sts::test_hooks {
namespace {

std::function<void()>& after_check_hook() {
  static std::function<void()> hook;
  return hook;
}

}  // namespace

void set_after_check(std::function<void()> hook) { after_check_hook() = std::move(hook); }

void after_check() {
  if (const auto& hook = after_check_hook()) hook();
}

}  // namespace sts::test_hooks
