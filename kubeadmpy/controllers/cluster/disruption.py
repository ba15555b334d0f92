"""Zone disruption: how fast the node lifecycle controller may put NoExecute taints on nodes.

Upstream's safety valve against mass eviction: nodes are grouped by zone (the
topology.kubernetes.io/region and zone labels); a zone where every node is not Ready is in
FullDisruption (no new NoExecute taints: the problem is more likely the control plane's view
than every machine at once), one with more than 2 and at least --unhealthy-zone-threshold (55 %)
not-Ready nodes is in PartialDisruption (tainting at --secondary-node-eviction-rate, 0.01/s, in
zones larger than --large-cluster-size-threshold, 50, and not at all in smaller ones), otherwise
Normal (--node-eviction-rate, 0.1/s). When every zone is fully disrupted the controller stops
evicting altogether and lifts the NoExecute taints it set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"


class ZoneState(Enum):
    NORMAL = "Normal"
    PARTIAL = "PartialDisruption"
    FULL = "FullDisruption"


@dataclass(frozen=True)
class DisruptionSettings:
    eviction_rate: float = 0.1            # --node-eviction-rate (nodes/s per zone)
    secondary_eviction_rate: float = 0.01  # --secondary-node-eviction-rate
    unhealthy_zone_threshold: float = 0.55  # --unhealthy-zone-threshold
    large_cluster_threshold: int = 50     # --large-cluster-size-threshold

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> DisruptionSettings:
        """The manager passes these flags through ManagerOptions.extra (snake_case keys)."""
        defaults = cls()
        return cls(float(extra.get("node_eviction_rate", defaults.eviction_rate)),
                   float(extra.get("secondary_node_eviction_rate",
                                   defaults.secondary_eviction_rate)),
                   float(extra.get("unhealthy_zone_threshold",
                                   defaults.unhealthy_zone_threshold)),
                   int(extra.get("large_cluster_size_threshold",
                                 defaults.large_cluster_threshold)))


def zone_of(node: Mapping[str, Any]) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    region, zone = labels.get(REGION_LABEL, ""), labels.get(ZONE_LABEL, "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def zone_state(ready: int, not_ready: int, threshold: float) -> ZoneState:
    if ready == 0 and not_ready > 0:
        return ZoneState.FULL
    if not_ready > 2 and not_ready / (ready + not_ready) >= threshold:
        return ZoneState.PARTIAL
    return ZoneState.NORMAL


def zone_states(nodes: Iterable[tuple[str, bool]], threshold: float
                ) -> tuple[dict[str, ZoneState], dict[str, int]]:
    """(state, size) per zone from (zone, is Ready) pairs."""
    counts: dict[str, list[int]] = {}
    for zone, is_ready in nodes:
        counts.setdefault(zone, [0, 0])[0 if is_ready else 1] += 1
    return ({zone: zone_state(r, n, threshold) for zone, (r, n) in counts.items()},
            {zone: r + n for zone, (r, n) in counts.items()})


def tainting_rate(state: ZoneState, zone_size: int, settings: DisruptionSettings) -> float:
    if state is ZoneState.FULL:
        return 0.0
    if state is ZoneState.PARTIAL:
        return settings.secondary_eviction_rate \
            if zone_size > settings.large_cluster_threshold else 0.0
    return settings.eviction_rate


@dataclass
class ZoneLimiter:
    """A token bucket (burst 1) that never blocks: `take` says how long until a token."""

    rate: float
    _tokens: float = 1.0
    _last: float | None = field(default=None)

    def take(self, now: float) -> float | None:
        """0.0 when a token was taken; else seconds until one is due (None: rate is 0)."""
        if self._last is not None and self.rate > 0:
            self._tokens = min(1.0, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        if self.rate <= 0:
            return None
        return (1.0 - self._tokens) / self.rate
