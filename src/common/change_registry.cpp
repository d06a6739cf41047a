// The subscribers of a Resolver and the Subscription token (change_registry.h, resolver.h).
#include "common/change_registry.h"

#include "common/log.h"

#include <algorithm>
#include <utility>

namespace sts {

// ---- registry ----------------------------------------------------------------------------------

std::uint64_t Subscription::Registry::add(ChangeCallback callback) {
  auto subscriber = std::make_shared<Subscriber>();
  subscriber->callback = std::move(callback);
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t id = next_id_++;
  subscribers_.emplace(id, std::move(subscriber));
  return id;
}

void Subscription::Registry::remove(std::uint64_t id) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  std::shared_ptr<Subscriber> subscriber = std::move(it->second);
  subscribers_.erase(it);
  subscriber->removed = true;
  // Wait for calls on other threads; a callback unsubscribing itself does not wait for itself.
  const std::thread::id self = std::this_thread::get_id();
  cv_.wait(lock, [&] {
    return std::all_of(subscriber->running.begin(), subscriber->running.end(),
                       [&](const std::thread::id& t) { return t == self; });
  });
}

bool Subscription::Registry::contains(std::uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return subscribers_.find(id) != subscribers_.end();
}

void Subscription::Registry::call(Subscriber& subscriber, const std::string& handle,
                                  const std::vector<HandleUse>& uses) {
  const std::thread::id self = std::this_thread::get_id();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (subscriber.removed) return;
    subscriber.running.insert(self);
  }
  // Leaves the running set however the callback ends, and wakes a remove() waiting for it.
  struct Done {
    Registry* registry;
    Subscriber& subscriber;
    std::thread::id self;
    ~Done() {
      {
        std::lock_guard<std::mutex> lock(registry->mu_);
        subscriber.running.erase(subscriber.running.find(self));
      }
      registry->cv_.notify_all();
    }
  } done{this, subscriber, self};
  try {
    subscriber.callback(handle, uses);
  } catch (...) {
    // Its text is not used: a host's exception could carry anything, a value included.
    log::warn("a change subscriber threw an exception; it was ignored");
  }
}

void Subscription::Registry::notify(const std::vector<std::string>& handles,
                                    const std::function<std::vector<HandleUse>(const std::string& handle)>& uses) {
  if (handles.empty()) return;
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (subscribers_.empty()) return;
    for (const auto& [id, s] : subscribers_) subscribers.push_back(s);
  }
  for (const auto& handle : handles) {
    const std::vector<HandleUse> where = uses(handle);
    for (const auto& s : subscribers) call(*s, handle, where);
  }
}

// ---- token -------------------------------------------------------------------------------------

Subscription::Subscription(std::weak_ptr<Registry> registry, std::uint64_t id) noexcept
    : registry_(std::move(registry)), id_(id) {}

Subscription::Subscription(Subscription&& other) noexcept
    : registry_(std::move(other.registry_)), id_(std::exchange(other.id_, 0)) {
  other.registry_.reset();
}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::move(other.registry_);
    other.registry_.reset();
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Subscription::~Subscription() { reset(); }

void Subscription::reset() {
  if (std::shared_ptr<Registry> registry = registry_.lock()) registry->remove(id_);
  registry_.reset();
  id_ = 0;
}

bool Subscription::active() const {
  std::shared_ptr<Registry> registry = registry_.lock();
  return registry && registry->contains(id_);
}

}  // namespace sts
