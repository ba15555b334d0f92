"""Well-known paths of a node, and the `--root-dir` remapping used by every command.

Files record *logical* absolute paths (``/etc/kubernetes/pki/ca.crt``): those go into manifests,
kubeconfigs and flags, exactly as kubeadm writes them. Only reading and writing on this machine
goes through `HostPaths.host`, which moves every absolute path under the root directory
(``--root-dir R``: ``/etc/kubernetes`` → ``R/etc/kubernetes``). Tests and ``--dry-run`` use that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

KUBERNETES_DIR = PurePosixPath("/etc/kubernetes")
MANIFESTS_DIR = KUBERNETES_DIR / "manifests"
DEFAULT_CERTIFICATES_DIR = KUBERNETES_DIR / "pki"
KUBELET_DIR = PurePosixPath("/var/lib/kubelet")
ETCD_DATA_DIR = PurePosixPath("/var/lib/etcd")
KUBEADMPY_RUN_DIR = PurePosixPath("/run/kubeadmpy")
KUBEADMPY_LOG_DIR = PurePosixPath("/var/log/kubeadmpy")
CONTAINERD_CONFIG = PurePosixPath("/etc/containerd/config.toml")
SYSTEMD_UNIT_DIR = PurePosixPath("/etc/systemd/system")

KUBECONFIG_FILES = {
    "admin": "admin.conf",
    "super-admin": "super-admin.conf",
    "kubelet": "kubelet.conf",
    "controller-manager": "controller-manager.conf",
    "scheduler": "scheduler.conf",
}


@dataclass(frozen=True)
class HostPaths:
    """Maps logical node paths to where they live on this machine."""

    root: Path = Path("/")

    def host(self, logical: str | PurePosixPath) -> Path:
        """Where the logical absolute path `logical` is read and written on this machine."""
        path = PurePosixPath(logical)
        if not path.is_absolute():
            raise ValueError(f"expected an absolute path, got {logical!r}")
        return self.root.joinpath(*path.parts[1:])

    @property
    def kubernetes_dir(self) -> Path:
        return self.host(KUBERNETES_DIR)

    @property
    def manifests_dir(self) -> Path:
        return self.host(MANIFESTS_DIR)

    @property
    def kubelet_dir(self) -> Path:
        return self.host(KUBELET_DIR)
