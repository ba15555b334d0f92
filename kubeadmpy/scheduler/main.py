"""`kubeadmpy-scheduler`: kube-scheduler's flags, health on --secure-port, leader election.

Flags keep upstream's names so kubeadm's static pod manifest works unchanged:
`--kubeconfig`, `--authentication-kubeconfig`/`--authorization-kubeconfig` (accepted; health
endpoints are served without delegated auth, as kubeadm's probes only need /healthz),
`--bind-address`, `--secure-port` (10259), `--leader-elect*`, `--kube-api-qps/-burst`.
`run(settings)` is what tests start in-process and cancel.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field

from kubeadmpy.client.component import ComponentSettings, RunningComponent, run_component
from kubeadmpy.client.config import load_config
from kubeadmpy.client.leaderelection import (
    LeaderElectionSettings,
    leader_election_flags,
    leader_election_settings,
)
from kubeadmpy.client.rest import Client
from kubeadmpy.daemon import run_daemon
from kubeadmpy.errors import ConfigError
from kubeadmpy.scheduler.scheduler import Scheduler, SchedulerSettings

log = logging.getLogger(__name__)
SECURE_PORT = 10259


@dataclass(frozen=True)
class Settings:
    kubeconfig: str
    component: ComponentSettings
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    qps: float = 50.0
    burst: int = 100
    verbosity: int = 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubeadmpy-scheduler",
                                description="Assigns pending pods to nodes (kube-scheduler).")
    add = p.add_argument
    add("--kubeconfig", default="", help="kubeconfig with the scheduler's identity "
        "(empty: in-cluster service account).")
    add("--authentication-kubeconfig", default="", help="Accepted for kubeadm compatibility.")
    add("--authorization-kubeconfig", default="", help="Accepted for kubeadm compatibility.")
    add("--bind-address", default="0.0.0.0", help="Address for /healthz and /livez.")
    add("--secure-port", type=int, default=SECURE_PORT, help="HTTPS port for health (0: any).")
    add("--tls-cert-file", default="", help="Serving certificate (default: self-signed).")
    add("--tls-private-key-file", default="")
    add("--kube-api-qps", type=float, default=50.0, help="Requests per second to the API.")
    add("--kube-api-burst", type=int, default=100)
    add("--scheduler-name", default="default-scheduler",
        help="Schedule pods whose spec.schedulerName is this.")
    add("--percentage-of-nodes-to-score", type=int, default=0,
        help="Share of nodes to find feasible before scoring (0: adaptive, as upstream).")
    add("-v", "--v", default="0", help="Log verbosity (accepted; 4 and up logs debug).")
    leader_election_flags(p, resource_name="kube-scheduler")
    return p


def parse_settings(argv: list[str]) -> Settings:
    args = parser().parse_args(argv)
    if not 0 <= args.secure_port <= 65535:
        raise ConfigError("--secure-port", f"{args.secure_port} is not a port",
                          "Use 1-65535 (or 0 for any free port)")
    if not 0 <= args.percentage_of_nodes_to_score <= 100:
        raise ConfigError("--percentage-of-nodes-to-score",
                          f"{args.percentage_of_nodes_to_score} is not a percentage",
                          "Use 0 (adaptive) to 100")
    if not args.scheduler_name.strip():
        raise ConfigError("--scheduler-name", "is empty, so no pod would ever be scheduled",
                          "Use the name pods ask for in spec.schedulerName, e.g. "
                          "default-scheduler")
    election: LeaderElectionSettings = leader_election_settings(args)
    component = ComponentSettings(
        name="kube-scheduler", bind_address=args.bind_address, secure_port=args.secure_port,
        tls_cert_file=args.tls_cert_file, tls_private_key_file=args.tls_private_key_file,
        leader_election=election)
    scheduler = SchedulerSettings(scheduler_name=args.scheduler_name,
                                  percentage_of_nodes_to_score=args.percentage_of_nodes_to_score,
                                  identity=election.config.identity)
    try:
        verbosity = int(args.v)
    except ValueError as exc:
        raise ConfigError("--v", f"{args.v!r} is not a number", "Use 0-10") from exc
    return Settings(args.kubeconfig, component, scheduler, args.kube_api_qps, args.kube_api_burst,
                    verbosity)


async def run(settings: Settings, state: RunningComponent | None = None,
              on_scheduler: list[Scheduler] | None = None) -> None:
    """Run until cancelled (or SIGTERM); `on_scheduler` receives the scheduler each time this
    process starts leading, so tests can watch its counters."""
    config = load_config(settings.kubeconfig or None).with_overrides(
        qps=settings.qps, burst=settings.burst)
    async with Client(config) as client, Client(config) as event_client:
        async def work() -> None:
            scheduler = Scheduler(client, settings.scheduler, event_client=event_client)
            if on_scheduler is not None:
                on_scheduler.append(scheduler)
            await scheduler.run()

        await run_component(settings.component, client, work, state)


def main(argv: list[str] | None = None) -> int:
    return run_daemon("kubeadmpy-scheduler", argv, parse_settings, run,
                      lambda settings: settings.verbosity)


if __name__ == "__main__":
    sys.exit(main())
