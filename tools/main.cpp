#include <cstdio>
int main() { std::puts("detgrad"); return 0; }
