// The document providers (providers.h): file.json and file.yaml. Every read opens and checks
// the document again (platform::read_secret_document: owner, mode, regular file, size; into
// locked memory), then looks every key of the batch up in one pass (document_lookup.h). The
// document's bytes are zeroed when the read returns.
#include "common/providers.h"

#include "common/document_lookup.h"
#include "common/secret_document.h"

namespace sts {
namespace {

Result<FetchResult> lookup(const Backend& backend, std::string_view document, const std::vector<std::string>& keys) {
  return backend.type == BackendType::file_yaml ? lookup_yaml(document, keys, provider_label(backend))
                                                : lookup_json(document, keys, provider_label(backend));
}

class DocumentSource final : public Source {
 public:
  explicit DocumentSource(const Backend& backend) : backend_(backend) {}

  Result<FetchResult> read(const std::vector<std::string>& keys, RunFacts& facts) override {
    auto document = platform::read_secret_document(backend_.provider.path, kMaxSecretDocumentBytes);
    if (!document) {
      Error e = std::move(document).error();
      e.message = provider_prefix(backend_) + e.message;
      return e;
    }
    auto result = lookup(backend_, document->view(), keys);
    document->release();   // zeroed now, not when the caller is done
    facts.exit_code = 0;
    return result;
  }

 private:
  const Backend& backend_;
};

}  // namespace

std::unique_ptr<Source> make_document_source(const Backend& backend) {
  return std::make_unique<DocumentSource>(backend);
}

ExecutableReport check_document_provider(const Backend& backend) {
  ExecutableReport report;
  auto document = platform::read_secret_document(backend.provider.path, kMaxSecretDocumentBytes, &report);
  if (!document) {
    Error e = std::move(document).error();
    e.message = provider_prefix(backend) + e.message;
    report.error = std::move(e);
    return report;
  }
  // Parsed with no key asked for: only the document's own rules (syntax, duplicates, a map at
  // the top level) are judged, and no value is copied anywhere.
  const bool yaml = backend.type == BackendType::file_yaml;
  auto parsed = lookup(backend, document->view(), {});
  document->release();
  if (!parsed) {
    report.rules.push_back(CheckRule{"document parses", false, yaml ? "not valid YAML" : "not valid JSON",
                                     "fix the document: " + parsed.error().message});
    report.error = std::move(parsed).error();
    return report;
  }
  report.rules.push_back(CheckRule{"document parses", true,
                                   std::string(yaml ? "YAML" : "JSON") + ", a map at the top level, no duplicate keys",
                                   ""});
  return report;
}

}  // namespace sts
