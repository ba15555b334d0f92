"""kubeadmpy-kubelet: the node agent over CRI (containerd).

Public names: `run` (start in-process, cancel to stop), `KubeletSettings`, `Kubelet` (which
implements kubeadmpy.kubelet.server's `PodLookup`). Probes live in
kubeadmpy.kubelet.probes and the HTTPS/healthz servers in kubeadmpy.kubelet.server.
"""

from kubeadmpy.kubelet.kubelet import Kubelet
from kubeadmpy.kubelet.main import run
from kubeadmpy.kubelet.settings import BackoffSettings, KubeletSettings, parse_command_line

__all__ = ["BackoffSettings", "Kubelet", "KubeletSettings", "parse_command_line", "run"]
