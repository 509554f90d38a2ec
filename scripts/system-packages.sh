#!/usr/bin/env bash
# Installs the Debian packages the test suites and benchmarks need, once; a no-op when they are present.
# Run by `make test-setup` (and so by `make test`, `make integration`, `make e2e` and `make bench`).
set -euo pipefail

packages=(
  rabbitmq-server   # rabbitmqctl: tests create and drop their own vhosts and cut broker connections
  chromium          # the web app's browser tests: Playwright drives /usr/bin/chromium (no browser download)
  wrk               # benchmarks/gateway_throughput.py: a native load generator, so it leaves the CPU to the gateway
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or install them with sudo apt-get install)" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
