"""The kubelet's view of containerd: CRI configs built from pods, and pods read back from CRI.

Every sandbox and container the kubelet creates carries upstream's labels
(``io.kubernetes.pod.uid``, ``io.kubernetes.container.name``...) and annotations (container
hash, restart count, grace period). That is what makes the kubelet restart-safe: on start it
lists CRI, groups by those labels and adopts what it finds instead of creating it again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.cri import CRIClient, api
from kubeadmpy.kubelet import podutil

JSONObject = dict[str, Any]

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_HASH = "io.kubernetes.container.hash"
RESTART_COUNT = "io.kubernetes.container.restartCount"
GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod"
TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath"
INIT_CONTAINER = "io.kubernetes.container.init"  # ours: tells init containers apart on adoption
KUBELET_MANAGED = "io.kubernetes.kubeadmpy.managed"


@dataclass(frozen=True)
class RuntimeContainer:
    id: str
    name: str
    sandbox_id: str
    state: int
    attempt: int
    created_at: int
    hash: str
    restart_count: int


@dataclass(frozen=True)
class RuntimeSandbox:
    id: str
    state: int
    attempt: int
    created_at: int


@dataclass
class RuntimePod:
    """What CRI holds for one pod uid."""

    uid: str
    name: str = ""
    namespace: str = ""
    sandboxes: list[RuntimeSandbox] = field(default_factory=list)
    containers: list[RuntimeContainer] = field(default_factory=list)

    def latest_sandbox(self) -> RuntimeSandbox | None:
        return max(self.sandboxes, key=lambda s: (s.created_at, s.attempt), default=None)

    def latest(self, name: str) -> RuntimeContainer | None:
        """The newest instance of the container called `name`."""
        mine = [c for c in self.containers if c.name == name]
        return max(mine, key=lambda c: (c.created_at, c.attempt), default=None)

    def signature(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted([(s.id, s.state) for s in self.sandboxes] +
                            [(c.id, c.state) for c in self.containers]))


async def list_runtime_pods(cri: CRIClient) -> dict[str, RuntimePod]:
    """Every kubelet-made sandbox and container, grouped by pod uid (PLEG's relist)."""
    pods: dict[str, RuntimePod] = {}
    for sandbox in await cri.list_pod_sandbox():
        uid = sandbox.labels.get(POD_UID) or sandbox.metadata.uid
        if not uid:
            continue
        pod = pods.setdefault(uid, RuntimePod(uid, sandbox.metadata.name,
                                              sandbox.metadata.namespace))
        pod.sandboxes.append(RuntimeSandbox(sandbox.id, sandbox.state,
                                            sandbox.metadata.attempt, sandbox.created_at))
    for container in await cri.list_containers():
        uid = container.labels.get(POD_UID)
        if not uid:
            continue
        pod = pods.setdefault(uid, RuntimePod(uid, container.labels.get(POD_NAME, ""),
                                              container.labels.get(POD_NAMESPACE, "")))
        pod.containers.append(RuntimeContainer(
            container.id, container.labels.get(CONTAINER_NAME, container.metadata.name),
            container.pod_sandbox_id, container.state, container.metadata.attempt,
            container.created_at, container.annotations.get(CONTAINER_HASH, ""),
            int(container.annotations.get(RESTART_COUNT, "0") or 0)))
    return pods


def container_hash(container: JSONObject) -> str:
    """A stable hash of the container spec; a change means the container is recreated."""
    text = json.dumps(container, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class DNS:
    servers: tuple[str, ...]
    searches: tuple[str, ...]
    options: tuple[str, ...]


def host_resolv_conf(path: str) -> DNS:
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    try:
        lines = open(path).read().splitlines()  # noqa: SIM115 - tiny file, read once
    except OSError:
        lines = []
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        if words[0] == "nameserver":
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            searches = words[1:]
        elif words[0] == "options":
            options += words[1:]
    return DNS(tuple(servers), tuple(searches), tuple(options))


def pod_dns(pod: JSONObject, cluster_dns: tuple[str, ...], cluster_domain: str,
            resolv_conf: str) -> DNS:
    """The pod's resolv.conf by dnsPolicy, as upstream computes it."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    host = host_resolv_conf(resolv_conf)
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and cluster_dns:
        namespace = (pod.get("metadata") or {}).get("namespace", "default")
        searches = (f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}",
                    cluster_domain, *host.searches) if cluster_domain else host.searches
        dns = DNS(cluster_dns, tuple(searches), ("ndots:5",))
    elif policy == "None":
        dns = DNS((), (), ())
    else:
        dns = host
    extra = spec.get("dnsConfig") or {}
    options = list(dns.options)
    for option in extra.get("options") or []:
        text = option.get("name", "") + (f":{option['value']}" if option.get("value") else "")
        options.append(text)
    return DNS(dns.servers + tuple(extra.get("nameservers") or []),
               dns.searches + tuple(extra.get("searches") or []), tuple(options))


def sandbox_config(pod: JSONObject, attempt: int, dns: DNS, logs_dir: str,
                   cgroup_parent: str = "") -> api.PodSandboxConfig:
    meta = pod["metadata"]
    spec = pod.get("spec") or {}
    name, namespace, uid = meta["name"], meta.get("namespace", "default"), meta["uid"]
    labels = {**(meta.get("labels") or {}), POD_NAME: name, POD_NAMESPACE: namespace,
              POD_UID: uid, KUBELET_MANAGED: "true"}
    ports = []
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                ports.append(api.PortMapping(
                    protocol={"TCP": api.TCP, "UDP": api.UDP, "SCTP": api.SCTP}.get(
                        port.get("protocol", "TCP"), api.TCP),
                    container_port=int(port.get("containerPort", 0)),
                    host_port=int(port["hostPort"]), host_ip=port.get("hostIP", "")))
    network = api.NODE if spec.get("hostNetwork") else api.POD
    hostname = spec.get("hostname") or name
    if spec.get("hostNetwork"):
        hostname = ""
    return api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=uid, namespace=namespace,
                                        attempt=attempt),
        hostname=hostname[:63],
        log_directory=f"{logs_dir}/{namespace}_{name}_{uid}",
        dns_config=api.DNSConfig(servers=list(dns.servers), searches=list(dns.searches),
                                 options=list(dns.options)),
        port_mappings=ports,
        labels=labels,
        annotations=dict(meta.get("annotations") or {}),
        linux=api.LinuxPodSandboxConfig(
            cgroup_parent=cgroup_parent,
            security_context=api.LinuxSandboxSecurityContext(
                # containerd refuses a privileged container in an unprivileged sandbox
                privileged=podutil.has_privileged_container(pod),
                namespace_options=api.NamespaceOption(
                    network=network,
                    pid=api.NODE if spec.get("hostPID") else api.CONTAINER,
                    ipc=api.NODE if spec.get("hostIPC") else api.POD))),
    )
