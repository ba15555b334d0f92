"""Control-plane static pod manifests (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler), computed from the `COMPONENTS` table and rendered through one template.

Each manifest is parsed back after rendering and checked against the values it was made from,
so a quoting slip or a template edit that breaks the structure fails here, not in a kubelet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from kubeadmpy.paths import MANIFESTS_DIR
from kubeadmpy.render.components import COMPONENTS, ComponentSpec
from kubeadmpy.render.environment import RenderedFile, RenderError, render_template
from kubeadmpy.render.probes import Probes
from kubeadmpy.render.quoting import load_yaml
from kubeadmpy.render.values import (
    ControlPlaneValues,
    EnvVar,
    HostPathMount,
    LocalEtcd,
    validate_control_plane_values,
)

MANIFEST_MODE = 0o600
CONTROL_PLANE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


@dataclass(frozen=True)
class PodPlan:
    """Everything the static-pod template lays out, already computed and sorted."""

    name: str
    image: str
    command: list[str]
    env: list[EnvVar]
    annotations: dict[str, str]
    probes: Probes
    requests: dict[str, str]
    volumes: list[HostPathMount]  # sorted by name
    volume_mounts: list[HostPathMount]  # kubeadm's mount order (see ComponentSpec.mounts_first)


def manifest_path(component: str) -> PurePosixPath:
    """Where the kubelet finds the static pod of `component`."""
    return MANIFESTS_DIR / f"{component}.yaml"


def image_for(spec: ComponentSpec, values: ControlPlaneValues) -> str:
    """The container image: kubeadm's for upstream, the local control-plane image for python."""
    etcd = values.etcd
    if spec.name == "etcd" and isinstance(etcd, LocalEtcd) and (etcd.image_repository
                                                                or etcd.image_tag):
        # etcd.local.imageRepository/imageTag override the image in both flavors, as in kubeadm.
        repository = etcd.image_repository or values.image_repository
        return f"{repository}/etcd:{etcd.image_tag or values.version.etcd_image_tag}"
    if values.flavor == "python":
        return values.python_image
    tag = values.version.etcd_image_tag if spec.name == "etcd" else values.version.tag
    return f"{values.image_repository}/{spec.upstream_command}:{tag}"


def plan_pod(spec: ComponentSpec, values: ControlPlaneValues) -> PodPlan:
    """Compute the pod of one component."""
    extras = spec.extras(values)
    merged = spec.merged_args(values)
    volumes: dict[str, HostPathMount] = {v.name: v for v in spec.volumes(values, merged)}
    if values.flavor == "python":
        volumes.update((v.name, v) for v in values.extra_host_volumes)
    volumes.update((v.name, v) for v in extras.extra_volumes)  # same name replaces a default
    env: dict[str, EnvVar] = {e.name: e for e in values.proxy_env}
    env.update((e.name, e) for e in extras.extra_envs)  # extraEnvs win over proxy variables
    first = [name for name in spec.mounts_first if name in volumes]
    mount_order = first + sorted(name for name in volumes if name not in first)
    requests = {"cpu": spec.cpu_request}
    if spec.memory_request:
        requests["memory"] = spec.memory_request
    return PodPlan(
        name=spec.name,
        image=image_for(spec, values),
        command=spec.command(values),
        env=[env[name] for name in sorted(env)],
        annotations=dict(sorted(spec.annotations(values).items())),
        probes=spec.probes(values, merged),
        requests=requests,
        volumes=[volumes[name] for name in sorted(volumes)],
        volume_mounts=[volumes[name] for name in mount_order],
    )


def render_static_pod(component: str, values: ControlPlaneValues) -> RenderedFile:
    """The manifest of one component ("etcd", "kube-apiserver", ...), parsed and checked."""
    validate_control_plane_values(values)
    if component not in COMPONENTS:
        raise RenderError(f"unknown control-plane component {component!r}; "
                          f"known: {', '.join(COMPONENTS)}")
    plan = plan_pod(COMPONENTS[component], values)
    content = render_template("kubernetes/static-pod.yaml.j2", pod=plan)
    check_static_pod(content, plan)
    return RenderedFile(content, MANIFEST_MODE)


def render_control_plane(values: ControlPlaneValues, *,
                         components: tuple[str, ...] = CONTROL_PLANE_COMPONENTS,
                         ) -> dict[PurePosixPath, RenderedFile]:
    """The manifests of `components`, keyed by their logical path under /etc/kubernetes."""
    return {manifest_path(name): render_static_pod(name, values) for name in components}


def render_etcd(values: ControlPlaneValues) -> dict[PurePosixPath, RenderedFile]:
    """The local etcd manifest ({} with external etcd: nothing runs here)."""
    if not isinstance(values.etcd, LocalEtcd):
        return {}
    return {manifest_path("etcd"): render_static_pod("etcd", values)}


def check_static_pod(content: str, plan: PodPlan) -> dict[str, Any]:
    """Parse a rendered manifest and check it says what the plan says."""
    try:
        pod = load_yaml(content)
    except yaml.YAMLError as exc:
        raise RenderError(f"static pod {plan.name} is not YAML: {exc}") from exc
    problems = []
    if not isinstance(pod, dict) or pod.get("kind") != "Pod" or pod.get("apiVersion") != "v1":
        raise RenderError(f"static pod {plan.name} is not a v1 Pod")
    containers = pod.get("spec", {}).get("containers", [])
    if len(containers) != 1:
        raise RenderError(f"static pod {plan.name} has {len(containers)} containers, not 1")
    container = containers[0]
    if pod["metadata"].get("name") != plan.name:
        problems.append("metadata.name")
    if container.get("command") != plan.command:
        problems.append("command")
    if container.get("image") != plan.image:
        problems.append("image")
    if [(e["name"], e["value"]) for e in container.get("env", [])] != [
            (e.name, e.value) for e in plan.env]:
        problems.append("env")
    if (pod["metadata"].get("annotations") or {}) != plan.annotations:
        problems.append("annotations")
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v["hostPath"]["path"] for v in pod["spec"].get("volumes", [])}
    if mounts != {v.name: v.mount_path for v in plan.volumes} or volumes != {
            v.name: v.host_path for v in plan.volumes}:
        problems.append("volumes")
    if container.get("livenessProbe", {}).get("httpGet", {}).get("port") != \
            plan.probes.liveness.port:
        problems.append("livenessProbe")
    if problems:
        raise RenderError(f"static pod {plan.name} did not parse back as computed: "
                          f"{', '.join(problems)} differ")
    return pod
