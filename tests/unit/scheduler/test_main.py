"""kubeadmpy-scheduler's flags: upstream names and defaults, clear errors for bad values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kubeadmpy.errors import ConfigError
from kubeadmpy.scheduler.main import parse_settings


def test_kubeadms_static_pod_flags_are_accepted_with_upstream_defaults() -> None:
    settings = parse_settings([
        "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
        "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
        "--bind-address=127.0.0.1", "--kubeconfig=/etc/kubernetes/scheduler.conf",
        "--leader-elect=true"])
    assert settings.kubeconfig == "/etc/kubernetes/scheduler.conf"
    assert (settings.component.bind_address, settings.component.secure_port) == ("127.0.0.1",
                                                                               10259)
    election = settings.component.leader_election
    assert election is not None and election.enabled
    assert (election.config.name, election.config.namespace) == ("kube-scheduler", "kube-system")
    assert (election.config.lease_duration, election.config.renew_deadline,
            election.config.retry_period) == (15, 10, 2)
    assert (settings.qps, settings.burst) == (50, 100)


@pytest.mark.parametrize(("flag", "field"), [
    ("--secure-port=70000", "--secure-port"),
    ("--percentage-of-nodes-to-score=150", "--percentage-of-nodes-to-score"),
    ("--leader-elect-lease-duration=soon", "--leader-elect-lease-duration"),
    ("--leader-elect-resource-lock=endpoints", "--leader-elect-resource-lock"),
    ("--v=loud", "--v"),
    ("--scheduler-name=", "--scheduler-name"),
    ("--percentage-of-nodes-to-score=-1", "--percentage-of-nodes-to-score"),
    ("--secure-port=-1", "--secure-port"),
    ("--leader-elect-retry-period=-2s", "--leader-elect-retry-period"),
], ids=["port out of range", "percentage above 100", "a duration without a unit",
        "an unsupported lock", "a verbosity that is not a number", "an empty scheduler name",
        "a negative percentage", "a negative port", "a negative retry period"])
def test_bad_flags_name_the_flag(flag: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings([flag])
    assert caught.value.field == field


def test_a_bad_flag_is_one_line_on_stderr_not_a_traceback() -> None:
    result = subprocess.run([sys.executable, "-m", "kubeadmpy.scheduler.main",
                             "--leader-elect-renew-deadline=20s"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("kubeadmpy-scheduler: ")
    assert "Traceback" not in result.stderr
