// File: backend_runs.h
//
// The router of make_fetcher() with an observer of its backend runs, for the Resolver's
// per-backend counters (ResolverStats::runs_by_backend). The public make_fetcher() is this with
// no observer.
//
//   auto fetcher = make_fetcher(config, options, [&](const std::string& name) { ++runs[name]; });
//
// Thread-safety: the observer is called once per backend run (each batch the router sends to
// one backend, whatever its outcome), from the thread that ran it, possibly several at once.
#pragma once

#include "stsecrets/fetcher.h"

#include <functional>
#include <memory>
#include <string>

namespace sts {

// backend_name: Backend::name, "" for the default backend.
using BackendRunObserver = std::function<void(const std::string& backend_name)>;

std::unique_ptr<Fetcher> make_fetcher(const Config& config, FetcherOptions options, BackendRunObserver observer);

}  // namespace sts
