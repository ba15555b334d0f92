"""Facts the kubelet derives from a pod object: QoS class, CRI resources, pull policy, names.

These are pure functions of the pod (and the node's memory capacity), shared by the pod worker,
the status computation and the tests; the numbers are upstream's (cgroup CPU shares per
millicore, CFS period 100 ms, oom_score_adj by QoS class).
"""

from __future__ import annotations

from typing import Any

from kubeadmpy.cri import api
from kubeadmpy.scheduler.quantities import lenient

JSONObject = dict[str, Any]

CPU_PERIOD_US = 100_000
MIN_SHARES = 2
SHARES_PER_CPU = 1024
MIN_QUOTA_US = 1000
GUARANTEED_OOM_SCORE_ADJ = -997
BEST_EFFORT_OOM_SCORE_ADJ = 1000


def pod_full_name(pod: JSONObject) -> str:
    """``name_namespace(uid)``, how upstream names a pod in messages."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def containers(pod: JSONObject) -> list[JSONObject]:
    return list((pod.get("spec") or {}).get("containers") or [])


def init_containers(pod: JSONObject) -> list[JSONObject]:
    return list((pod.get("spec") or {}).get("initContainers") or [])


def _resources(container: JSONObject, kind: str) -> JSONObject:
    return dict(((container.get("resources") or {}).get(kind)) or {})


def qos_class(pod: JSONObject) -> str:
    """Guaranteed, Burstable or BestEffort, by upstream's rules (cpu and memory only)."""
    every = containers(pod) + init_containers(pod)
    requests_seen = limits_seen = False
    guaranteed = True
    for container in every:
        requests = _resources(container, "requests")
        limits = _resources(container, "limits")
        for name in ("cpu", "memory"):
            request, limit = requests.get(name, limits.get(name)), limits.get(name)
            if request is not None and lenient(request, True) > 0:
                requests_seen = True
            if limit is not None and lenient(limit, True) > 0:
                limits_seen = True
            if limit is None or request is None or \
                    lenient(request, True) != lenient(limit, True):
                guaranteed = False
    if not requests_seen and not limits_seen:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def oom_score_adj(pod: JSONObject, container: JSONObject, memory_capacity: int) -> int:
    qos = qos_class(pod)
    if qos == "Guaranteed":
        return GUARANTEED_OOM_SCORE_ADJ
    if qos == "BestEffort":
        return BEST_EFFORT_OOM_SCORE_ADJ
    request = lenient(_resources(container, "requests").get("memory", 0), False)
    score = 1000 - (1000 * request) // max(memory_capacity, 1)
    # Burstable stays strictly between Guaranteed and BestEffort.
    return int(min(max(score, 1000 + GUARANTEED_OOM_SCORE_ADJ + 1), BEST_EFFORT_OOM_SCORE_ADJ - 1))


def linux_resources(pod: JSONObject, container: JSONObject,
                    memory_capacity: int) -> api.LinuxContainerResources:
    """requests/limits → cgroup values: shares from the cpu request, quota from the cpu limit,
    the memory limit in bytes, and the QoS class's oom_score_adj."""
    requests = _resources(container, "requests")
    limits = _resources(container, "limits")
    cpu_request = lenient(requests.get("cpu", limits.get("cpu", 0)), True)
    shares = max(MIN_SHARES, cpu_request * SHARES_PER_CPU // 1000) if cpu_request else MIN_SHARES
    resources = api.LinuxContainerResources(
        cpu_shares=shares, oom_score_adj=oom_score_adj(pod, container, memory_capacity))
    cpu_limit = lenient(limits.get("cpu", 0), True)
    if cpu_limit:
        resources.cpu_period = CPU_PERIOD_US
        resources.cpu_quota = max(MIN_QUOTA_US, cpu_limit * CPU_PERIOD_US // 1000)
    memory_limit = lenient(limits.get("memory", 0), False)
    if memory_limit:
        resources.memory_limit_in_bytes = memory_limit
    return resources


def image_pull_policy(container: JSONObject) -> str:
    """The container's policy, defaulted like the API server: Always for :latest or no tag."""
    policy = container.get("imagePullPolicy")
    if policy in ("Always", "IfNotPresent", "Never"):
        return str(policy)
    image = str(container.get("image", ""))
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def restart_policy(pod: JSONObject) -> str:
    return str((pod.get("spec") or {}).get("restartPolicy") or "Always")


def grace_period(pod: JSONObject) -> int:
    meta = pod.get("metadata") or {}
    if meta.get("deletionGracePeriodSeconds") is not None:
        return int(meta["deletionGracePeriodSeconds"])
    value = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return 30 if value is None else int(value)


def has_privileged_container(pod: JSONObject) -> bool:
    """Any container or init container asks for securityContext.privileged."""
    spec = pod.get("spec") or {}
    return any(bool((c.get("securityContext") or {}).get("privileged"))
               for key in ("initContainers", "containers") for c in spec.get(key) or [])


def is_host_network(pod: JSONObject) -> bool:
    return bool((pod.get("spec") or {}).get("hostNetwork"))


def cgroup_parent(pod: JSONObject, cgroup_driver: str) -> str:
    """The pod's cgroup under upstream's kubepods hierarchy for the systemd driver (systemd
    needs a slice name); "" for cgroupfs, where containerd's default parent is used."""
    if cgroup_driver != "systemd":
        return ""
    uid = str((pod.get("metadata") or {}).get("uid", "")).replace("-", "_")
    qos = qos_class(pod)
    if qos == "Guaranteed":
        return f"kubepods-pod{uid}.slice"
    return f"kubepods-{qos.lower()}-pod{uid}.slice"
