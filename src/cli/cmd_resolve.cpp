// `stsecrets handles` (scan only) and `stsecrets resolve` (one run per backend for every
// document, all-or-nothing output). Output rules are documented in help.cpp and docs/cli.md.
#include "commands.h"
#include "handle_report.h"
#include "inputs.h"
#include "output.h"
#include "render.h"

#include "stsecrets/documents.h"
#include "stsecrets/handles.h"
#include "stsecrets/host.h"
#include "stsecrets/logging.h"
#include "stsecrets/resolver.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>

namespace sts::cli {
namespace {

namespace fs = std::filesystem;

// ---- handles ------------------------------------------------------------------------------

constexpr OptionSpec kHandlesSpecs[] = {{"config", 0, true}, {"json", 0, false}, kLogLevelOption, kHelpOption};

const char* kind_name(HandleUse::Kind k) {
  switch (k) {
    case HandleUse::Kind::env: return "env";
    case HandleUse::Kind::api: return "api";
    case HandleUse::Kind::yaml: break;
  }
  return "yaml";
}

std::string format_handles_text(const std::map<std::string, std::vector<HandleUse>>& grouped) {
  std::string out;
  for (const auto& [handle, uses] : grouped) {
    out += handle;
    if (!uses.empty() && !uses.front().backend.empty()) out += "    (backend " + uses.front().backend + ")";
    out += "\n";
    for (const auto& u : uses) out += "    " + u.origin + ": " + u.key_path + "\n";
  }
  return out;
}

std::string format_handles_json(const std::map<std::string, std::vector<HandleUse>>& grouped) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& [handle, uses] : grouped) {
    nlohmann::ordered_json u = nlohmann::ordered_json::array();
    for (const auto& use : uses) {
      u.push_back({{"origin", use.origin}, {"key_path", use.key_path}, {"kind", kind_name(use.kind)}});
    }
    list.push_back({{"handle", handle}, {"backend", uses.empty() ? std::string() : uses.front().backend},
                    {"uses", std::move(u)}});
  }
  nlohmann::ordered_json doc = {{"schema", 1}, {"handles", std::move(list)}};
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// ---- resolve: where each document goes ----------------------------------------------------

struct Destination {
  std::size_t doc = 0;   // index into the resolved documents
  std::string path;      // "" = stdout
};

// Paths go through path_from_utf8/path_to_utf8 (host.h): fs::path(std::string) is the ANSI code
// page on Windows.
std::string output_name(const std::string& input, bool json) {
  std::string name = path_to_utf8(path_from_utf8(input).filename());
  if (!json) return name;
  fs::path p = path_from_utf8(name);
  if (p.extension() == ".yaml" || p.extension() == ".yml") p.replace_extension(".json");
  else p += ".json";
  return path_to_utf8(p);
}

std::string output_path(const std::string& dir, const std::string& name) {
  return path_to_utf8(path_from_utf8(dir) / path_from_utf8(name));
}

// An output path that names an input file would replace configuration with plain secrets. One
// identity lookup per input and per output: linear in the number of files.
Status refuse_overwriting_inputs(const std::vector<Destination>& dests, const std::vector<Document>& docs) {
  std::map<std::string, const std::string*> inputs;   // file identity -> input name
  for (const auto& doc : docs) {
    if (auto id = file_identity(doc.origin)) inputs.emplace(*id, &doc.origin);
  }
  for (const auto& d : dests) {
    if (d.path.empty()) continue;
    const auto id = file_identity(d.path);
    if (!id) continue;   // does not exist yet
    if (auto it = inputs.find(*id); it != inputs.end()) {
      return make_error(Code::usage, "refusing to write resolved secrets over the input file " + *it->second +
                                         "; choose another output");
    }
  }
  return ok();
}

// Plans the outputs before anything runs, so a usage mistake costs no backend run.
Result<std::vector<Destination>> plan_outputs(const ParsedArgs& args, const std::vector<Document>& docs,
                                              std::size_t first_output) {
  std::vector<Destination> dests;
  const std::size_t count = docs.size() - first_output;
  const bool json = args.has("json");
  if (auto out = args.value("output"); out && *out != "-") {
    if (count != 1) {
      return make_error(Code::usage, "-o writes one document but there are " + std::to_string(count) +
                                         "; use --output-dir DIR; " + help_hint("resolve"));
    }
    dests.push_back({first_output, *out});
  } else if (auto dir = args.value("output-dir")) {
    std::map<std::string, std::string> taken;   // output name -> input
    for (std::size_t i = first_output; i < docs.size(); ++i) {
      std::string name = output_name(docs[i].origin, json);
      auto [it, inserted] = taken.emplace(name, docs[i].origin);
      if (!inserted) {
        return make_error(Code::usage, "two inputs would both be written to " + output_path(*dir, name) +
                                           ": " + it->second + " and " + docs[i].origin +
                                           "; resolve them in separate runs");
      }
      dests.push_back({i, output_path(*dir, name)});
    }
  } else {
    for (std::size_t i = first_output; i < docs.size(); ++i) dests.push_back({i, ""});
  }
  auto st = refuse_overwriting_inputs(dests, docs);
  if (!st) return st.error();
  return dests;
}

// Renders every output document. Nothing is written until all of them rendered.
Result<std::vector<SecretText>> render_all(const std::vector<Destination>& dests, const std::vector<Document>& docs,
                                           bool json, bool several_to_stdout) {
  std::vector<SecretText> texts;
  if (json && several_to_stdout) {
    // One JSON object keyed by file.
    nlohmann::ordered_json all = nlohmann::ordered_json::object();
    for (const auto& d : dests) all[docs[d.doc].origin] = to_json(docs[d.doc]);
    texts.push_back(dump_json(all));
    return texts;
  }
  for (const auto& d : dests) {
    if (json) {
      texts.push_back(dump_json(to_json(docs[d.doc])));
      continue;
    }
    auto t = render_yaml(docs[d.doc]);
    if (!t) return std::move(t).error();
    if (several_to_stdout) {
      SecretText framed;
      const std::string marker = "--- # " + escape_controls(docs[d.doc].origin) + "\n";
      framed.str().reserve(marker.size() + t->str().size());
      framed.str() += marker;
      framed.str() += t->str();
      texts.push_back(std::move(framed));
    } else {
      texts.push_back(std::move(*t));
    }
  }
  return texts;
}

constexpr OptionSpec kResolveSpecs[] = {{"config", 0, true}, {"output", 'o', true}, {"output-dir", 0, true},
                                        {"json", 0, false}, kLogLevelOption, kHelpOption};

}  // namespace

int run_handles(std::span<const std::string> args) {
  auto parsed = parse_args(args, kHandlesSpecs, "handles", ParseMode::options_anywhere);
  if (!parsed) return fail(parsed.error());
  if (auto rc = apply_common_options(*parsed, "handles")) return *rc;

  const Environment env = current_environment();
  auto in = load_inputs(*parsed, env);
  if (!in) return fail(in.error());
  // The config tells which backend each handle goes to; without a valid one, handles still list.
  const ScanResult scan = scan_inputs(in->docs, &env, EnvScan::sts_prefix, in->config ? &in->config.value() : nullptr);
  if (!scan.errors.empty()) return fail_all(scan.errors);
  const auto grouped = group_by_handle(scan.uses);
  auto st = print_report(parsed->has("json") ? format_handles_json(grouped) : format_handles_text(grouped));
  return st ? 0 : fail(st.error());
}

int run_resolve(std::span<const std::string> args) {
  auto parsed = parse_args(args, kResolveSpecs, "resolve", ParseMode::options_anywhere);
  if (!parsed) return fail(parsed.error());
  if (auto rc = apply_common_options(*parsed, "resolve")) return *rc;
  if (parsed->has("output") && parsed->has("output-dir")) {
    return fail(make_error(Code::usage, "use either -o or --output-dir, not both; " + help_hint("resolve")));
  }
  const bool json = parsed->has("json");

  const Environment env = current_environment();
  // The main config is always resolved (its handles are checked too); it is written only when
  // no FILE is given.
  auto in = load_inputs(*parsed, env);
  if (!in) return fail(in.error());
  if (!in->config) return fail(in->config.error());
  std::vector<Document>& docs = in->docs;
  const std::size_t first_output = parsed->positionals.empty() ? 0 : 1;
  auto dests = plan_outputs(*parsed, docs, first_output);
  if (!dests) return fail(dests.error());

  Resolver resolver(*in->config, one_shot());
  auto report = resolver.resolve(docs);
  if (!report) return fail(report.error());
  if (!report->failures.empty()) return fail_handles(report->failures);

  const bool several_to_stdout = dests->size() > 1 && dests->front().path.empty();
  auto texts = render_all(*dests, docs, json, several_to_stdout);
  if (!texts) return fail(texts.error());

  if (dests->front().path.empty()) {
    for (const auto& t : *texts) {
      auto st = write_stdout(t.str());
      if (!st) return fail(st.error());
    }
    return 0;
  }
  const auto dir = parsed->value("output-dir");
  if (dir) {
    auto st = make_private_dir(*dir);
    if (!st) return fail(st.error());
  }
  for (std::size_t i = 0; i < dests->size(); ++i) {
    auto st = write_private_file((*dests)[i].path, (*texts)[i].str(),
                                 dir ? OutputFolder::private_only : OutputFolder::any);
    if (!st) return fail(st.error());
  }
  return 0;
}

}  // namespace sts::cli
