// The one test executable: doctest's main. Suites live beside it, mirroring the source folders.
//
// Like the CLI (tools/main.cpp), the tests restart themselves once with GOMP_SPINCOUNT=3000 unless
// OMP_WAIT_POLICY or GOMP_SPINCOUNT is set: libgomp's default spin makes waiting threads steal the
// cores from working ones on a busy machine, and the suite is full of short parallel regions (and of
// 3-thread runs on 2 cores, see same_bits_for_threads). libgomp reads the variable only when it
// starts, hence the re-exec. Children (the CLI runs of tests/tools) inherit it. Measured on the 2-core
// machine while other builds kept its load average near 7, default spin -> GOMP_SPINCOUNT=3000:
//   -tc="*threads*,*determinism*"          4.4-9.2 s -> 2.5-2.6 s;  beside 2 busy loops 9.2-11.3 s -> 4.8-5.2 s
//   the whole suite                        81 s -> 34 s;            beside 1 busy loop  123 s -> 80 s
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>

static void restart_with_short_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("GOMP_SPINCOUNT", "3000", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

int main(int argc, char** argv) {
  restart_with_short_spin(argv);
  doctest::Context context(argc, argv);
  return context.run();
}
