// Every example in README.md and docs/*.md runs exactly as printed (issue: "docs that stand on
// their own"): the commands of a ```console block, with their output, exit status and files.
//
// An example is the text between `<!-- example: NAME -->` and `<!-- end example -->`. Inside it,
// `<!-- file: PATH [mode=0NNN] [owner=USER[:GROUP]] -->` makes the next fenced block the content
// of PATH (without its final line break; default mode 0600; missing folders are created 0700), and
// a ```console block holds commands (`$ COMMAND`, run by /bin/sh -c), each followed by its exact
// output (stdout; with `2>&1` in the command, stderr too) and, when its status is not 0, a last
// line `[exit status N]`. In the expected output a line `...` stands for any number of lines (the
// parts that depend on the machine: folders above the scratch root, the loader's links), and a
// line ending in ` ...` for any line that starts with what comes before.
//
// The pages' system paths stand for folders of one scratch root per example, and nothing else
// changes: /etc/stackstate-agent, /run/secrets, /run/credentials and /var/log/stackstate-agent are
// moved under it; /usr/share/doc/stsecrets/examples is the repository's examples/ (what the
// package installs there); /usr/bin/stsecrets and a bare `stsecrets` are the binary under test.
// Commands run in the repository's root. Examples that act as the agent's user
// `stackstate-agent` need root: the test creates that system user when it is missing.
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct DocCommand {
  std::string line;        // as printed, after "$ "
  std::string expected;    // as printed
  int exit = 0;
};

struct DocFile {
  std::string path;
  unsigned mode = 0600;
  std::string owner;       // "user[:group]", "" = the test's user
  std::string content;
};

struct DocExample {
  std::string page;
  std::string name;
  std::vector<DocFile> files;
  std::vector<DocCommand> commands;
};

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<DocExample> parse_examples(const std::string& page, const std::string& md) {
  std::vector<DocExample> out;
  std::istringstream in(md);
  std::string line;
  DocExample* current = nullptr;
  std::optional<DocFile> pending;
  while (std::getline(in, line)) {
    if (line.rfind("<!-- example: ", 0) == 0) {
      out.push_back(DocExample{page, line.substr(14, line.size() - 18), {}, {}});
      current = &out.back();
      continue;
    }
    if (line == "<!-- end example -->") {
      current = nullptr;
      continue;
    }
    if (current == nullptr) continue;
    if (line.rfind("<!-- file: ", 0) == 0) {
      const auto words = split_words(line.substr(11, line.size() - 15));
      DocFile f;
      f.path = words.at(0);
      for (std::size_t i = 1; i < words.size(); ++i) {
        if (words[i].rfind("mode=", 0) == 0) f.mode = static_cast<unsigned>(std::stoul(words[i].substr(5), nullptr, 8));
        if (words[i].rfind("owner=", 0) == 0) f.owner = words[i].substr(6);
      }
      pending = f;
      continue;
    }
    if (line.rfind("```", 0) != 0) continue;
    const bool console = line == "```console";
    std::vector<std::string> lines;
    while (std::getline(in, line) && line.rfind("```", 0) != 0) lines.push_back(line);
    if (pending) {
      for (std::size_t i = 0; i < lines.size(); ++i) pending->content += (i ? "\n" : "") + lines[i];
      current->files.push_back(*pending);
      pending.reset();
    } else if (console) {
      for (const auto& l : lines) {
        if (l.rfind("$ ", 0) == 0) {
          current->commands.push_back(DocCommand{l.substr(2), {}, 0});
        } else if (l.rfind("[exit status ", 0) == 0) {
          REQUIRE_FALSE(current->commands.empty());
          current->commands.back().exit = std::stoi(l.substr(13));
        } else {
          REQUIRE_FALSE(current->commands.empty());
          current->commands.back().expected += l + "\n";
        }
      }
    }
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

std::string rebase(std::string s, const std::string& root) {
  s = replace_all(s, "/usr/share/doc/stsecrets/examples", std::string(STS_SOURCE_DIR) + "/examples");
  s = replace_all(s, "/usr/bin/stsecrets", STS_CLI);
  for (const std::string prefix : {"/etc/stackstate-agent", "/run/secrets", "/run/credentials", "/var/log/stackstate-agent"}) {
    for (std::size_t p = s.find(prefix); p != std::string::npos; p = s.find(prefix, p + root.size() + prefix.size())) {
      s.insert(p, root);
    }
  }
  return s;
}

// One expected line: as printed, or, when it ends in " ...", any line that starts with the rest.
bool line_matches(const std::string& want, const std::string& got) {
  constexpr std::string_view kMore = " ...";
  if (want.size() > kMore.size() && want.ends_with(kMore)) {
    return got.rfind(want.substr(0, want.size() - kMore.size() + 1), 0) == 0;
  }
  return want == got;
}

// Expected output with `...` lines (any number of lines) against the actual output.
bool matches(const std::string& expected, const std::string& actual) {
  std::vector<std::string> want, got;
  std::istringstream e(expected), a(actual);
  for (std::string l; std::getline(e, l);) want.push_back(l);
  for (std::string l; std::getline(a, l);) got.push_back(l);
  // Classic wildcard matching over lines (iterative, with backtracking to the last `...`).
  std::size_t w = 0, g = 0, star = std::string::npos, mark = 0;
  while (g < got.size()) {
    if (w < want.size() && want[w] == "...") {
      star = w++;
      mark = g;
    } else if (w < want.size() && line_matches(want[w], got[g])) {
      ++w;
      ++g;
    } else if (star != std::string::npos) {
      w = star + 1;
      g = ++mark;
    } else {
      return false;
    }
  }
  while (w < want.size() && want[w] == "...") ++w;
  return w == want.size() && (actual.empty() || actual.back() == '\n') == (expected.empty() || expected.back() == '\n');
}

bool needs_agent_user(const DocExample& ex) {
  for (const auto& c : ex.commands) {
    if (c.line.find("stackstate-agent") != std::string::npos && c.line.find("-o stackstate-agent") != std::string::npos) return true;
    if (c.line.find("runuser -u stackstate-agent") != std::string::npos) return true;
  }
  for (const auto& f : ex.files) {
    if (f.owner.find("stackstate-agent") != std::string::npos) return true;
  }
  return false;
}

bool ensure_agent_user() {
  if (::geteuid() != 0) return false;
  if (sts::test::run_command({"/usr/bin/id", "stackstate-agent"}).exit_code == 0) return true;
  auto r = sts::test::run_command({"/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                   "--user-group", "stackstate-agent"});
  return r.exit_code == 0;
}

void run_example(const DocExample& ex) {
  sts::test::TempDir dir;
  // The scratch root stands for "/": others (the agent's user) may traverse it, as they may "/".
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const std::string bin_dir = fs::path(STS_CLI).parent_path().string();
  const std::vector<std::string> env{"PATH=" + bin_dir + ":/usr/bin:/bin:/usr/sbin:/sbin", "LANG=C"};
  for (const auto& f : ex.files) {
    const std::string path = rebase(f.path, dir.path());
    for (fs::path p = fs::path(path).parent_path(); p.string().size() > dir.path().size(); p = p.parent_path()) {
      if (!fs::exists(p)) {
        fs::create_directories(p);
        fs::permissions(p, fs::perms::owner_all);
      }
    }
    sts::test::write_file(path, rebase(f.content, dir.path()) + (f.content.empty() ? "" : ""), f.mode);
    if (!f.owner.empty()) {
      auto r = sts::test::run_command({"/bin/chown", f.owner, path});
      REQUIRE(r.exit_code == 0);
    }
  }
  for (const auto& c : ex.commands) {
    const std::string command = rebase(c.line, dir.path());
    auto r = sts::test::run_command({"/bin/sh", "-c", command}, {}, env, std::chrono::seconds(120), std::nullopt,
                                    STS_SOURCE_DIR);
    INFO(ex.page << " example " << ex.name << "\n$ " << c.line << "\nstderr: " << r.err << "\nstdout:\n" << r.out);
    CHECK(r.exit_code == c.exit);
    const bool merged = c.line.find("2>&1") != std::string::npos;
    CHECK(matches(rebase(c.expected, dir.path()), merged ? r.out + r.err : r.out));
  }
}

std::vector<DocExample> all_examples() {
  std::vector<DocExample> out;
  std::vector<std::string> pages{std::string(STS_SOURCE_DIR) + "/README.md"};
  for (const auto& entry : fs::directory_iterator(std::string(STS_SOURCE_DIR) + "/docs")) {
    if (entry.path().extension() == ".md") pages.push_back(entry.path().string());
  }
  for (const auto& page : pages) {
    auto ex = parse_examples(fs::path(page).filename().string(), sts::test::read_file(page));
    out.insert(out.end(), ex.begin(), ex.end());
  }
  return out;
}

}  // namespace

TEST_CASE("docs: the example runner matches `...` lines and exit statuses as documented") {
  CHECK(matches("a\n...\nz\n", "a\nb\nc\nz\n"));
  CHECK(matches("a\n...\nz\n", "a\nz\n"));
  CHECK_FALSE(matches("a\n...\nz\n", "a\nb\n"));
  CHECK_FALSE(matches("a\nz\n", "a\nb\nz\n"));
  CHECK(matches("", ""));
  CHECK(matches("x: a ...\n", "x: a b c\n"));
  CHECK_FALSE(matches("x: a ...\n", "x: b\n"));
  const auto ex = parse_examples("t.md", "<!-- example: t -->\n```console\n$ false\n[exit status 1]\n```\n<!-- end example -->\n");
  REQUIRE(ex.size() == 1);
  REQUIRE(ex[0].commands.size() == 1);
  CHECK(ex[0].commands[0].exit == 1);
}

TEST_CASE("docs: every example in README.md and docs/ runs as printed", "[docs]") {
  const auto examples = all_examples();
  std::set<std::string> names;
  for (const auto& ex : examples) names.insert(ex.page + ":" + ex.name);
  // The pages this covers (a guard against an example silently dropping out).
  for (const std::string expected : {"README.md:readme-demo", "README.md:readme-linux", "backends.md:file",
                                     "backends.md:file.json", "backends.md:file.yaml", "backends.md:docker.secrets",
                                     "backends.md:systemd.credentials", "backends.md:env"}) {
    INFO(expected);
    CHECK(names.count(expected) == 1);
  }
  for (const auto& ex : examples) {
    INFO(ex.page << " example " << ex.name);
    REQUIRE_FALSE(ex.commands.empty());
    if (needs_agent_user(ex) && !ensure_agent_user()) {
      WARN(ex.page << " example " << ex.name << " skipped: it acts as the user stackstate-agent, which needs root");
      continue;
    }
    run_example(ex);
  }
}
