"""kube-controller-manager as a component: flags, controller selection, identities, running.

Flags keep upstream's names and defaults so kubeadm's static pod manifest works unchanged
(`--controllers=*,bootstrapsigner,tokencleaner`, `--secure-port` 10257, `--leader-elect*`,
`--use-service-account-credentials`, ...). One shared informer factory feeds every controller's
cache (one watch per resource for the whole process); writes go through each controller's own
client. With --use-service-account-credentials each controller gets a token for its own
`kube-system` service account (created if missing, as upstream's client builder does) so the
API server sees e.g. `system:serviceaccount:kube-system:deployment-controller`; otherwise all
use the --kubeconfig identity. Controllers run only while this process leads.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kubeadmpy.client import errors
from kubeadmpy.client.component import ComponentSettings, RunningComponent, run_component
from kubeadmpy.client.config import ClientConfig, TokenSource, load_config
from kubeadmpy.client.informer import SharedInformerFactory
from kubeadmpy.client.leaderelection import leader_election_flags, leader_election_settings
from kubeadmpy.client.rest import Client
from kubeadmpy.config.durations import DurationSyntaxError, parse_go_duration
from kubeadmpy.controllers.cluster.cidrset import cidr_sets
from kubeadmpy.controllers.registry import (
    CONTROLLERS,
    ControllerContext,
    ControllerEntry,
    ManagerOptions,
    Runnable,
    select_controllers,
)
from kubeadmpy.errors import ConfigError

log = logging.getLogger(__name__)
SECURE_PORT = 10257
COMPONENT = "kube-controller-manager"
SA_NAMESPACE = "kube-system"
TOKEN_SECONDS = 3600  # upstream's client builder asks for one-hour tokens and renews early


@dataclass(frozen=True)
class ManagerSettings:
    kubeconfig: str
    component: ComponentSettings
    controllers: tuple[ControllerEntry, ...]
    options: ManagerOptions = field(default_factory=ManagerOptions)
    use_service_account_credentials: bool = False
    qps: float = 20.0
    burst: int = 30
    verbosity: int = 0


def _bool(text: str) -> bool:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean (use true or false)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubeadmpy-controller-manager",
                                description="Runs the control loops (kube-controller-manager).")
    add = p.add_argument
    add("--kubeconfig", default="", help="kubeconfig with the controller-manager's identity "
        "(empty: in-cluster service account).")
    for accepted in ("--authentication-kubeconfig", "--authorization-kubeconfig",
                     "--client-ca-file", "--requestheader-client-ca-file", "--cluster-name"):
        add(accepted, default="", help="Accepted for kubeadm compatibility.")
    add("--bind-address", default="0.0.0.0", help="Address for /healthz.")
    add("--secure-port", type=int, default=SECURE_PORT, help="HTTPS port for health (0: any).")
    add("--tls-cert-file", default="")
    add("--tls-private-key-file", default="")
    add("--controllers", default="*", help="Comma-separated: '*' (the defaults), 'foo' "
        "(enable), '-foo' (disable).")
    add("--use-service-account-credentials", type=_bool, nargs="?", const=True, default=False,
        help="Give each controller its own kube-system service account.")
    add("--cluster-cidr", default="")
    add("--allocate-node-cidrs", type=_bool, nargs="?", const=True, default=False)
    add("--node-cidr-mask-size", type=int, default=0)
    add("--node-cidr-mask-size-ipv4", type=int, default=0)
    add("--node-cidr-mask-size-ipv6", type=int, default=0)
    add("--service-cluster-ip-range", default="")
    add("--cluster-signing-cert-file", default="")
    add("--cluster-signing-key-file", default="")
    add("--cluster-signing-duration", default="8760h0m0s")
    add("--root-ca-file", default="")
    add("--service-account-private-key-file", default="")
    add("--node-monitor-grace-period", default="40s")
    add("--node-monitor-period", default="5s")
    add("--node-startup-grace-period", default="1m0s")
    add("--terminated-pod-gc-threshold", type=int, default=12500)
    for name, default in (("deployment", 5), ("replicaset", 5), ("daemonset", 2),
                          ("statefulset", 5), ("job", 5), ("cron-job", 5), ("gc", 20),
                          ("namespace", 10), ("endpoint", 5), ("service-endpoint", 5),
                          ("serviceaccount-token", 5)):
        add(f"--concurrent-{name}-syncs", type=int, default=default)
    add("--kube-api-qps", type=float, default=20.0)
    add("--kube-api-burst", type=int, default=30)
    add("-v", "--v", default="0", help="Log verbosity (4 and up logs debug).")
    leader_election_flags(p, resource_name=COMPONENT)
    return p


def _duration(flag: str, text: str) -> float:
    """A period, grace period or certificate lifetime: a Go duration above zero."""
    try:
        seconds = parse_go_duration(text).total_seconds()
    except DurationSyntaxError as exc:
        raise ConfigError(flag, f"{text!r} is not a duration",
                          'Write it like "40s" or "1m30s"') from exc
    if seconds <= 0:
        raise ConfigError(flag, f"{text!r} is not above zero", 'Use a positive duration, '
                          'e.g. "40s"')
    return seconds


def parse_settings(argv: list[str]) -> ManagerSettings:
    args = parser().parse_args(argv)
    if not 0 <= args.secure_port <= 65535:
        raise ConfigError("--secure-port", f"{args.secure_port} is not a port",
                          "Use 1-65535 (or 0 for any free port)")
    for name in ("deployment", "replicaset", "daemonset", "statefulset", "job", "gc",
                 "namespace"):
        if getattr(args, f"concurrent_{name}_syncs") < 1:
            raise ConfigError(f"--concurrent-{name}-syncs", "must be at least 1",
                              "Use a positive number of workers")
    controllers = tuple(select_controllers(args.controllers.split(",")))
    if args.allocate_node_cidrs:  # refuse a bad CIDR or mask size now, not once leading
        cidr_sets(args.cluster_cidr, args.node_cidr_mask_size, args.node_cidr_mask_size_ipv4,
                  args.node_cidr_mask_size_ipv6)
    if bool(args.cluster_signing_cert_file) != bool(args.cluster_signing_key_file):
        raise ConfigError("--cluster-signing-key-file", "only one of the signing cert and key "
                          "files is set", "Pass both --cluster-signing-cert-file and "
                          "--cluster-signing-key-file")
    options = ManagerOptions(
        cluster_cidr=args.cluster_cidr, allocate_node_cidrs=args.allocate_node_cidrs,
        node_cidr_mask_size=args.node_cidr_mask_size,
        node_cidr_mask_size_ipv4=args.node_cidr_mask_size_ipv4,
        node_cidr_mask_size_ipv6=args.node_cidr_mask_size_ipv6,
        service_cluster_ip_range=args.service_cluster_ip_range,
        cluster_signing_cert_file=args.cluster_signing_cert_file,
        cluster_signing_key_file=args.cluster_signing_key_file,
        cluster_signing_duration=_duration("--cluster-signing-duration",
                                           args.cluster_signing_duration),
        root_ca_file=args.root_ca_file,
        service_account_private_key_file=args.service_account_private_key_file,
        node_monitor_grace_period=_duration("--node-monitor-grace-period",
                                            args.node_monitor_grace_period),
        node_monitor_period=_duration("--node-monitor-period", args.node_monitor_period),
        node_startup_grace_period=_duration("--node-startup-grace-period",
                                            args.node_startup_grace_period),
        terminated_pod_gc_threshold=args.terminated_pod_gc_threshold,
        concurrent_deployment_syncs=args.concurrent_deployment_syncs,
        concurrent_replicaset_syncs=args.concurrent_replicaset_syncs,
        concurrent_daemonset_syncs=args.concurrent_daemonset_syncs,
        concurrent_statefulset_syncs=args.concurrent_statefulset_syncs,
        concurrent_job_syncs=args.concurrent_job_syncs,
        concurrent_cronjob_syncs=args.concurrent_cron_job_syncs,
        concurrent_gc_syncs=args.concurrent_gc_syncs,
        concurrent_namespace_syncs=args.concurrent_namespace_syncs,
        concurrent_endpoint_syncs=args.concurrent_endpoint_syncs,
        concurrent_service_endpoint_syncs=args.concurrent_service_endpoint_syncs)
    election = leader_election_settings(args)
    component = ComponentSettings(
        name=COMPONENT, bind_address=args.bind_address, secure_port=args.secure_port,
        tls_cert_file=args.tls_cert_file, tls_private_key_file=args.tls_private_key_file,
        leader_election=election)
    try:
        verbosity = int(args.v)
    except ValueError as exc:
        raise ConfigError("--v", f"{args.v!r} is not a number", "Use 0-10") from exc
    return ManagerSettings(args.kubeconfig, component, controllers, options,
                           args.use_service_account_credentials, args.kube_api_qps,
                           args.kube_api_burst, verbosity)


def user_agent(account: str = "") -> str:
    """Upstream's shape: `kube-controller-manager/<version> (<os>/<arch>) kubernetes/<commit>`,
    with `/system:serviceaccount:kube-system:<account>` appended per controller."""
    base = f"{COMPONENT}/v1.33.0 ({sys.platform}/{platform.machine()}) kubeadmpy"
    return f"{base}/system:serviceaccount:{SA_NAMESPACE}:{account}" if account else base


class RenewedToken(TokenSource):
    """A bound service-account token the manager requests and renews itself."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.value = token

    def token(self) -> str:
        return self.value


class ServiceAccountCredentials:
    """Per-controller clients for --use-service-account-credentials (TokenRequest API)."""

    def __init__(self, root: Client) -> None:
        self.root = root
        self.tokens: dict[str, RenewedToken] = {}

    async def ensure_account(self, account: str) -> None:
        body = {"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": account, "namespace": SA_NAMESPACE}}
        try:
            await self.root.get("serviceaccounts", account, SA_NAMESPACE)
        except errors.NotFound:
            with contextlib.suppress(errors.AlreadyExists):
                await self.root.create("serviceaccounts", body, SA_NAMESPACE)

    async def request_token(self, account: str) -> str:
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": TOKEN_SECONDS}}
        try:
            answer = await self.root.create("serviceaccounts", body, SA_NAMESPACE, name=account,
                                            subresource="token")
        except (errors.NotFound, errors.MethodNotAllowed) as exc:
            raise ConfigError("--use-service-account-credentials",
                              f"the API server did not issue a token for service account "
                              f"{SA_NAMESPACE}/{account}: {exc}",
                              "Run an API server that serves serviceaccounts/token, or start "
                              "without --use-service-account-credentials") from exc
        return str((answer.get("status") or {}).get("token") or "")

    async def config_for(self, account: str) -> ClientConfig:
        await self.ensure_account(account)
        source = RenewedToken(await self.request_token(account))
        self.tokens[account] = source
        base = self.root.config
        return dataclasses.replace(base, client_cert_pem=b"", client_key_pem=b"",
                                   token_source=source, user_agent=user_agent(account))

    async def renew_forever(self) -> None:
        """Renew each token at 80% of its life, as client-go's cached token source does."""
        while True:
            await asyncio.sleep(TOKEN_SECONDS * 0.8)
            for account, source in self.tokens.items():
                try:
                    source.value = await self.request_token(account)
                except (errors.APIError, ConfigError) as exc:
                    log.warning("renewing the token of %s failed: %s", account, exc)


class Manager:
    """The controllers of one leadership term: built, started, cancelled together."""

    def __init__(self, root: Client, settings: ManagerSettings, *,
                 factories: dict[str, Callable[[ControllerContext], Runnable]] | None = None
                 ) -> None:
        self.root = root
        self.settings = settings
        self.informers = SharedInformerFactory(root)
        self.runnables: dict[str, Runnable] = {}
        self.identities: dict[str, str] = {}  # controller → the user agent it writes with
        self._factories = factories or {}
        self._clients: list[Client] = []
        self.started = asyncio.Event()

    async def _client_for(self, entry: ControllerEntry,
                          credentials: ServiceAccountCredentials | None) -> Client:
        if credentials is None or not entry.service_account:
            return self.root
        client = Client(await credentials.config_for(entry.service_account))
        self._clients.append(client)
        return client

    async def run(self) -> None:
        credentials = ServiceAccountCredentials(self.root) \
            if self.settings.use_service_account_credentials else None
        try:
            for entry in self.settings.controllers:
                try:
                    factory = self._factories.get(entry.name) or entry.load()
                except (ImportError, AttributeError) as exc:
                    log.error("controller %s is not available: %s; skipping", entry.name, exc)
                    continue
                client = await self._client_for(entry, credentials)
                self.identities[entry.name] = client.config.user_agent
                context = ControllerContext(entry.name, client, self.informers,
                                            self.settings.options, root_dir=Path("/"))
                self.runnables[entry.name] = factory(context)
                log.info("started %s", entry.name)
            async with asyncio.TaskGroup() as group:
                group.create_task(self.informers.run())
                if credentials is not None:
                    group.create_task(credentials.renew_forever())
                for runnable in self.runnables.values():
                    group.create_task(runnable.run())
                self.started.set()
        finally:
            for client in self._clients:
                await client.close()


async def run(settings: ManagerSettings, state: RunningComponent | None = None,
              on_manager: list[Manager] | None = None) -> None:
    """Run until cancelled (or SIGTERM); `on_manager` receives the Manager of each term."""
    config = load_config(settings.kubeconfig or None).with_overrides(
        qps=settings.qps, burst=settings.burst, user_agent=user_agent())
    election = settings.component.leader_election
    if election is not None and election.enabled:
        log.info("%s: leader election identity %s on lease %s/%s", COMPONENT,
                 election.config.identity, election.config.namespace, election.config.name)
    async with Client(config) as client:
        async def work() -> None:
            manager = Manager(client, settings)
            if on_manager is not None:
                on_manager.append(manager)
            await manager.run()

        await run_component(settings.component, client, work, state)


def all_controller_names() -> list[str]:
    return [entry.name for entry in CONTROLLERS]
