// PLACEHOLDER until the CLI lands: prints its version only.
#include <cstdio>
int main() { std::puts("stsecrets " STS_VERSION); return 1; }
