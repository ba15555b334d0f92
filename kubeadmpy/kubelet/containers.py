"""A container's CRI configuration from its pod: command and args with ``$(VAR)`` expanded,
environment, volume mounts (subPath checked to stay inside the volume), upstream's labels and
annotations (what adoption after a restart reads back), log path, resources and namespaces.
"""

from __future__ import annotations

from typing import Any

from kubeadmpy.cri import api
from kubeadmpy.kubelet import podutil, runtime
from kubeadmpy.kubelet.env import expand
from kubeadmpy.kubelet.volumes import VolumeError

JSONObject = dict[str, Any]
PROPAGATION = {"HostToContainer": api.PROPAGATION_HOST_TO_CONTAINER,
               "Bidirectional": api.PROPAGATION_BIDIRECTIONAL}


def container_mounts(spec: JSONObject, mounts: dict[str, tuple[str, bool]],
                     variables: dict[str, str]) -> list[api.Mount]:
    """volumeMounts → CRI mounts; `mounts` maps volume name → (host path, read-only)."""
    result = []
    for mount in spec.get("volumeMounts") or []:
        volume = mounts.get(str(mount.get("name", "")))
        if volume is None:
            raise VolumeError(f"volume {mount.get('name')!r} of volumeMount "
                              f"{mount.get('mountPath')!r} is not a volume of the pod")
        host_path = volume[0]
        sub_path = expand(str(mount.get("subPath") or mount.get("subPathExpr") or ""),
                          variables)
        if sub_path:
            if sub_path.startswith("/") or ".." in sub_path.split("/"):
                raise VolumeError(f"subPath {sub_path!r} must be a relative path "
                                  "inside the volume")
            host_path = f"{host_path}/{sub_path}"
        result.append(api.Mount(
            container_path=str(mount.get("mountPath", "")), host_path=host_path,
            readonly=bool(mount.get("readOnly")) or volume[1],
            propagation=PROPAGATION.get(str(mount.get("mountPropagation", "")),
                                        api.PROPAGATION_PRIVATE)))
    return result


def container_config(pod: JSONObject, spec: JSONObject, env: list[tuple[str, str]],
                     restart_count: int, mounts: dict[str, tuple[str, bool]], init: bool,
                     memory_capacity: int) -> api.ContainerConfig:
    """The CreateContainer config of `spec` with its resolved environment `env`."""
    variables = dict(env)
    cri_mounts = container_mounts(spec, mounts, variables)
    meta = pod["metadata"]
    name = spec["name"]
    labels = {runtime.POD_NAME: meta["name"], runtime.POD_NAMESPACE: meta.get(
        "namespace", "default"), runtime.POD_UID: meta["uid"],
        runtime.CONTAINER_NAME: name, runtime.KUBELET_MANAGED: "true"}
    annotations = {runtime.CONTAINER_HASH: runtime.container_hash(spec),
                   runtime.RESTART_COUNT: str(restart_count),
                   runtime.GRACE_PERIOD: str(podutil.grace_period(pod)),
                   runtime.TERMINATION_MESSAGE_PATH: str(spec.get(
                       "terminationMessagePath", "/dev/termination-log"))}
    if init:
        annotations[runtime.INIT_CONTAINER] = "true"
    security = spec.get("securityContext") or {}
    return api.ContainerConfig(
        metadata=api.ContainerMetadata(name=name, attempt=restart_count),
        image=api.ImageSpec(image=str(spec.get("image", ""))),
        command=[expand(str(part), variables) for part in spec.get("command") or []],
        args=[expand(str(part), variables) for part in spec.get("args") or []],
        working_dir=str(spec.get("workingDir") or ""),
        envs=[api.KeyValue(key=k, value=v) for k, v in env],
        mounts=cri_mounts, labels=labels, annotations=annotations,
        log_path=f"{name}/{restart_count}.log",
        stdin=bool(spec.get("stdin")), stdin_once=bool(spec.get("stdinOnce")),
        tty=bool(spec.get("tty")),
        linux=api.LinuxContainerConfig(
            resources=podutil.linux_resources(pod, spec, memory_capacity),
            security_context=api.LinuxContainerSecurityContext(
                privileged=bool(security.get("privileged")),
                namespace_options=api.NamespaceOption(
                    network=api.NODE if podutil.is_host_network(pod) else api.POD,
                    pid=api.NODE if (pod.get("spec") or {}).get("hostPID")
                    else api.CONTAINER,
                    ipc=api.NODE if (pod.get("spec") or {}).get("hostIPC") else api.POD))))
