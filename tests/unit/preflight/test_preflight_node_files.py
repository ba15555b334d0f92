"""Checks on node files, executables, the node name and the CRI socket path, under a scratch root."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.preflight import PreflightContext, checks


@pytest.fixture
def paths(tmp_path: Path) -> HostPaths:
    return HostPaths(tmp_path / "root")


def put(paths: HostPaths, logical: str, content: str = "x") -> Path:
    target = paths.host(logical)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    return target


APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"


def test_file_available_passes_when_the_file_is_absent(paths: HostPaths) -> None:
    assert checks.file_available(paths, APISERVER_MANIFEST).run() == ((), ())


def test_a_present_manifest_is_an_error_naming_the_logical_file(paths: HostPaths) -> None:
    put(paths, APISERVER_MANIFEST)
    check = checks.file_available(paths, APISERVER_MANIFEST)
    assert check.name == "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml"
    assert check.run().errors == (f"{APISERVER_MANIFEST} already exists",)


def test_a_dangling_symlink_still_occupies_the_file_name(paths: HostPaths) -> None:
    target = paths.host("/etc/kubernetes/kubelet.conf")
    target.parent.mkdir(parents=True)
    target.symlink_to("/nonexistent/kubelet.conf")
    assert checks.file_available(paths, "/etc/kubernetes/kubelet.conf").run().errors


@pytest.mark.parametrize(
    ("layout", "error"),
    [
        ("absent", None),
        ("empty", None),
        ("with a member dir", "/var/lib/etcd is not empty"),
        ("a file", "/var/lib/etcd exists and is not a directory"),
    ],
    ids=[
        "an absent etcd data dir is available",
        "an empty etcd data dir is available",
        "an etcd data dir with a member dir is taken",
        "a file at the etcd data dir path is an error",
    ],
)
def test_dir_available_for_the_etcd_data_dir(paths: HostPaths, layout: str, error: str) -> None:
    data_dir = paths.host("/var/lib/etcd")
    if layout == "empty":
        data_dir.mkdir(parents=True)
    elif layout == "with a member dir":
        (data_dir / "member").mkdir(parents=True)
    elif layout == "a file":
        put(paths, "/var/lib/etcd")
    check = checks.dir_available(paths, "/var/lib/etcd")
    assert check.name == "DirAvailable--var-lib-etcd"
    assert check.run().errors == ((error,) if error else ())


def test_file_existing_names_the_missing_external_etcd_file(paths: HostPaths) -> None:
    check = checks.file_existing(paths, "/etc/etcd/ca.crt", name="ExternalEtcdClientCertificates")
    assert check.run().errors == ("/etc/etcd/ca.crt doesn't exist",)
    put(paths, "/etc/etcd/ca.crt")
    assert check.run() == ((), ())


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    for name in ("ip", "touch"):
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
    return directory


@pytest.mark.parametrize(
    ("executable", "mandatory", "warnings", "errors"),
    [
        ("ip", True, (), ()),
        ("touch", False, (), ()),
        ("nsenter", True, (), ("nsenter not found in system path",)),
        ("socat", False, ("socat not found in system path",), ()),
    ],
    ids=[
        "a mandatory tool on PATH passes",
        "an optional tool on PATH passes",
        "a missing mandatory tool is an error",
        "a missing optional tool is a warning",
    ],
)
def test_executables_on_path(
    bin_dir: Path, executable: str, mandatory: bool, warnings: tuple[str], errors: tuple[str]
) -> None:
    check = checks.in_path(executable, mandatory, str(bin_dir))
    assert check.name == f"FileExisting-{executable}"
    assert check.run() == (warnings, errors)


@pytest.mark.parametrize(
    ("version", "needs_conntrack"),
    [("v1.31.4", True), ("1.30.0", True), ("v1.32.0", False), ("v1.33.1", False), ("", False)],
    ids=lambda v: repr(v),
)
def test_conntrack_is_required_only_for_targets_before_1_32(
    version: str, needs_conntrack: bool
) -> None:
    names = [c.name for c in checks.executables(None, version)]
    assert ("FileExisting-conntrack" in names) is needs_conntrack
    assert names[-9:] == [
        "FileExisting-ip", "FileExisting-iptables", "FileExisting-mount",
        "FileExisting-nsenter", "FileExisting-ebtables", "FileExisting-ethtool",
        "FileExisting-socat", "FileExisting-tc", "FileExisting-touch",
    ]  # fmt: skip


def node_named(node_name: str, *, resolvable: bool) -> PreflightContext:
    """A context whose resolver answers without DNS traffic (unit tests send nothing)."""
    return PreflightContext(
        node_name=node_name, resolve=lambda name: ["127.0.0.1"] if resolvable else []
    )


@pytest.mark.parametrize(
    ("node_name", "warning"),
    [
        ("node-1", None),
        ("Node_1.example", None),
        ("-node", "invalid node name format '-node'"),
        ("n" * 64, "must be no more than 63 characters"),
        ("node/", "name part must be non-empty"),
    ],
    ids=[
        "a plain DNS label is fine",
        "upper case and underscores are allowed in qualified names",
        "a leading dash is invalid",
        "more than 63 characters is invalid",
        "an empty name after the slash is invalid",
    ],
)
def test_hostname_format(node_name: str, warning: str | None) -> None:
    result = checks.hostname(node_named(node_name, resolvable=True)).run()
    assert result.errors == ()
    if warning is None:
        assert result.warnings == ()
    else:
        assert len(result.warnings) == 1 and warning in result.warnings[0]


def test_an_unresolvable_node_name_is_a_warning_not_an_error() -> None:
    result = checks.hostname(node_named("node-1", resolvable=False)).run()
    assert result.errors == ()
    assert "could not be reached" in result.warnings[0]


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        ("unix:///var/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock"),
        ("/run/crio/crio.sock", "/run/crio/crio.sock"),
        ("tcp://127.0.0.1:2375", None),
        ("npipe:////./pipe/containerd-containerd", None),
        ("unix://relative.sock", None),
    ],
    ids=[
        "a unix URL",
        "a bare absolute path",
        "tcp is not supported",
        "windows pipes are not supported",
        "a relative socket path is not supported",
    ],
)
def test_cri_endpoints(endpoint: str, path: str | None) -> None:
    parsed = checks.cri_socket_path(endpoint)
    assert (str(parsed) if parsed else None) == path


def test_cri_check_rejects_a_tcp_endpoint_with_the_fix(paths: HostPaths) -> None:
    (error,) = checks.container_runtime(paths, "tcp://127.0.0.1:2375").run().errors
    assert "unsupported CRI endpoint 'tcp://127.0.0.1:2375'" in error
    assert "unix:///var/run/containerd/containerd.sock" in error


def test_cri_check_fails_when_the_socket_does_not_exist(paths: HostPaths) -> None:
    (error,) = (
        checks.container_runtime(paths, "unix:///run/containerd/containerd.sock").run().errors
    )
    assert error == (
        "container runtime is not running: socket /run/containerd/containerd.sock does not exist"
    )


def test_cri_check_fails_when_the_socket_path_is_a_regular_file(paths: HostPaths) -> None:
    put(paths, "/run/containerd/containerd.sock")
    (error,) = (
        checks.container_runtime(paths, "unix:///run/containerd/containerd.sock").run().errors
    )
    assert error.endswith("is not a unix socket")


def test_cri_check_fails_on_a_stale_socket_left_by_a_dead_runtime(paths: HostPaths) -> None:
    stale = paths.host("/run/containerd/containerd.sock")
    stale.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(stale))  # bound, never listening, then closed: what a crash leaves
    (error,) = (
        checks.container_runtime(paths, "unix:///run/containerd/containerd.sock").run().errors
    )
    assert error.startswith(
        "container runtime is not running: connecting to unix:///run/containerd/containerd.sock"
    )
    assert "refused" in error


@pytest.mark.parametrize(
    ("target", "warns"),
    [("v1.33.1", False), ("v1.33.9", False), ("v1.30.0", False), ("v1.34.0", True),
     ("1.34.0-alpha.1", True), ("v2.0.0", True), ("latest", False)],
    ids=["the emulated release", "a newer patch of it", "an older minor", "the next minor",
         "a pre-release of the next minor", "a new major", "an unparsable label"],
)  # fmt: skip
def test_a_target_newer_than_the_emulated_minor_warns(target: str, warns: bool) -> None:
    result = checks.kubernetes_version(target, "v1.33.1").run()
    assert result.errors == ()
    assert bool(result.warnings) is warns
    if warns:
        assert "Kubeadmpy version: 1.33.x" in result.warnings[0]
