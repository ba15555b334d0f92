"""Installing the `flannel` CNI plugin: a two-line launcher in the runtime's CNI bin dir.

containerd looks plugins up by their `type` in its `bin_dir` (/usr/lib/cni on Debian, where
containernetworking-plugins puts bridge and host-local). Our plugin is Python, so the file
there is a shell script that execs this interpreter on `kubeadmpy.network.cni_flannel`. It
names the interpreter by absolute path (a runtime calls plugins with a minimal environment)
and runs it isolated (`-I`: no PYTHON* variables, no user site, not the caller's working
directory on sys.path), so what runs is the installed kubeadmpy and nothing a pod's
environment could put in front of it.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from kubeadmpy.files import write_file

DEBIAN_CNI_BIN_DIR = Path("/usr/lib/cni")
PLUGIN_NAME = "flannel"
MODULE = "kubeadmpy.network.cni_flannel"
MARKER = "# written by kubeadmpy: the flannel CNI plugin"


def launcher_script(python: str = sys.executable) -> str:
    return f"#!/bin/sh\n{MARKER}\nexec {shlex.quote(python)} -I -m {MODULE} \"$@\"\n"


def write_launcher(bin_dir: Path = DEBIAN_CNI_BIN_DIR, python: str = sys.executable) -> Path:
    """Write `<bin_dir>/flannel` (0755, atomically); the path written."""
    target = bin_dir / PLUGIN_NAME
    write_file(target, launcher_script(python), mode=0o755, dir_mode=0o755)
    return target


def is_ours(path: Path) -> bool:
    """Whether `path` is a launcher kubeadmpy wrote (reset removes only those)."""
    try:
        return MARKER in path.read_text(errors="replace")
    except OSError:
        return False
