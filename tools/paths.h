// Output paths that never destroy input: what `detect`, `eval` and the other commands check before
// writing anything (issue 14: "user data is never destroyed").
#pragma once
#include <string>
#include <vector>

namespace dg::tools {

// dg::Error "<command>: <what> OUT would overwrite the input IN" when the file `out` is (or would be)
// the same file as one of `inputs` (compared after resolving . / .. / symlinks; inputs that do not
// exist are compared by path).
void refuse_overwrite(const std::string& command, const std::string& what, const std::string& out,
                      const std::vector<std::string>& inputs);

// One output name per input file: its stem, made unique by "_2", "_3", ... in input order
// ("a.png", "dir/a.jpg", "b.png" -> "a", "a_2", "b").
std::vector<std::string> unique_stems(const std::vector<std::string>& files);

}  // namespace dg::tools
