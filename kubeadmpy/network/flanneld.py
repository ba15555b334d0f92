"""`kubeadmpy-flanneld`: flannel's VXLAN daemon in kube-subnet-manager mode.

One controller, one key: every Node event enqueues *this* node, and `reconcile` brings this
node's pod network to what the cluster says, from scratch each time (level-triggered): take
the podCIDR node IPAM gave the Node (wait while there is none), make sure `flannel.<VNI>`
exists with its /32 address, advertise it in the Node's annotations, write subnet.env, keep the
masquerade table (`--ip-masq`) and program exactly one neighbour, FDB entry and route per other
flannel node — removing entries of nodes that went away. It requeues itself every
`--iptables-resync` seconds, so a device or rule deleted by hand comes back.

Flags keep upstream's names (`--kube-subnet-mgr`, `--kubeconfig-file`, `--iface`,
`--public-ip`, `--ip-masq`, `--subnet-file`, `--net-config-path`, `--iptables-resync`,
`--iptables-forward-rules`); the node name comes from `NODE_NAME` as upstream's DaemonSet sets
it. Nothing is removed on exit — pods keep their network across a restart, as upstream does;
`cleanup.remove_node_network` is what `reset` calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kubeadmpy.client.config import load_config
from kubeadmpy.client.controller import Controller, Request, Result, TerminalError
from kubeadmpy.client.informer import Informer, SharedInformerFactory
from kubeadmpy.client.rest import Client
from kubeadmpy.daemon import run_daemon
from kubeadmpy.errors import ConfigError
from kubeadmpy.network import dataplane, health, masq, netconf, node_annotations, subnetenv, vxlan
from kubeadmpy.network.netlink import Kernel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    node_name: str
    kubeconfig: str = ""  # empty: in-cluster service account
    net_conf_path: str = netconf.DEFAULT_PATH
    subnet_file: str = subnetenv.DEFAULT_PATH
    ifaces: tuple[str, ...] = ()
    public_ip: str = ""  # advertise this address instead of the uplink's
    ip_masq: bool = False
    forward_rules: bool = True
    resync_seconds: float = 5.0
    netns: str | None = None  # program the dataplane in this network namespace (tests)
    nft_command: tuple[str, ...] = ("nft",)
    healthz_ip: str = "0.0.0.0"
    healthz_port: int | None = None  # None (upstream's 0): no health endpoints; 0 in tests: any
    verbosity: int = 0


@dataclass
class Status:
    """What a test (or a health endpoint) can observe while flanneld runs."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)  # subnet.env written
    waiting_for: str = ""  # "Node" or "podCIDR" while the Node is not there or not ready
    pod_cidr: ipaddress.IPv4Network | None = None
    vtep_mac: str = ""
    peers: list[vxlan.Peer] = field(default_factory=list)
    skipped: list[node_annotations.Skipped] = field(default_factory=list)
    syncs: int = 0
    healthz_port: int = 0  # where /healthz and /readyz are served, once they are

    def is_ready(self) -> bool:
        return self.ready.is_set()

    def waiting_reason(self) -> str:
        what = self.waiting_for or "the first sync"
        return f"waiting for {what}; subnet.env is not written yet"


class Flanneld:
    def __init__(self, settings: Settings, conf: netconf.NetConf, client: Client,
                 nodes: Informer, status: Status | None = None) -> None:
        self.settings = settings
        self.conf = conf
        self.client = client
        self.nodes = nodes
        self.status = status or Status()
        self._masq_text = ""

    def requests(self, _obj: object) -> list[Request]:
        """Any Node change may change this node's peers: reconcile this node."""
        return [Request("", self.settings.node_name)]

    async def reconcile(self, request: Request) -> Result:
        settings, conf = self.settings, self.conf
        again = Result(requeue_after=settings.resync_seconds)
        node = self.nodes.store.get(request.name)
        if node is None:
            log.info("waiting for Node %s to be registered", request.name)
            self.status.waiting_for = "Node"
            return again
        cidr = node_annotations.pod_cidr(node)
        if cidr is None:
            log.info("waiting for node IPAM to give Node %s a podCIDR", request.name)
            self.status.waiting_for = "podCIDR"
            return again
        if not cidr.subnet_of(conf.network):
            raise TerminalError(f"Node {request.name} has podCIDR {cidr}, outside Network "
                                f"{conf.network} of {settings.net_conf_path}; make net-conf's "
                                "Network the cluster's --pod-network-cidr")
        async with Kernel(settings.netns) as kernel:
            local = await dataplane.ensure_local(
                kernel, conf, cidr, settings.ifaces, settings.public_ip,
                node_annotations.advertised_vtep_mac(node))
            if local.created:
                log.info("created %s (VNI %d, local %s dev %s, port %d, MTU %d, MAC %s)",
                         conf.backend.device, conf.backend.vni, local.uplink.address,
                         local.uplink.name, conf.backend.port, local.mtu, local.vtep_mac)
            await self._advertise(node, local.vtep_mac, local.public_ip)
            env = subnetenv.SubnetEnv.for_node(conf.network, cidr, local.mtu, settings.ip_masq)
            if subnetenv.write(Path(settings.subnet_file), env):
                log.info("wrote %s (subnet %s, MTU %d)", settings.subnet_file, env.subnet,
                         local.mtu)
            if settings.ip_masq:
                await self._masquerade(cidr)
            peers, skipped = node_annotations.peers(self.nodes.store.list(), request.name,
                                                    conf.backend.vni)
            for skip in skipped:
                if skip not in self.status.skipped:
                    log.warning("not a peer: Node %s: %s", skip.node, skip.reason)
            step = await dataplane.sync_peers(kernel, local.device_index, peers)
        if not step.empty:
            log.info("%s: %d peer(s); removed %d stale and added %d entries",
                     conf.backend.device, len(peers), len(step.remove), len(step.add))
        self.status.pod_cidr, self.status.vtep_mac = cidr, local.vtep_mac
        self.status.peers, self.status.skipped = peers, skipped
        self.status.syncs += 1
        self.status.waiting_for = ""
        self.status.ready.set()
        return again

    async def _advertise(self, node: dict[str, object], mac: str,
                         public_ip: ipaddress.IPv4Address) -> None:
        wanted = node_annotations.own_annotations(self.conf.backend.vni, mac, public_ip)
        patch = node_annotations.annotation_patch(node, wanted)
        if patch is not None:
            # Upstream patches through nodes/status: the RBAC it asks for is nodes/status patch.
            await self.client.patch("nodes", self.settings.node_name, patch,
                                    subresource="status")
            log.info("annotated Node %s: VtepMAC %s, public-ip %s", self.settings.node_name,
                     mac, public_ip)

    async def _masquerade(self, cidr: ipaddress.IPv4Network) -> None:
        text = masq.render(self.conf.network, cidr, self.settings.forward_rules)
        command = self.settings.nft_command
        if text != self._masq_text or not await masq.table_present(command):
            await masq.apply(text, command)
            self._masq_text = text
            log.info("wrote nftables table %s %s", masq.FAMILY, masq.TABLE)


async def run(settings: Settings, status: Status | None = None,
              client: Client | None = None) -> None:
    """Run until cancelled. `client` lets a test pass one it opened; else the kubeconfig's."""
    conf = netconf.load_net_conf(settings.net_conf_path)
    dataplane.public_ip(settings.public_ip, ipaddress.IPv4Address(0))  # bad flags fail before work
    if client is None:
        async with Client(load_config(settings.kubeconfig or None)) as opened:
            await _serve(settings, conf, opened, status)
    else:
        await _serve(settings, conf, client, status)


async def _serve(settings: Settings, conf: netconf.NetConf, client: Client,
                 status: Status | None) -> None:
    factory = SharedInformerFactory(client)
    nodes = factory.informer("nodes")
    daemon = Flanneld(settings, conf, client, nodes, status)
    controller = Controller("flannel", daemon.reconcile)
    controller.watch(nodes, daemon.requests)
    log.info("kubeadmpy-flanneld on node %s: Network %s, %s VNI %d port %d",
             settings.node_name, conf.network, conf.backend.device, conf.backend.vni,
             conf.backend.port)
    async with contextlib.AsyncExitStack() as stack:
        if settings.healthz_port is not None:
            daemon.status.healthz_port = await stack.enter_async_context(health.serving(
                daemon.status, settings.healthz_ip, settings.healthz_port))
            log.info("serving /healthz and /readyz on http://%s:%d", settings.healthz_ip,
                     daemon.status.healthz_port)
        async with asyncio.TaskGroup() as group:
            group.create_task(factory.run())
            group.create_task(controller.run())


# --- the command line ---------------------------------------------------------------------------

def _truthy(flag: str, value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ConfigError(flag, f"{value!r} is not a boolean", "Use true or false")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubeadmpy-flanneld",
                                description="flannel VXLAN pod network daemon (kube subnet "
                                            "manager mode).")
    add = p.add_argument
    add("--kube-subnet-mgr", nargs="?", const="true", default="false",
        help="Take this node's subnet from its Node's podCIDR (required; etcd mode is not "
             "implemented).")
    add("--kubeconfig-file", default="", help="kubeconfig (empty: in-cluster service account).")
    add("--iface", action="append", default=[],
        help="Interface name or IPv4 address for VXLAN (repeatable; first match wins; default: "
             "the default route's interface).")
    add("--public-ip", default="", help="Address to advertise to other nodes.")
    add("--ip-masq", nargs="?", const="true", default="false",
        help="Masquerade pod traffic leaving the pod network (nftables table "
             f"{masq.FAMILY} {masq.TABLE}).")
    add("--subnet-file", default=subnetenv.DEFAULT_PATH, help="Where to write subnet.env.")
    add("--net-config-path", default=netconf.DEFAULT_PATH, help="net-conf.json to read.")
    add("--iptables-resync", type=int, default=5,
        help="Seconds between full re-checks of device, entries and rules.")
    add("--iptables-forward-rules", nargs="?", const="true", default="true",
        help="Accept forwarded pod-network traffic (true/false).")
    add("--healthz-ip", default="0.0.0.0", help="Address for /healthz and /readyz.")
    add("--healthz-port", type=int, default=0,
        help="HTTP port for /healthz and /readyz (0: do not serve them).")
    add("-v", "--v", default="0", help="Log verbosity (4 and up logs debug).")
    return p


# Upstream reads every flag also from FLANNELD_<FLAG> (e.g. FLANNELD_IFACE); the command line wins.
ENV_FLAGS = ("--kube-subnet-mgr", "--kubeconfig-file", "--iface", "--public-ip", "--ip-masq",
             "--subnet-file", "--net-config-path", "--iptables-resync",
             "--iptables-forward-rules", "--healthz-ip", "--healthz-port")
SWITCHES = ("--kube-subnet-mgr", "--ip-masq")


def env_arguments(environ: Mapping[str, str], argv: list[str]) -> list[str]:
    """The FLANNELD_* variables as flags, leaving out those the command line sets itself."""
    result: list[str] = []
    for flag in ENV_FLAGS:
        name = "FLANNELD_" + flag[2:].upper().replace("-", "_")
        if name not in environ or any(a == flag or a.startswith(flag + "=") for a in argv):
            continue
        if flag in SWITCHES:
            if _truthy(name, environ[name]):
                result.append(flag)
        else:
            result.append(f"{flag}={environ[name]}")
    return result


def parse_settings(argv: list[str], environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    args = parser().parse_args([*env_arguments(env, argv), *argv])
    # Upstream's switches are Go booleans: bare, =true and =false all work.
    if not _truthy("--kube-subnet-mgr", args.kube_subnet_mgr):
        raise ConfigError("--kube-subnet-mgr", "is not set, and etcd mode is not implemented",
                          "Pass --kube-subnet-mgr (subnets come from each Node's podCIDR)")
    if args.iptables_resync < 1:
        raise ConfigError("--iptables-resync", f"{args.iptables_resync} is not a positive "
                          "number of seconds", "Use 1 or more (upstream's default is 5)")
    if not 0 <= args.healthz_port <= 65535:
        raise ConfigError("--healthz-port", f"{args.healthz_port} is not a port",
                          "Use 1-65535, or 0 to serve no health endpoints")
    node_name = env.get("NODE_NAME", "").strip() or socket.gethostname().lower()
    try:
        verbosity = int(args.v)
    except ValueError as exc:
        raise ConfigError("--v", f"{args.v!r} is not a number", "Use 0-10") from exc
    settings = Settings(
        node_name=node_name, kubeconfig=args.kubeconfig_file,
        net_conf_path=args.net_config_path, subnet_file=args.subnet_file,
        ifaces=tuple(args.iface), public_ip=args.public_ip,
        ip_masq=_truthy("--ip-masq", args.ip_masq),
        forward_rules=_truthy("--iptables-forward-rules", args.iptables_forward_rules),
        resync_seconds=float(args.iptables_resync), healthz_ip=args.healthz_ip,
        healthz_port=args.healthz_port or None, verbosity=verbosity)
    dataplane.public_ip(settings.public_ip, ipaddress.IPv4Address(0))
    return settings


def main(argv: list[str] | None = None) -> int:
    """Flags, then net-conf.json, then the daemon: what a user can fix is one line on stderr
    and exit status 1, never a traceback."""
    return run_daemon("kubeadmpy-flanneld", argv, parse_settings, run,
                      lambda settings: settings.verbosity, use_uvloop=False)


if __name__ == "__main__":
    sys.exit(main())
