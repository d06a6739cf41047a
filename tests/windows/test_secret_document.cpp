// platform::read_secret_document and platform::inspect_secret_folder on Windows (under Wine):
// an owner-only document is read; one that another account may read is refused with the icacls
// fix; a missing one names its path; a root folder others may write is reported.
#include "common/secret_document.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>

using namespace sts;
using namespace sts::wintest;

TEST_CASE("secret document: owner-only is read, into secure memory", "[documents]") {
  TempDir tmp;
  const std::string p = tmp / "secrets.json";
  write_file(p, R"({"k": "win-doc-value"})");
  REQUIRE(set_sddl(p, "D:P(A;;FA;;;{U})(A;;FA;;;SY)"));
  ExecutableReport report;
  auto doc = platform::read_secret_document(p, kMaxSecretDocumentBytes, &report);
  INFO("sddl " << get_sddl(p) << "; error " << (doc ? std::string() : doc.error().message));
  REQUIRE(doc);
  CHECK(doc->view() == R"({"k": "win-doc-value"})");
  CHECK_FALSE(report.acl.empty());
  for (const auto& rule : report.rules) CHECK(rule.ok);
}

TEST_CASE("secret document: an entry for another account is refused with the icacls fix", "[documents]") {
  TempDir tmp;
  const std::string p = tmp / "secrets.json";
  write_file(p, "{}");
  REQUIRE(set_sddl(p, "D:P(A;;FA;;;{U})(A;;FR;;;WD)"));
  auto doc = platform::read_secret_document(p, kMaxSecretDocumentBytes);
  INFO("sddl " << get_sddl(p));
  REQUIRE_FALSE(doc);
  CHECK(doc.error().code == Code::config_insecure);
  CHECK_THAT(doc.error().message, Catch::Contains("secrets.json allows Everyone"));
  CHECK_THAT(doc.error().message, Catch::Contains("icacls"));
}

TEST_CASE("secret document: a missing document names its path", "[documents]") {
  TempDir tmp;
  auto doc = platform::read_secret_document(tmp / "missing.json", kMaxSecretDocumentBytes);
  REQUIRE_FALSE(doc);
  CHECK(doc.error().code == Code::config_unreadable);
  CHECK_THAT(doc.error().message, Catch::Contains("does not exist"));
}

TEST_CASE("secret folder: a folder others may write is reported", "[documents]") {
  TempDir tmp;
  const std::string dir = tmp / "secrets";
  make_dir(dir);
  REQUIRE(set_sddl(dir, "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)"));
  ExecutableReport ok_report;
  platform::inspect_secret_folder(dir, ok_report);
  INFO("sddl " << get_sddl(dir));
  CHECK(ok_report.ok());
  REQUIRE(set_sddl(dir, "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;WD)"));
  ExecutableReport bad;
  platform::inspect_secret_folder(dir, bad);
  INFO("sddl now " << get_sddl(dir));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error->code == Code::config_insecure);
  ExecutableReport gone;
  platform::inspect_secret_folder(tmp / "gone", gone);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error->code == Code::config_invalid);
}
