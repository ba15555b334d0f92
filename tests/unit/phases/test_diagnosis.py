"""What wait-control-plane quotes when the control plane does not come up."""

from __future__ import annotations

from pathlib import Path

from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.diagnosis import ComponentReport, log_tail, static_pods


def test_the_tail_of_a_cri_log_file_is_what_the_program_printed(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    records = [f"2026-01-01T00:00:0{i}.000000000Z stderr F line {i}" for i in range(10)]
    records.insert(5, "2026-01-01T00:00:05.500000000Z stderr P a long ")
    records.insert(6, "2026-01-01T00:00:05.600000000Z stderr F line, joined")
    log.write_text("\n".join(records) + "\n")
    assert log_tail(log, lines=3) == ["line 7", "line 8", "line 9"]
    assert "a long line, joined" in log_tail(log, lines=8)


def test_a_plain_log_file_is_quoted_as_it_is(tmp_path: Path) -> None:
    log = tmp_path / "kubelet.log"
    log.write_text("starting\nerror: no runtime\n")
    assert log_tail(log) == ["starting", "error: no runtime"]
    assert log_tail(tmp_path / "missing.log") == []


def test_static_pods_are_named_after_the_manifest_and_the_node(tmp_path: Path) -> None:
    manifests = tmp_path / "etc/kubernetes/manifests"
    manifests.mkdir(parents=True)
    (manifests / "kube-apiserver.yaml").write_text("metadata:\n  name: kube-apiserver\n")
    (manifests / "etcd.yaml").write_text("metadata:\n  name: etcd\n")
    (manifests / "broken.yaml").write_text("[not yaml")
    assert static_pods(HostPaths(tmp_path), "cp1") == [
        ("etcd", "etcd-cp1"),
        ("kube-apiserver", "kube-apiserver-cp1"),
    ]


def test_a_report_names_the_component_its_state_and_its_last_lines() -> None:
    report = ComponentReport(
        "kube-apiserver",
        "kube-apiserver-cp1",
        "exited with code 2 (3 attempts)",
        running=False,
        log_path="/var/log/pods/x/kube-apiserver/2.log",
        log_tail=["error: unknown flag --bogus"],
    )
    text = report.render()
    assert "kube-apiserver (pod kube-system/kube-apiserver-cp1): exited with code 2" in text
    assert "/var/log/pods/x/kube-apiserver/2.log" in text
    assert "error: unknown flag --bogus" in text
