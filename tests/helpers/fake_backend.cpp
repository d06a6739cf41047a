// PLACEHOLDER until the fake backend lands.
int main() { return 1; }
