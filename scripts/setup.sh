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
  iproute2 iptables nftables util-linux openssl procps kmod
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

python3 -m pip install -q --disable-pip-version-check -e '.[test,dev]' 2>&1 \
  | grep -v -e "^WARNING: Location" -e "Running pip as the 'root' user" || true
echo "[setup] ready: $(kubeadmpy version -o short)"
