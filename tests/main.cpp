// The one test executable: doctest's main. Suites live beside it, mirroring the source folders.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
