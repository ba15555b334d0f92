"""Preflight on this real machine: real /proc and /sys, real ports, real containerd and etcd.

Node files live under a scratch --root-dir; component ports are moved to free high ports so no
check ever touches a port another process (or engineer) uses.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from preflight_node_helpers import (
    Containerd,
    free_port,
    kill_hard,
    listening_on,
    running_containerd,
    running_etcd,
    scratch_root,
    tree_state,
)

from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.preflight import (
    ComponentPorts,
    PreflightContext,
    PreflightFailed,
    PreflightReport,
    init_checks,
    join_checks,
    reset_checks,
    run_preflight,
)
from kubeadmpy.phases.preflight import checks as preflight_checks
from kubeadmpy.phases.preflight.check import Check, Findings
from kubeadmpy.phases.preflight.system import system_verification

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="node tests run as root")

HINT = (
    "[preflight] If you know what you are doing, you can make a check non-fatal with "
    "`--ignore-preflight-errors=...`"
)


@pytest.fixture
def root() -> Iterator[Path]:
    with scratch_root() as path:
        yield path


@pytest.fixture
def containerd(root: Path) -> Iterator[Containerd]:
    with running_containerd(root) as runtime:
        yield runtime


def high_ports() -> ComponentPorts:
    return ComponentPorts(
        scheduler=free_port(),
        controller_manager=free_port(),
        kubelet=free_port(),
        etcd_client=free_port(),
        etcd_peer=free_port(),
    )


def node_files(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """The scratch root's files, without the test runtime's own log (containerd appends to it
    when the CRI check connects; preflight itself writes nothing)."""
    state = tree_state(root)
    state.pop("containerd.log", None)
    return state


def context(root: Path, endpoint: str, **overrides: object) -> PreflightContext:
    # "localhost" resolves from /etc/hosts: the Hostname check sends no DNS query.
    settings: dict[str, object] = {
        "paths": HostPaths(root),
        "node_name": "localhost",
        "cri_socket": endpoint,
        "bind_port": free_port(),
        "ports": high_ports(),
    }
    settings.update(overrides)
    return PreflightContext(**settings)  # type: ignore[arg-type]


def run_all_but(checks: list[Check], fatal: set[str]) -> tuple[str, PreflightFailed | None]:
    """Run `checks` ignoring every check except those named in `fatal`."""
    ignore = [c.name for c in checks if c.name not in fatal]
    out = io.StringIO()
    try:
        run_preflight(checks, ignore, out)
    except PreflightFailed as failure:
        return out.getvalue(), failure
    return out.getvalue(), None


def report_of(checks: list[Check]) -> PreflightReport:
    try:
        return run_preflight(checks, [], io.StringIO())
    except PreflightFailed as failure:
        return failure.report


def status(report: PreflightReport, name: str) -> str:
    (result,) = [r for r in report.results if r.name == name]
    return result.status


# --- checks against this machine's real state -------------------------------------------


def test_the_machine_checks_agree_with_what_this_machine_has(
    root: Path, containerd: Containerd
) -> None:
    report = report_of(init_checks(context(root, containerd.endpoint)))

    assert status(report, "IsPrivilegedUser") == "passed"
    enough_cpus = len(os.sched_getaffinity(0)) >= 2
    assert status(report, "NumCPU") == ("passed" if enough_cpus else "error")
    mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert status(report, "Mem") == ("passed" if mem_mb >= 1700 else "error")
    swap_on = len(Path("/proc/swaps").read_text().splitlines()) > 1
    assert status(report, "Swap") == ("warning" if swap_on else "passed")
    for tool, mandatory in [("ip", True), ("iptables", True), ("ethtool", False)]:
        present = shutil.which(tool) is not None
        expected = "passed" if present else ("error" if mandatory else "warning")
        assert status(report, f"FileExisting-{tool}") == expected
    forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
    assert status(report, "FileContent--proc-sys-net-ipv4-ip_forward") == (
        "passed" if forwarding else "error"
    )
    assert status(report, "CRI") == "passed"
    assert status(report, "Hostname") == "passed"
    assert status(report, "DirAvailable--var-lib-etcd") == "passed"  # the scratch root's


def test_this_kernel_passes_system_verification_without_errors() -> None:
    result = system_verification().run()
    assert result.errors == ()  # containerd, runc and etcd run here, so the kernel is fine


def errors_as_nobody(check: Check) -> str:
    """Run `check` in a forked child that dropped to uid/gid 65534; its errors, one per line."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, "\n".join(check.run().errors).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        reported = pipe.read().decode()
    os.waitpid(child, 0)
    return reported


def test_a_normal_user_fails_the_root_check() -> None:
    assert errors_as_nobody(preflight_checks.privileged_user()) == "user is not running as root"
    assert preflight_checks.privileged_user().run() == Findings()  # and root passes


@pytest.mark.skipif(
    Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text().strip() == "0",
    reason="every port is unprivileged on this machine",
)
def test_a_port_that_cannot_be_bound_is_not_reported_as_in_use() -> None:
    # Permission is checked before the port is looked up, so this never touches a live port.
    error = errors_as_nobody(preflight_checks.port_open(1))
    assert error == "Port 1 cannot be bound: Permission denied"


# --- ports --------------------------------------------------------------------------------


def test_a_free_port_passes_and_is_released_again() -> None:
    port = free_port()
    assert preflight_checks.port_open(port).run() == Findings()
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.bind(("::", port))  # would raise EADDRINUSE had the check kept it open
        sock.listen(1)


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "127.0.0.1", "::", "::1"],
    ids=[
        "held on every IPv4 address",
        "held on IPv4 loopback only",
        "held on every address",
        "held on IPv6 loopback only",
    ],
)
def test_a_port_another_process_listens_on_is_in_use(host: str) -> None:
    with listening_on(host) as port:
        check = preflight_checks.port_open(port)
        assert check.name == f"Port-{port}"
        assert check.run().errors == (f"Port {port} is in use",)


def test_a_held_api_server_port_fails_init_with_kubeadms_error_text(
    root: Path, containerd: Containerd
) -> None:
    with listening_on("0.0.0.0") as port:
        checks = init_checks(context(root, containerd.endpoint, bind_port=port))
        _, failure = run_all_but(checks, {f"Port-{port}"})
    assert failure is not None
    assert str(failure) == (
        "[preflight] Some fatal errors occurred:\n"
        f"\t[ERROR Port-{port}]: Port {port} is in use\n" + HINT
    )


def test_a_running_etcd_makes_its_ports_and_data_dir_unavailable(
    root: Path, containerd: Containerd
) -> None:
    with running_etcd(root) as etcd:
        ports = ComponentPorts(
            scheduler=free_port(),
            controller_manager=free_port(),
            kubelet=free_port(),
            etcd_client=etcd.client_port,
            etcd_peer=etcd.peer_port,
        )
        checks = init_checks(context(root, containerd.endpoint, ports=ports))
        names = [f"Port-{etcd.client_port}", f"Port-{etcd.peer_port}", "DirAvailable--var-lib-etcd"]
        _, failure = run_all_but(checks, set(names))
    assert failure is not None
    assert failure.report.errors == [
        (names[0], f"Port {etcd.client_port} is in use"),
        (names[1], f"Port {etcd.peer_port} is in use"),
        (names[2], "/var/lib/etcd is not empty"),
    ]


# --- the container runtime ------------------------------------------------------------------


def test_the_cri_check_fails_when_containerd_is_not_running(root: Path) -> None:
    check = preflight_checks.container_runtime(HostPaths(root), "unix:///run/containerd/c.sock")
    (error,) = check.run().errors
    assert error == "container runtime is not running: socket /run/containerd/c.sock does not exist"


def test_the_cri_check_fails_after_containerd_crashed(root: Path) -> None:
    with running_containerd(root) as runtime:
        check = preflight_checks.container_runtime(HostPaths(root), runtime.endpoint)
        assert check.run() == Findings()
        kill_hard(runtime.process)
        (error,) = check.run().errors
    assert error.startswith(
        "container runtime is not running: connecting to "
        "unix:///var/run/containerd/containerd.sock: Connection refused"
    )


# --- files under the root, ignore semantics, and no side effects ---------------------------


def test_a_leftover_manifest_fails_init_naming_the_file(root: Path, containerd: Containerd) -> None:
    manifest = root / "etc/kubernetes/manifests/kube-apiserver.yaml"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("apiVersion: v1\nkind: Pod\n")
    name = "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml"
    _, failure = run_all_but(init_checks(context(root, containerd.endpoint)), {name})
    assert failure is not None
    assert f"\t[ERROR {name}]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists\n" in (
        str(failure)
    )


def test_ignoring_this_machines_errors_in_lower_case_turns_them_into_warnings(
    root: Path, containerd: Containerd
) -> None:
    with listening_on("0.0.0.0") as port:
        checks = init_checks(context(root, containerd.endpoint, bind_port=port))
        first = report_of(checks)
        failing = sorted({name for name, _ in first.errors})
        assert f"Port-{port}" in failing
        out = io.StringIO()
        second = run_preflight(checks, [",".join(n.lower() for n in failing)], out)
    assert not second.failed
    for name, message in first.errors:
        assert f"\t[WARNING {name}]: {message}\n" in out.getvalue()
        assert status(second, name) == "ignored"


def test_ignore_all_lets_every_error_through(root: Path) -> None:
    ctx = context(root, "unix:///run/none.sock", bind_port=free_port())
    report = run_preflight(init_checks(ctx), ["all"], io.StringIO())
    assert status(report, "CRI") == "ignored"


def test_running_every_check_set_changes_nothing_on_disk(
    root: Path, containerd: Containerd
) -> None:
    for logical in [
        "etc/kubernetes/manifests/etcd.yaml",
        "etc/kubernetes/kubelet.conf",
        "etc/kubernetes/pki/ca.crt",
        "var/lib/etcd/member/snap/db",
    ]:
        (root / logical).parent.mkdir(parents=True, exist_ok=True)
        (root / logical).write_text("leftover\n")
    ctx = context(root, containerd.endpoint)
    before = node_files(root)
    forwarding_before = Path("/proc/sys/net/ipv4/ip_forward").read_bytes()

    for checks in [
        init_checks(ctx),
        join_checks(ctx, control_plane=False),
        join_checks(ctx, control_plane=True),
        reset_checks(ctx),
    ]:
        run_preflight(checks, ["all"], io.StringIO())

    assert node_files(root) == before
    assert Path("/proc/sys/net/ipv4/ip_forward").read_bytes() == forwarding_before
