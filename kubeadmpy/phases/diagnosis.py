"""Why the control plane did not come up: the answer `wait-control-plane` gives on a timeout.

kubeadm's answer to a control plane that never turns healthy is a list of crictl commands to run
by hand. kubeadmpy runs them itself: for every static pod in the manifests directory it asks the
runtime (CRI) for that pod's containers, says which component is not running (never created,
exited with a code, restarting) and quotes the last lines of its CRI log file; it adds the
kubelet's own state and log tail, since a kubelet that never started explains everything else.
Components that are not running come first: they are the likely cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kubeadmpy.cri import CRIClient, CRIError, api, read_log
from kubeadmpy.cri.logs import LogFormatError
from kubeadmpy.paths import MANIFESTS_DIR, HostPaths
from kubeadmpy.supervisor import Supervisor

# Upstream's container labels (the kubelet sets them on every container it creates).
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"
STATIC_POD_NAMESPACE = "kube-system"
DEFAULT_RUNTIME_ENDPOINT = "unix:///run/containerd/containerd.sock"
KUBELET_PROCESS = "kubelet"
TAIL_LINES = 8
LINE_WIDTH = 240


@dataclass
class ComponentReport:
    """What the runtime knows about one static pod's main container."""

    component: str  # manifest name: etcd, kube-apiserver, ...
    pod_name: str  # kube-apiserver-<node>
    state: str  # "running", "exited with code 1 (3 attempts)", "no container created", ...
    running: bool
    log_path: str = ""
    log_tail: list[str] = field(default_factory=list)

    def render(self) -> str:
        head = f"  {self.component} (pod {STATIC_POD_NAMESPACE}/{self.pod_name}): {self.state}"
        if not self.log_tail:
            return head + (f"; its log {self.log_path} is empty" if self.log_path else "")
        lines = "\n".join(f"      {line[:LINE_WIDTH]}" for line in self.log_tail)
        return f"{head}; last lines of {self.log_path}:\n{lines}"


def static_pods(paths: HostPaths, node_name: str) -> list[tuple[str, str]]:
    """(component, pod name) for every manifest, as the kubelet names static pods."""
    found = []
    directory = paths.host(MANIFESTS_DIR)
    if not directory.is_dir():
        return []
    for manifest in sorted(directory.glob("*.yaml")):
        try:
            doc = yaml.safe_load(manifest.read_text())
            name = str(doc["metadata"]["name"])
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            continue
        found.append((name, f"{name}-{node_name}"))
    return found


def log_tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last whole lines of a CRI log file (or of a plain one), as the program printed them."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return []
    raw = text.splitlines()[-lines * 4 :]
    try:
        return [record.text for record in read_log("\n".join(raw))][-lines:]
    except LogFormatError:
        return [line for line in raw if line.strip()][-lines:]


def _state(attempts: list[api.ContainerStatus]) -> tuple[str, bool]:
    latest = attempts[0]
    count = f" ({len(attempts)} attempts)" if len(attempts) > 1 else ""
    if latest.state == api.CONTAINER_RUNNING:
        return (f"running{count}", True)
    if latest.state == api.CONTAINER_EXITED:
        why = f", {latest.reason}" if latest.reason and latest.reason != "Error" else ""
        return (f"exited with code {latest.exit_code}{why}{count}", False)
    if latest.state == api.CONTAINER_CREATED:
        return (f"created but not started{count}", False)
    return (f"in an unknown state{count}", False)


async def _component_reports(
    endpoint: str, pods: list[tuple[str, str]], paths: HostPaths
) -> list[ComponentReport]:
    async with CRIClient(endpoint, timeout=5.0) as cri:
        containers = await cri.list_containers(
            api.ContainerFilter(label_selector={POD_NAMESPACE_LABEL: STATIC_POD_NAMESPACE})
        )
        statuses = [(await cri.container_status(c.id)).status for c in containers]
    reports = []
    for component, pod_name in pods:
        mine = [
            s
            for s in statuses
            if s.labels.get(POD_NAME_LABEL) == pod_name
            and s.labels.get(CONTAINER_NAME_LABEL) == component
        ] or [s for s in statuses if s.labels.get(POD_NAME_LABEL) == pod_name]
        if not mine:
            reports.append(
                ComponentReport(component, pod_name, "no container created yet", running=False)
            )
            continue
        mine.sort(key=lambda s: s.created_at, reverse=True)
        state, running = _state(mine)
        # The newest attempt may not have printed yet; an exited one says why it stopped.
        with_log = next((s for s in mine if log_tail(paths.host(s.log_path))), mine[0])
        reports.append(
            ComponentReport(
                component,
                pod_name,
                state,
                running,
                with_log.log_path,
                log_tail(paths.host(with_log.log_path)) if with_log.log_path else [],
            )
        )
    reports.sort(key=lambda r: r.running)
    return reports


def _kubelet_report(paths: HostPaths) -> str:
    status = Supervisor(paths).status(KUBELET_PROCESS)
    if status.pid is None and not status.log_path.exists():
        return "  kubelet: not started by kubeadmpy's supervisor on this machine"
    state = f"running (pid {status.pid})" if status.running else "NOT running"
    tail = log_tail(status.log_path)
    lines = "\n".join(f"      {line[:LINE_WIDTH]}" for line in tail)
    return f"  kubelet: {state}; last lines of {status.log_path}:\n{lines}" if tail else (
        f"  kubelet: {state}"
    )


def kubelet_stopped(paths: HostPaths) -> str | None:
    """The kubelet's log tail when the supervisor started it and it has exited, else None."""
    status = Supervisor(paths).status(KUBELET_PROCESS)
    if status.pid is None or status.running:
        return None
    return _kubelet_report(paths)


async def control_plane_diagnosis(
    paths: HostPaths, node_name: str, endpoint: str = DEFAULT_RUNTIME_ENDPOINT
) -> str:
    """Lines naming each control-plane component's state and last log lines, likely cause first."""
    pods = static_pods(paths, node_name)
    parts = []
    try:
        reports = await _component_reports(endpoint, pods, paths)
        parts += [report.render() for report in reports]
    except CRIError as exc:
        parts.append(f"  container runtime at {endpoint} did not answer: {exc}")
    parts.append(_kubelet_report(paths))
    return "\n".join(parts)
