"""Zone disruption states and the per-zone NoExecute tainting rate (upstream's safety valve
against evicting everything when the control plane loses sight of many nodes)."""

from __future__ import annotations

import pytest

from kubeadmpy.controllers.cluster.disruption import (
    DisruptionSettings,
    ZoneLimiter,
    ZoneState,
    tainting_rate,
    zone_of,
    zone_state,
    zone_states,
)


@pytest.mark.parametrize(("ready", "not_ready", "state"), [
    (3, 0, ZoneState.NORMAL), (0, 1, ZoneState.FULL), (1, 2, ZoneState.NORMAL),
    (2, 3, ZoneState.PARTIAL), (10, 3, ZoneState.NORMAL), (0, 0, ZoneState.NORMAL),
], ids=["all ready", "none ready", "two down is never partial", "60 % of 5 down",
        "23 % down", "empty zone"])
def test_zone_state(ready: int, not_ready: int, state: ZoneState) -> None:
    assert zone_state(ready, not_ready, 0.55) is state


def test_zones_come_from_region_and_zone_labels() -> None:
    labelled = {"metadata": {"labels": {"topology.kubernetes.io/region": "r1",
                                        "topology.kubernetes.io/zone": "z1"}}}
    assert zone_of(labelled) == "r1:\x00:z1"
    assert zone_of({"metadata": {}}) == ""
    states, sizes = zone_states([("z1", True), ("z1", False), ("z2", False)], 0.55)
    assert states == {"z1": ZoneState.NORMAL, "z2": ZoneState.FULL}
    assert sizes == {"z1": 2, "z2": 1}


@pytest.mark.parametrize(("state", "size", "rate"), [
    (ZoneState.NORMAL, 3, 0.1), (ZoneState.PARTIAL, 51, 0.01), (ZoneState.PARTIAL, 50, 0.0),
    (ZoneState.FULL, 100, 0.0)],
    ids=["normal", "partial, large zone", "partial, small zone", "full disruption"])
def test_tainting_rate(state: ZoneState, size: int, rate: float) -> None:
    assert tainting_rate(state, size, DisruptionSettings()) == rate


def test_the_limiter_allows_a_burst_of_one_then_one_per_interval() -> None:
    limiter = ZoneLimiter(0.1)
    assert limiter.take(100.0) == 0.0
    assert limiter.take(101.0) == pytest.approx(9.0)
    assert limiter.take(110.5) == 0.0


def test_settings_come_from_the_managers_extra_options() -> None:
    settings = DisruptionSettings.from_extra({"node_eviction_rate": 2,
                                              "unhealthy_zone_threshold": "0.4"})
    assert (settings.eviction_rate, settings.unhealthy_zone_threshold) == (2.0, 0.4)
    assert settings.large_cluster_threshold == 50
