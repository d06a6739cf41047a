// Resolves one document through the built-in file backend of an installed libstsecrets.
#include <stsecrets/stsecrets.h>

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  { std::ofstream(dir + "/db_password") << "consumer-secret"; }
  auto cfg = sts::load_config(YAML::Load("secret_backend_type: file\nsecret_backend_config: {root: " + dir + "}\n"),
                              sts::current_environment(), "inline");
  if (!cfg) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  sts::Resolver resolver(*cfg);
  std::vector<sts::Document> docs{{"inline", YAML::Load("password: ENC[db_password]\n")}};
  auto report = resolver.resolve(docs);
  if (!report || !report->failures.empty()) {
    std::cerr << "resolve failed\n";
    return 1;
  }
  std::cout << docs[0].root["password"].as<std::string>() << "\n";
  return docs[0].root["password"].as<std::string>() == "consumer-secret" ? 0 : 1;
}
