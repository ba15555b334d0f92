"""Leader election settings: upstream defaults, validation at construction, --leader-elect* flags."""

from __future__ import annotations

import argparse

import pytest

from kubeadmpy.client import LeaderElectionConfig, leader_election_flags, leader_election_settings
from kubeadmpy.errors import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    leader_election_flags(parser, resource_name="kube-scheduler")
    return parser.parse_args(list(argv))


def test_defaults_are_upstreams() -> None:
    settings = leader_election_settings(parse(), identity="me")
    assert settings.enabled
    c = settings.config
    assert (c.lease_duration, c.renew_deadline, c.retry_period) == (15, 10, 2)
    assert (c.namespace, c.name, c.identity) == ("kube-system", "kube-scheduler", "me")


def test_flags_override_with_go_durations() -> None:
    settings = leader_election_settings(parse(
        "--leader-elect=false", "--leader-elect-lease-duration=1m",
        "--leader-elect-renew-deadline=40s", "--leader-elect-retry-period=500ms",
        "--leader-elect-resource-name=x", "--leader-elect-resource-namespace=y"), identity="me")
    assert not settings.enabled
    c = settings.config
    assert (c.lease_duration, c.renew_deadline, c.retry_period, c.name, c.namespace) == (
        60, 40, 0.5, "x", "y")


INVALID = [
    ("lease not longer than the renew deadline", (10, 10, 2), "--leader-elect-lease-duration"),
    ("renew deadline not above 1.2 × retry", (15, 2.4, 2), "--leader-elect-renew-deadline"),
    ("a zero retry period", (15, 10, 0), "--leader-elect-retry-period"),
    ("a lease under one second", (0.9, 0.5, 0.1), "--leader-elect-lease-duration"),
]


@pytest.mark.parametrize(("durations", "flag"), [(d, f) for _, d, f in INVALID],
                         ids=[name for name, _, _ in INVALID])
def test_invalid_durations_fail_at_construction_naming_the_flag(
        durations: tuple[float, float, float], flag: str) -> None:
    lease, renew, retry = durations
    with pytest.raises(ConfigError, match=flag):
        LeaderElectionConfig("x", identity="me", lease_duration=lease, renew_deadline=renew,
                             retry_period=retry).validate()


def test_bad_duration_text_names_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"--leader-elect-retry-period.*'soon'"):
        leader_election_settings(parse("--leader-elect-retry-period=soon"), identity="me")


def test_only_lease_locks_are_supported() -> None:
    with pytest.raises(ConfigError, match="--leader-elect-resource-lock"):
        leader_election_settings(parse("--leader-elect-resource-lock=endpoints"), identity="me")
