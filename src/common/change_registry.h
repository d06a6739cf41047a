// File: change_registry.h
//
// The subscribers of one Resolver (Resolver::subscribe, SPEC 9 "Change notification") and the
// rules that make a Subscription safe to drop at any time:
// - notify() calls each live subscriber outside the registry lock, marking the calling thread
//   as running it for the duration of the call;
// - remove() marks the subscriber removed (no new call starts) and waits until no other thread
//   is running it; a thread removing the subscriber whose callback it is running does not wait
//   for itself;
// - the Resolver holds the registry by shared_ptr and every Subscription by weak_ptr, so a
//   Subscription that outlives its Resolver finds nothing to remove.
//
//   auto registry = std::make_shared<Subscription::Registry>();
//   std::uint64_t id = registry->add(callback);
//   registry->notify({"db"}, uses_of);   // callback("db", uses) on this thread
//   registry->remove(id);
//
// A callback that throws is logged (without its text) and ignored.
//
// Thread-safety: every method is safe from any thread.
#pragma once

#include "stsecrets/resolver.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sts {

struct Subscription::Registry {
  std::uint64_t add(ChangeCallback callback);
  void remove(std::uint64_t id);
  bool contains(std::uint64_t id) const;
  // For each handle, in order, calls every subscriber with the handle and uses(handle).
  void notify(const std::vector<std::string>& handles,
              const std::function<std::vector<HandleUse>(const std::string& handle)>& uses);

 private:
  struct Subscriber {
    ChangeCallback callback;
    bool removed = false;
    std::multiset<std::thread::id> running;   // threads inside callback now
  };
  void call(Subscriber& subscriber, const std::string& handle, const std::vector<HandleUse>& uses);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::shared_ptr<Subscriber>> subscribers_;
};

}  // namespace sts
