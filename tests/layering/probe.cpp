// A planted include, compiled against one layer only (CMakeLists.txt, "layering probes"): the build
// must fail for a header above that layer and succeed for one below it. PROBE_HEADER is the header,
// as <path>, given on the command line.
#include PROBE_HEADER

int dg_layering_probe() { return 0; }
