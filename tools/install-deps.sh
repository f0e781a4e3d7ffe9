#!/usr/bin/env bash
# Install the Debian 12 packages crmcore builds and tests with. Installs only
# what is missing, so a second run costs a second.
set -euo pipefail

packages=(
  meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev libsqlite3-dev libcjson-dev uuid-dev libcmocka-dev
  libicu-dev swig python3-dev python3-pytest default-jdk-headless junit4 valgrind libroaring-dev
  python3-matplotlib  # examples/python/analytics.py and its test (skipped without it)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
