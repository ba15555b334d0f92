"""Leader election on a coordination.k8s.io/v1 Lease, following client-go's LeaderElector.

Why these rules: expiry is judged from the moment *this* candidate last saw the Lease change
(local monotonic clock), never from `renewTime` written by another machine, so clock skew between
machines does not matter. Mutual exclusion comes from optimistic concurrency: every write carries
the resourceVersion it read, so of two racing candidates one gets 409 Conflict. There is no
fencing: a leader that stalls longer than the lease may overlap briefly with its successor,
which is why the leader gives up after `renew_deadline` without a successful renewal.

Defaults (kube-controller-manager and kube-scheduler): lease 15 s — how long others wait after
the last renewal seen, so the worst-case failover time; renew deadline 10 s — how long the leader
keeps retrying a renewal before stepping down, shorter than the lease so it stops before anyone
else may start; retry 2 s — the polling period of candidates and of renewals (load on the API
server vs. reaction time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import random
import socket
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubeadmpy.client import errors
from kubeadmpy.client.clock import Clock, RealClock
from kubeadmpy.client.rest import Client
from kubeadmpy.config.durations import DurationSyntaxError, parse_go_duration
from kubeadmpy.errors import ConfigError

log = logging.getLogger(__name__)

JITTER_FACTOR = 1.2
DEFAULT_LEASE_DURATION = 15.0
DEFAULT_RENEW_DEADLINE = 10.0
DEFAULT_RETRY_PERIOD = 2.0


@dataclass(frozen=True)
class LeaderElectionConfig:
    name: str
    namespace: str = "kube-system"
    identity: str = ""
    lease_duration: float = DEFAULT_LEASE_DURATION
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD
    release_on_cancel: bool = True

    def validate(self) -> None:
        """client-go's rules: lease > renew deadline > retry × 1.2, all positive."""
        for flag, value in (("--leader-elect-lease-duration", self.lease_duration),
                            ("--leader-elect-renew-deadline", self.renew_deadline),
                            ("--leader-elect-retry-period", self.retry_period)):
            if value <= 0:
                raise ConfigError(flag, f"must be greater than zero, got {value}s",
                                  "Use the defaults 15s / 10s / 2s")
        if self.lease_duration <= self.renew_deadline:
            raise ConfigError("--leader-elect-lease-duration",
                              f"{self.lease_duration}s must be greater than the renew deadline "
                              f"{self.renew_deadline}s",
                              "A leader must step down before others may take over; "
                              "e.g. 15s lease with a 10s renew deadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ConfigError("--leader-elect-renew-deadline",
                              f"{self.renew_deadline}s must be greater than {JITTER_FACTOR} × "
                              f"the retry period {self.retry_period}s",
                              "Leave room for at least one jittered retry; e.g. 10s with 2s")
        if self.lease_duration < 1:
            raise ConfigError("--leader-elect-lease-duration",
                              f"{self.lease_duration}s is below one second",
                              "Lease objects store whole seconds (leaseDurationSeconds)")
        if not self.name:
            raise ConfigError("--leader-elect-resource-name", "is empty", "Name the Lease")
        if not self.identity:
            raise ConfigError("identity", "is empty", "Use the hostname plus a unique suffix")


def micro_time(moment: datetime) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds, UTC."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Observed:
    record: dict[str, Any] = field(default_factory=dict)  # spec as last read
    resource_version: str = ""
    time: float = 0.0  # local monotonic time when `record` last changed


class LeaderElector:
    def __init__(self, client: Client, config: LeaderElectionConfig, *,
                 clock: Clock | None = None,
                 on_new_leader: Callable[[str], None] | None = None,
                 on_stopped_leading: Callable[[], None] | None = None) -> None:
        config.validate()
        self.client = client
        self.config = config
        self.clock = clock or RealClock()
        self.on_new_leader = on_new_leader
        self.on_stopped_leading = on_stopped_leading
        self._observed = _Observed()
        self._reported_leader = ""
        self.is_leader = False
        self.transitions_seen: list[str] = []  # holders in the order this candidate saw them

    @property
    def leader(self) -> str:
        return str(self._observed.record.get("holderIdentity") or "")

    # --- the public loop ---------------------------------------------------------------------------

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Wait to become leader, run `lead()` while leading; return when leadership is lost or
        `lead()` returns. Cancellation stops it and releases the Lease (release_on_cancel)."""
        try:
            await self._acquire()
            log.info("%s: became leader of %s/%s", self.config.identity,
                     self.config.namespace, self.config.name)
            async with asyncio.TaskGroup() as group:
                leading = group.create_task(lead())
                renewing = group.create_task(self._renew_loop())
                await asyncio.wait({leading, renewing}, return_when=asyncio.FIRST_COMPLETED)
                for task in (leading, renewing):
                    task.cancel()
        finally:
            was_leader = self.is_leader
            self.is_leader = False
            if was_leader and self.config.release_on_cancel:
                with contextlib.suppress(errors.APIError):
                    await asyncio.shield(self._release())
            if was_leader:
                log.info("%s: stopped leading", self.config.identity)
                if self.on_stopped_leading is not None:
                    self.on_stopped_leading()

    def healthy(self, max_tolerable_expired: float = 20.0) -> bool:
        """False when we believe we lead but have not renewed for lease + tolerance (healthz)."""
        if not self.is_leader:
            return True
        return self.clock.now() < (self._observed.time + self.config.lease_duration +
                                   max_tolerable_expired)

    # --- acquire / renew / release -----------------------------------------------------------------

    async def _acquire(self) -> None:
        while True:
            if await self._try_acquire_or_renew():
                self.is_leader = True
                return
            await self.clock.sleep(self.config.retry_period *
                                   (1 + random.random() * (JITTER_FACTOR - 1)))

    async def _renew_loop(self) -> None:
        """Renew every retry period; give up after `renew_deadline` without success."""
        while True:
            deadline = self.clock.now() + self.config.renew_deadline
            while True:
                try:
                    async with asyncio.timeout(max(0.0, deadline - self.clock.now())):
                        renewed = await self._try_acquire_or_renew()
                except TimeoutError:
                    renewed = False
                if renewed:
                    break
                if self.clock.now() >= deadline:
                    log.warning("%s: failed to renew the lease within %.1fs; stepping down",
                                self.config.identity, self.config.renew_deadline)
                    return
                await self.clock.sleep(self.config.retry_period)
            await self.clock.sleep(self.config.retry_period)

    async def _try_acquire_or_renew(self) -> bool:
        cfg, now = self.config, self.clock.now()
        wall = micro_time(self.clock.wall())
        try:
            lease = await self.client.get("leases", cfg.name, cfg.namespace)
        except errors.NotFound:
            fresh: dict[str, Any] = {
                "holderIdentity": cfg.identity,
                "leaseDurationSeconds": math.ceil(cfg.lease_duration),
                "acquireTime": wall, "renewTime": wall, "leaseTransitions": 0}
            try:
                created = await self.client.create("leases", {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                    "spec": fresh}, cfg.namespace)
            except errors.APIError as exc:  # AlreadyExists: someone was faster
                log.info("%s: creating the lease failed: %s", cfg.identity, exc)
                return False
            self._observe(created, now)
            return True
        except errors.APIError as exc:
            log.warning("%s: reading the lease failed: %s", cfg.identity, exc)
            return False
        spec: dict[str, Any] = dict(lease.get("spec") or {})
        if spec != self._observed.record:
            self._observe(lease, now)
        holder = str(spec.get("holderIdentity") or "")
        duration = float(spec.get("leaseDurationSeconds") or cfg.lease_duration)
        i_hold = holder == cfg.identity
        if holder and not i_hold and self._observed.time + duration > now:
            return False  # held by someone else and not expired (as far as we have seen)
        transitions = int(spec.get("leaseTransitions") or 0)
        new_spec = {**spec, "holderIdentity": cfg.identity,
                    "leaseDurationSeconds": math.ceil(cfg.lease_duration), "renewTime": wall}
        if i_hold and self.is_leader:
            new_spec["acquireTime"] = spec.get("acquireTime") or wall
            new_spec["leaseTransitions"] = transitions
        else:
            new_spec["acquireTime"] = wall
            new_spec["leaseTransitions"] = transitions + 1 if holder != cfg.identity \
                else transitions
        body = {**lease, "spec": new_spec}
        try:
            updated = await self.client.update("leases", body, cfg.namespace)
        except errors.APIError as exc:  # Conflict: another candidate wrote first
            log.info("%s: updating the lease failed: %s", cfg.identity, exc)
            return False
        self._observe(updated, now)
        return True

    async def _release(self) -> None:
        """Hand the Lease back: empty holder, 1 s duration, transitions kept."""
        cfg = self.config
        for _ in range(3):
            lease = await self.client.get("leases", cfg.name, cfg.namespace)
            spec = dict(lease.get("spec") or {})
            if spec.get("holderIdentity") != cfg.identity:
                return
            wall = micro_time(self.clock.wall())
            spec.update(holderIdentity="", leaseDurationSeconds=1, acquireTime=wall,
                        renewTime=wall)
            try:
                await self.client.update("leases", {**lease, "spec": spec}, cfg.namespace)
                log.info("%s: released the lease", cfg.identity)
                return
            except errors.Conflict:
                continue

    def _observe(self, lease: dict[str, Any], now: float) -> None:
        self._observed = _Observed(dict(lease.get("spec") or {}),
                                   str((lease.get("metadata") or {}).get("resourceVersion", "")),
                                   now)
        holder = self.leader
        if holder and holder != self._reported_leader:
            self._reported_leader = holder
            self.transitions_seen.append(holder)
            if self.on_new_leader is not None:
                self.on_new_leader(holder)


# --- command-line flags (upstream names) ---------------------------------------------------------


def default_identity() -> str:
    """`<hostname>_<uuid>`, the shape kube-controller-manager and kube-scheduler use."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def leader_election_flags(parser: argparse.ArgumentParser, *, resource_name: str,
                          resource_namespace: str = "kube-system") -> None:
    """Add `--leader-elect*` with upstream's names and defaults to a component's parser."""
    add = parser.add_argument
    add("--leader-elect", type=_parse_bool, nargs="?", const=True, default=True,
        help="Elect a leader before doing work (for highly available control planes).")
    add("--leader-elect-lease-duration", default="15s",
        help="How long non-leaders wait after the last renewal they saw before taking over.")
    add("--leader-elect-renew-deadline", default="10s",
        help="How long the leader retries renewing before it steps down.")
    add("--leader-elect-retry-period", default="2s",
        help="How often candidates try to acquire and leaders renew.")
    add("--leader-elect-resource-lock", default="leases",
        help="Only 'leases' is supported (as in Kubernetes 1.29+).")
    add("--leader-elect-resource-name", default=resource_name, help="Name of the Lease.")
    add("--leader-elect-resource-namespace", default=resource_namespace,
        help="Namespace of the Lease.")


@dataclass(frozen=True)
class LeaderElectionSettings:
    enabled: bool
    config: LeaderElectionConfig


def leader_election_settings(args: argparse.Namespace, identity: str = ""
                             ) -> LeaderElectionSettings:
    """Validated settings from the parsed flags (clear errors naming the flag)."""
    if args.leader_elect_resource_lock != "leases":
        raise ConfigError("--leader-elect-resource-lock",
                          f"{args.leader_elect_resource_lock!r} is not supported",
                          "Use 'leases' (endpoints/configmaps locks were removed upstream)")
    config = LeaderElectionConfig(
        name=args.leader_elect_resource_name,
        namespace=args.leader_elect_resource_namespace,
        identity=identity or default_identity(),
        lease_duration=_seconds("--leader-elect-lease-duration",
                                args.leader_elect_lease_duration),
        renew_deadline=_seconds("--leader-elect-renew-deadline",
                                args.leader_elect_renew_deadline),
        retry_period=_seconds("--leader-elect-retry-period", args.leader_elect_retry_period))
    if args.leader_elect:
        config.validate()
    return LeaderElectionSettings(bool(args.leader_elect), config)


def _seconds(flag: str, text: str) -> float:
    try:
        return parse_go_duration(text).total_seconds()
    except DurationSyntaxError as exc:
        raise ConfigError(flag, f"{text!r} is not a duration",
                          'Write it like "15s" or "1m30s"') from exc


def _parse_bool(text: str) -> bool:
    # Go's strconv.ParseBool, the rule behind --leader-elect=false
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean (use true or false)")
