"""How the installer talks to the cluster it is making: an admin client and create-or-update.

The phases are synchronous; each API phase runs one coroutine with a client built from
admin.conf. Like kubeadm, the first use makes sure admin.conf's group (kubeadm:cluster-admins) is
bound to cluster-admin, falling back to super-admin.conf (system:masters) when admin.conf is not
yet allowed to create that binding.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from kubeadmpy.client import Client, errors, load_kubeconfig
from kubeadmpy.paths import KUBERNETES_DIR, HostPaths
from kubeadmpy.phases import cluster_objects

T = TypeVar("T")
JSON = dict[str, Any]

# Kinds the installer writes, resolved from the client's static table without discovery.
REFS = {
    "Namespace": "namespaces",
    "ServiceAccount": "serviceaccounts",
    "Service": "services",
    "DaemonSet": "daemonsets.apps",
    "Deployment": "deployments.apps",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Role": "roles.rbac.authorization.k8s.io",
    "RoleBinding": "rolebindings.rbac.authorization.k8s.io",
    "ClusterRole": "clusterroles.rbac.authorization.k8s.io",
    "ClusterRoleBinding": "clusterrolebindings.rbac.authorization.k8s.io",
}


def kubeconfig_path(paths: HostPaths, name: str) -> Path:
    return paths.host(KUBERNETES_DIR / name)


def run(coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one API phase's coroutine to completion from synchronous phase code."""
    return asyncio.run(coroutine())


async def create_or_update(client: Client, obj: JSON) -> JSON:
    """Create `obj`, or replace the stored one's content keeping its resourceVersion.

    A Service with a fixed clusterIP that exists already is refused as Invalid ("provided IP
    is already allocated", the address is checked before the name); like kubeadm's DNS
    Service step, that counts as "exists" when the Service is there.
    """
    ref = REFS[obj["kind"]]
    meta = obj["metadata"]
    try:
        return await client.create(ref, obj, meta.get("namespace"))
    except (errors.AlreadyExists, errors.Invalid) as exc:
        try:
            current = await client.get(ref, meta["name"], meta.get("namespace"))
        except errors.NotFound:
            raise exc from None
        merged = {**obj, "metadata": {**current["metadata"], **meta}}
        merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return await client.update(ref, merged, meta.get("namespace"))


async def apply_all(client: Client, objects: list[JSON]) -> None:
    for obj in objects:
        await create_or_update(client, obj)


def admin_client(paths: HostPaths) -> Client:
    return Client(load_kubeconfig(kubeconfig_path(paths, "admin.conf")))


async def ensure_cluster_admins(paths: HostPaths) -> None:
    """kubeadm's first API call: bind kubeadm:cluster-admins, as admin or else as super-admin."""
    binding = cluster_objects.cluster_admins_binding()
    async with admin_client(paths) as client:
        try:
            await create_or_update(client, binding)
            return
        except errors.Forbidden:
            pass
    super_admin = kubeconfig_path(paths, "super-admin.conf")
    async with Client(load_kubeconfig(super_admin)) as client:
        await create_or_update(client, binding)
