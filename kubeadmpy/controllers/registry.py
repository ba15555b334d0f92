"""The table of controllers kubeadmpy-controller-manager can run, and what each one is given.

Why a table: `--controllers` selects by name (upstream's canonical names, old short names as
aliases, `*` = every controller enabled by default), and each controller runs with its own RBAC
identity (`system:serviceaccount:kube-system:<account>` with --use-service-account-credentials).
Factories are named as "module:function" strings and imported only when selected, so a missing
or broken optional controller never stops the others from loading, and adding one is a one-line
edit here.

A factory takes a `ControllerContext` and returns something with `async def run()` — normally a
`kubeadmpy.client.Controller`, or a small object running several of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.client.informer import SharedInformerFactory
from kubeadmpy.client.rest import Client
from kubeadmpy.errors import ConfigError


class Runnable(Protocol):
    async def run(self) -> None: ...


@dataclass(frozen=True)
class ManagerOptions:
    """The controller-manager flags controllers read (the component's own flags stay in
    manager.py). Times are seconds."""

    cluster_cidr: str = ""
    allocate_node_cidrs: bool = False
    node_cidr_mask_size: int = 0  # 0: the family default (24 for IPv4, 64 for IPv6)
    node_cidr_mask_size_ipv4: int = 0
    node_cidr_mask_size_ipv6: int = 0
    service_cluster_ip_range: str = ""
    cluster_signing_cert_file: str = ""
    cluster_signing_key_file: str = ""
    cluster_signing_duration: float = 365 * 24 * 3600.0
    root_ca_file: str = ""
    service_account_private_key_file: str = ""
    node_monitor_grace_period: float = 40.0
    node_monitor_period: float = 5.0
    node_startup_grace_period: float = 60.0
    pod_eviction_timeout: float = 300.0
    terminated_pod_gc_threshold: int = 12500
    concurrent_deployment_syncs: int = 5
    concurrent_replicaset_syncs: int = 5
    concurrent_daemonset_syncs: int = 2
    concurrent_statefulset_syncs: int = 5
    concurrent_job_syncs: int = 5
    concurrent_cronjob_syncs: int = 5
    concurrent_gc_syncs: int = 20
    concurrent_namespace_syncs: int = 10
    concurrent_endpoint_syncs: int = 5
    concurrent_service_endpoint_syncs: int = 5
    concurrent_serviceaccount_syncs: int = 5
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ControllerContext:
    """What a factory gets: a client with the controller's own identity, the shared informers
    (read caches are shared between controllers, writes go through `client`), the options."""

    name: str
    client: Client
    informers: SharedInformerFactory
    options: ManagerOptions
    clock: Clock = field(default_factory=RealClock)
    root_dir: Path = Path("/")


Factory = Callable[[ControllerContext], Runnable]


@dataclass(frozen=True)
class ControllerEntry:
    name: str              # upstream's canonical name, e.g. "deployment-controller"
    factory: str           # "package.module:function"
    enabled_by_default: bool = True
    service_account: str = ""  # kube-system SA for --use-service-account-credentials
    aliases: tuple[str, ...] = ()  # older names accepted by --controllers

    def load(self) -> Factory:
        module_name, _, attr = self.factory.partition(":")
        module = importlib.import_module(module_name)
        factory: Factory = getattr(module, attr)
        return factory


W = "kubeadmpy.controllers"
C = "kubeadmpy.controllers.cluster"

CONTROLLERS: tuple[ControllerEntry, ...] = (
    ControllerEntry("deployment-controller", f"{W}.deployment:new_controller", True,
                    "deployment-controller", ("deployment",)),
    ControllerEntry("replicaset-controller", f"{W}.replicaset:new_controller", True,
                    "replicaset-controller", ("replicaset",)),
    ControllerEntry("daemonset-controller", f"{W}.daemonset:new_controller", True,
                    "daemon-set-controller", ("daemonset",)),
    ControllerEntry("statefulset-controller", f"{W}.statefulset:new_controller", True,
                    "statefulset-controller", ("statefulset",)),
    ControllerEntry("job-controller", f"{W}.job:new_controller", True,
                    "job-controller", ("job",)),
    ControllerEntry("cronjob-controller", f"{W}.cronjob:new_controller", True,
                    "cronjob-controller", ("cronjob",)),
    ControllerEntry("garbage-collector-controller", f"{W}.garbagecollector:new_controller",
                    True, "generic-garbage-collector", ("garbagecollector",)),
    ControllerEntry("namespace-controller", f"{W}.namespace:new_controller", True,
                    "namespace-controller", ("namespace",)),
    # Cluster controllers (kubeadmpy/controllers/cluster/); bootstrapsigner and tokencleaner
    # are off by default upstream (kubeadm turns them on with --controllers=*,bootstrapsigner,
    # tokencleaner).
    ControllerEntry("node-ipam-controller", f"{C}.nodeipam:new_controller", True,
                    "node-controller", ("nodeipam",)),
    ControllerEntry("node-lifecycle-controller", f"{C}.nodelifecycle:new_controller", True,
                    "node-controller", ("nodelifecycle",)),
    ControllerEntry("taint-eviction-controller", f"{C}.tainteviction:new_controller", True,
                    "node-controller"),
    ControllerEntry("endpoints-controller", f"{C}.endpoints:new_controller", True,
                    "endpoint-controller", ("endpoint",)),
    ControllerEntry("endpointslice-controller", f"{C}.endpointslice:new_controller", True,
                    "endpointslice-controller", ("endpointslice",)),
    ControllerEntry("serviceaccount-controller", f"{C}.serviceaccount:new_controller", True,
                    "service-account-controller", ("serviceaccount",)),
    ControllerEntry("root-ca-certificate-publisher-controller", f"{C}.rootca:new_controller",
                    True, "root-ca-cert-publisher", ("root-ca-cert-publisher",)),
    ControllerEntry("certificatesigningrequest-approving-controller",
                    f"{C}.csrapproving:new_controller", True, "certificate-controller",
                    ("csrapproving",)),
    ControllerEntry("certificatesigningrequest-signing-controller",
                    f"{C}.csrsigning:new_controller", True, "certificate-controller",
                    ("csrsigning",)),
    ControllerEntry("bootstrap-signer-controller", f"{C}.bootstrapsigner:new_controller",
                    False, "bootstrap-signer", ("bootstrapsigner",)),
    ControllerEntry("token-cleaner-controller", f"{C}.tokencleaner:new_controller", False,
                    "token-cleaner", ("tokencleaner",)),
    ControllerEntry("persistentvolume-binder-controller", f"{C}.pvbinder:new_controller",
                    True, "persistent-volume-binder", ("persistentvolume-binder",)),
    ControllerEntry("resourcequota-controller", f"{C}.resource_quota:new_controller", True,
                    "resourcequota-controller", ("resourcequota",)),
)

BY_NAME: dict[str, ControllerEntry] = {
    alias: entry for entry in CONTROLLERS for alias in (entry.name, *entry.aliases)}


def select_controllers(flag: list[str], entries: tuple[ControllerEntry, ...] = CONTROLLERS
                       ) -> list[ControllerEntry]:
    """Upstream's `--controllers` rules: `*` turns on the default set, `foo` turns on foo
    (even if off by default), `-foo` turns it off; for one controller the first item that
    names it wins, and only then does `*` count. Unknown names are an error naming the value,
    as upstream refuses them at start-up."""
    by_name = {alias: e for e in entries for alias in (e.name, *e.aliases)}
    star = False
    decided: dict[str, bool] = {}
    for raw in flag:
        item = raw.strip()
        if not item:
            continue
        if item == "*":
            star = True
            continue
        negate = item.startswith("-")
        name = item[1:] if negate else item
        entry = by_name.get(name)
        if entry is None:
            raise ConfigError("--controllers", f"{name!r} is not a known controller",
                              "Use '*' or names from: "
                              + ", ".join(sorted(e.name for e in entries)))
        decided.setdefault(entry.name, not negate)
    return [e for e in entries
            if decided.get(e.name, star and e.enabled_by_default)]
