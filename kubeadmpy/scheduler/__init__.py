"""kubeadmpy.scheduler: kube-scheduler's algorithm, queue and component.

Pure parts (no I/O): `ClusterSnapshot` (nodes and their pods, parsed), `Algorithm` (filters,
scores, selection, preemption), `SchedulingQueue` (active / back-off / unschedulable). The
component: `Scheduler` wires them to kubeadmpy.client informers and binds through the API;
`kubeadmpy-scheduler` (main.py) adds flags, health and leader election. `simulated_nodes`
builds Node objects for tests and benchmarks at scale.
"""

from kubeadmpy.scheduler.algorithm import Algorithm, Decision, FitError
from kubeadmpy.scheduler.queue import SchedulingQueue
from kubeadmpy.scheduler.scheduler import Scheduler, SchedulerSettings
from kubeadmpy.scheduler.simulated import simulated_node, simulated_nodes
from kubeadmpy.scheduler.snapshot import ClusterSnapshot

__all__ = ["Algorithm", "ClusterSnapshot", "Decision", "FitError", "Scheduler",
           "SchedulerSettings", "SchedulingQueue", "simulated_node", "simulated_nodes"]
