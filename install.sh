#!/usr/bin/env bash
# Installs what detgrad needs from Debian's packages, and nothing else. Idempotent: a second run
# installs nothing. As root it runs apt-get; otherwise it prints the exact command to run.
#   ./install.sh            build + test dependencies (+ OpenBLAS, so `detgrad bench` has its reference)
#   ./install.sh --golden   also python3-torch / torchvision, only needed to regenerate tests/golden/
#   ./install.sh --ci       also clang-format-14 (.ci/run's layout check, scripts/check_format.sh) and
#                           chromium (the run report opened in a headless browser, tests/tools/test_report_browser.cpp)
set -euo pipefail
packages=(cmake g++ make libgomp1 doctest-dev zlib1g-dev nlohmann-json3-dev libcli11-dev libstb-dev
          libopenblas-dev dataset-fashion-mnist python3 graphviz fonts-dejavu-core)
if [[ "${1:-}" == "--golden" ]]; then packages+=(python3-torch python3-torchvision python3-numpy); fi
if [[ "${1:-}" == "--ci" ]]; then packages+=(clang-format-14 chromium); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install.sh: all ${#packages[@]} packages present"
  exit 0
fi
echo "install.sh: missing: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install.sh: not root; run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install.sh: installed ${missing[*]}"
