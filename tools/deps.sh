#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing moat need.
# Idempotent: it asks apt only for what is missing, runs `apt-get update`
# only then, and prints nothing when everything is already there.
set -euo pipefail

packages=(
  build-essential    # gcc, make, libc headers
  binutils           # ld, nm, objdump for the build checks and tests
  clang              # the second compiler that must build warning-free
  clang-format       # make format-check
  libclang-rt-14-dev # sanitizer runtimes for clang
  libseccomp-dev     # the platform's seccomp filter
  libjson-c-dev      # config.json of the OCI runtime (cmd/moat/oci.c)
  pkg-config
  check              # the unit-test framework (libcheck)
  musl-tools         # musl-gcc for the musl builds of the guest programs
  busybox-static     # the real programs the suite runs inside moat
  python3            # tests/run.py
  bsdutils           # script(1), run on a pseudo-terminal by the tests
  sqlite3            # programs/sqlite-wal-two-processes (shared mappings)
  podman             # oci/podman-*: moat as podman's runtime, against runc
  runc
  containerd         # oci/containerd-ctr-run (ctr run --runc-binary moat)
  qemu-system-x86    # vm/*: the VM platform's image under QEMU (TCG, or KVM)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
