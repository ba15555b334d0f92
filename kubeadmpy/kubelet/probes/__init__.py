"""Container probes of the kubelet (liveness, readiness, startup; http, tcp, exec, grpc).

Public names: `ProbeManager` (per-container workers and their results), `ProbeOutcome` and
`Result` (one attempt), and `run_probe` (one attempt of a probe spec, for callers that only
need a verdict).
"""

from kubeadmpy.kubelet.probes.checks import ProbeOutcome, Result
from kubeadmpy.kubelet.probes.manager import LivenessFailure, ProbeManager, run_probe

__all__ = ["LivenessFailure", "ProbeManager", "ProbeOutcome", "Result", "run_probe"]
