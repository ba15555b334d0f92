"""--controllers selection with upstream's rules, and the controller-manager's flags: defaults
as upstream, bad values refused with the flag named (one line, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeadmpy.controllers import main as cm_main
from kubeadmpy.controllers.manager import SECURE_PORT, parse_settings, user_agent
from kubeadmpy.controllers.registry import CONTROLLERS, ControllerEntry, select_controllers
from kubeadmpy.errors import ConfigError

TABLE = (
    ControllerEntry("deployment-controller", "x:y", True, "deployment-controller",
                    ("deployment",)),
    ControllerEntry("replicaset-controller", "x:y", True, "replicaset-controller"),
    ControllerEntry("bootstrap-signer-controller", "x:y", False, "bootstrap-signer",
                    ("bootstrapsigner",)),
)


@pytest.mark.parametrize(("flag", "expected"), [
    ("*", ["deployment-controller", "replicaset-controller"]),
    ("*,bootstrapsigner", ["deployment-controller", "replicaset-controller",
                           "bootstrap-signer-controller"]),
    ("*,-deployment", ["replicaset-controller"]),
    ("deployment", ["deployment-controller"]),
    ("-deployment,deployment,*", ["replicaset-controller"]),
    ("deployment,-deployment", ["deployment-controller"]),
    ("", []),
], ids=["star-is-the-default-set", "star-plus-an-off-by-default-one",
        "minus-removes-from-star", "a-name-alone-is-only-that-one",
        "the-first-mention-wins-over-a-later-one", "enabling-first-then-disabling-keeps-it",
        "nothing-selects-nothing"])
def test_controllers_flag_follows_upstream_rules(flag: str, expected: list[str]) -> None:
    assert [e.name for e in select_controllers(flag.split(","), TABLE)] == expected


def test_an_unknown_controller_name_is_refused_with_the_known_names() -> None:
    with pytest.raises(ConfigError) as caught:
        select_controllers(["*", "-deploymnet"], TABLE)
    assert caught.value.field == "--controllers"
    assert "'deploymnet'" in caught.value.problem and "deployment-controller" in caught.value.fix


def test_registry_names_are_unique_and_kubeadm_flag_is_accepted() -> None:
    names = [alias for e in CONTROLLERS for alias in (e.name, *e.aliases)]
    assert len(names) == len(set(names))
    chosen = {e.name for e in select_controllers(["*", "bootstrapsigner", "tokencleaner"])}
    assert {"deployment-controller", "garbage-collector-controller",
            "bootstrap-signer-controller", "token-cleaner-controller"} <= chosen


def test_defaults_match_upstream() -> None:
    settings = parse_settings([])
    assert settings.component.secure_port == SECURE_PORT == 10257
    election = settings.component.leader_election
    assert election is not None and election.enabled
    assert (election.config.name, election.config.namespace) == ("kube-controller-manager",
                                                                 "kube-system")
    assert (election.config.lease_duration, election.config.renew_deadline,
            election.config.retry_period) == (15.0, 10.0, 2.0)
    assert (settings.qps, settings.burst) == (20.0, 30)
    assert settings.options.node_monitor_grace_period == 40.0
    assert not settings.use_service_account_credentials


def test_kubeadm_static_pod_flags_parse() -> None:
    settings = parse_settings([
        "--allocate-node-cidrs=true", "--authentication-kubeconfig=/etc/kubernetes/c.conf",
        "--authorization-kubeconfig=/etc/kubernetes/c.conf", "--bind-address=127.0.0.1",
        "--client-ca-file=/etc/kubernetes/pki/ca.crt", "--cluster-cidr=10.244.0.0/16",
        "--cluster-name=kubernetes",
        "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
        "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
        "--controllers=*,bootstrapsigner,tokencleaner",
        "--kubeconfig=/etc/kubernetes/controller-manager.conf", "--leader-elect=true",
        "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt",
        "--root-ca-file=/etc/kubernetes/pki/ca.crt",
        "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
        "--service-cluster-ip-range=10.96.0.0/12", "--use-service-account-credentials=true"])
    assert settings.use_service_account_credentials
    assert settings.options.cluster_cidr == "10.244.0.0/16"
    assert settings.options.allocate_node_cidrs
    assert "bootstrap-signer-controller" in {c.name for c in settings.controllers}


@pytest.mark.parametrize(("argv", "flag"), [
    (["--secure-port=70000"], "--secure-port"),
    (["--allocate-node-cidrs=true"], "--cluster-cidr"),
    (["--cluster-signing-cert-file=/ca.crt"], "--cluster-signing-key-file"),
    (["--node-monitor-grace-period=forty"], "--node-monitor-grace-period"),
    (["--leader-elect-lease-duration=5s", "--leader-elect-renew-deadline=10s"],
     "--leader-elect-lease-duration"),
    (["--concurrent-deployment-syncs=0"], "--concurrent-deployment-syncs"),
    (["--controllers=*,nope"], "--controllers"),
    (["--allocate-node-cidrs=true", "--cluster-cidr=10.244.0.0/33"], "--cluster-cidr"),
    (["--allocate-node-cidrs=true", "--cluster-cidr=10.244.0.0/16",
      "--node-cidr-mask-size=40"], "--node-cidr-mask-size"),
    (["--cluster-signing-duration=-1h"], "--cluster-signing-duration"),
    (["--node-monitor-period=0s"], "--node-monitor-period"),
], ids=["port-out-of-range", "cidrs-without-cluster-cidr", "cert-without-key",
        "duration-not-a-duration", "lease-shorter-than-renew-deadline", "zero-workers",
        "unknown-controller", "cluster-cidr-not-a-cidr", "mask-size-beyond-the-family",
        "negative-signing-duration", "zero-monitor-period"])
def test_bad_flags_end_with_one_line_naming_the_flag(
        argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cm_main.main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith(f"kubeadmpy-controller-manager: {flag}:")
    assert "Traceback" not in err and err.count("\n") == 1


def test_service_account_identity_is_in_the_user_agent() -> None:
    assert user_agent("deployment-controller").startswith("kube-controller-manager/")
    assert user_agent("deployment-controller").endswith(
        "/system:serviceaccount:kube-system:deployment-controller")


def test_a_controller_refusing_its_flags_stops_the_process_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The root-CA publisher cannot read its --root-ca-file: the process ends naming it, no
    traceback (it fails before any API call, so the unreachable server does not matter)."""
    kubeconfig = tmp_path / "kcm.conf"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1",
                                                "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "x"}}]}))
    code = cm_main.main([f"--kubeconfig={kubeconfig}", "--leader-elect=false",
                         "--secure-port=0", "--bind-address=127.0.0.1",
                         f"--root-ca-file={tmp_path / 'missing-ca.crt'}",
                         "--controllers=root-ca-certificate-publisher-controller"])
    err = capsys.readouterr().err
    assert code != 0
    assert "--root-ca-file" in err and "Traceback" not in err
