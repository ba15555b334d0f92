#!/usr/bin/env bash
# Install everything kubeadmpy, its tests and its lab need on a Debian 12 machine (as root).
# Idempotent: packages already present are not fetched again; safe to run before every test run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  etcd-server etcd-client            # the real etcd for the apiserver and its tests
  containerd runc                    # the container runtime the kubelet drives over CRI
  containernetworking-plugins        # bridge, host-local, loopback, portmap (in /usr/lib/cni)
  openssh-server openssh-client      # lab machines are reached over SSH
  busybox-static                     # rootfs for the pause and test images
  iproute2 iptables nftables util-linux openssl procps
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "[setup] installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's own python3 marks itself externally managed (PEP 668); kubeadmpy is a machine-level
# tool run as root, so it installs next to the system packages there.
if ! python3 -m pip --version >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
fi
PIP_FLAGS=(-q --disable-pip-version-check)
if [ -e "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
  PIP_FLAGS+=(--break-system-packages)
fi
pip_log=$(mktemp)
if ! python3 -m pip install "${PIP_FLAGS[@]}" -e '.[test,dev]' >"$pip_log" 2>&1; then
  cat "$pip_log" >&2
  echo "[setup] pip install failed" >&2
  exit 1
fi
rm -f "$pip_log"
version=$(kubeadmpy version -o short)
echo "[setup] ready: kubeadmpy $version"
