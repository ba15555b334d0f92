"""The individual preflight checks, one factory per kind, named exactly as kubeadm names them.

Every check only reads: files through `HostPaths` (so `--root-dir` and tests see their own
tree), /proc and /sys through the roots in the context, ports by binding and closing at once.
None connects anywhere except the CRI check, which connects to the local runtime's unix socket.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import stat
from pathlib import Path, PurePosixPath

from kubeadmpy.paths import HostPaths
from kubeadmpy.phases.preflight import host
from kubeadmpy.phases.preflight.check import Check, Findings, path_check_name
from kubeadmpy.phases.preflight.context import PreflightContext

# kubeadm's minimum resources for a control-plane machine.
CONTROL_PLANE_NUM_CPU = 2
CONTROL_PLANE_MEM_MB = 1700

MANDATORY_EXECUTABLES = ("ip", "iptables", "mount", "nsenter")
OPTIONAL_EXECUTABLES = ("ebtables", "ethtool", "socat", "tc", "touch")


def privileged_user() -> Check:
    def run() -> Findings:
        if os.getuid() != 0:
            return Findings.error("user is not running as root")
        return Findings.ok()

    return Check("IsPrivilegedUser", run, "running as root")


def num_cpu(sys_root: Path, required: int = CONTROL_PLANE_NUM_CPU) -> Check:
    def run() -> Findings:
        count = host.online_cpu_count(sys_root)
        if count is None:
            count = len(os.sched_getaffinity(0))
        if count < required:
            return Findings.error(
                f"the number of available CPUs {count} is less than the required {required}"
            )
        return Findings.ok()

    return Check("NumCPU", run, f"at least {required} CPUs")


def memory(proc_root: Path, required_mb: int = CONTROL_PLANE_MEM_MB) -> Check:
    def run() -> Findings:
        total = host.total_memory_mb(proc_root)
        if total is None:
            return Findings.error(f"cannot read MemTotal from {proc_root / 'meminfo'}")
        if total < required_mb:
            return Findings.error(
                f"the system RAM ({total} MB) is less than the minimum {required_mb} MB"
            )
        return Findings.ok()

    return Check("Mem", run, f"at least {required_mb} MB of RAM")


def _listen_once(family: socket.AddressFamily, address: tuple[str, int]) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # Same as Go's listener: a port whose old connections sit in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1)


def _bind_wildcard(port: int) -> None:
    """Listen on every address (both families when possible) and close again, like `:port`."""
    if socket.has_dualstack_ipv6():
        try:
            _listen_once(socket.AF_INET6, ("::", port))
            return
        except OSError as exc:
            if exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                raise
            # IPv6 switched off in this network namespace: IPv4 is all there is.
    _listen_once(socket.AF_INET, ("0.0.0.0", port))


def port_open(port: int) -> Check:
    def run() -> Findings:
        try:
            _bind_wildcard(port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return Findings.error(f"Port {port} is in use")
            return Findings.error(f"Port {port} cannot be bound: {exc.strerror or exc}")
        return Findings.ok()

    return Check(f"Port-{port}", run, f"TCP port {port} is free")


def file_available(paths: HostPaths, logical: str | PurePosixPath, name: str = "") -> Check:
    """The file must not exist yet (it would be overwritten: a leftover of another cluster)."""

    def run() -> Findings:
        target = paths.host(logical)
        if target.exists() or target.is_symlink():
            return Findings.error(f"{logical} already exists")
        return Findings.ok()

    return Check(name or path_check_name("FileAvailable", logical), run, f"{logical} is absent")


def dir_available(paths: HostPaths, logical: str | PurePosixPath) -> Check:
    """The directory must be absent or empty."""

    def run() -> Findings:
        target = paths.host(logical)
        if not target.exists():
            return Findings.ok()
        if not target.is_dir():
            return Findings.error(f"{logical} exists and is not a directory")
        try:
            with os.scandir(target) as entries:
                empty = next(entries, None) is None
        except OSError as exc:
            return Findings.error(f"unable to check if {logical} is empty: {exc.strerror}")
        if not empty:
            return Findings.error(f"{logical} is not empty")
        return Findings.ok()

    return Check(path_check_name("DirAvailable", logical), run, f"{logical} is absent or empty")


def file_existing(paths: HostPaths, logical: str | PurePosixPath, name: str = "") -> Check:
    def run() -> Findings:
        if not paths.host(logical).exists():
            return Findings.error(f"{logical} doesn't exist")
        return Findings.ok()

    return Check(name or path_check_name("FileExisting", logical), run, f"{logical} exists")


def proc_file_content(proc_root: Path, logical: str, expected: bytes = b"1") -> Check:
    """A /proc file (read under `proc_root`) must start with `expected`, e.g. a sysctl of 1."""
    relative = PurePosixPath(logical).relative_to("/proc")

    def run() -> Findings:
        try:
            with (proc_root / relative).open("rb") as handle:
                head = handle.read(len(expected))
        except FileNotFoundError:
            return Findings.error(f"{logical} does not exist")
        except OSError:
            return Findings.error(f"{logical} could not be read")
        if head != expected:
            sysctl = str(relative).removeprefix("sys/").replace("/", ".")
            return Findings.error(
                f"{logical} contents are not set to {expected.decode()}; "
                f"set it with 'sysctl -w {sysctl}={expected.decode()}'"
            )
        return Findings.ok()

    return Check(path_check_name("FileContent", logical), run, f"{logical} is {expected.decode()}")


def in_path(executable: str, mandatory: bool, search_path: str | None = None) -> Check:
    def run() -> Findings:
        if shutil.which(executable, path=search_path) is not None:
            return Findings.ok()
        message = f"{executable} not found in system path"
        return Findings.error(message) if mandatory else Findings.warning(message)

    kind = "required" if mandatory else "recommended"
    return Check(f"FileExisting-{executable}", run, f"{executable} in PATH ({kind})")


def executables(search_path: str | None, kubernetes_version: str = "") -> list[Check]:
    """The FileExisting-* checks; conntrack is mandatory only for targets older than 1.32."""
    checks: list[Check] = []
    version = _minor_version(kubernetes_version)
    if version is not None and version < (1, 32):
        checks.append(in_path("conntrack", True, search_path))
    checks += [in_path(name, True, search_path) for name in MANDATORY_EXECUTABLES]
    checks += [in_path(name, False, search_path) for name in OPTIONAL_EXECUTABLES]
    return checks


def _minor_version(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


def kubernetes_version(target: str, supported: str) -> Check:
    """Warn when the target is a newer minor than the one this kubeadmpy emulates."""

    def run() -> Findings:
        wanted, ours = _minor_version(target), _minor_version(supported)
        if wanted is None or ours is None or wanted <= ours:
            return Findings.ok()
        return Findings.warning(
            f"Kubernetes version is greater than kubeadmpy version. Please consider to upgrade "
            f"kubeadmpy. Kubernetes version: {target.lstrip('v')}. "
            f"Kubeadmpy version: {ours[0]}.{ours[1]}.x"
        )

    return Check("KubernetesVersion", run, f"target version is not newer than {supported}")


def swap(proc_root: Path) -> Check:
    def run() -> Findings:
        entries = host.swap_entries(proc_root)
        if not entries:  # no /proc/swaps means no swap support at all: nothing to warn about
            return Findings.ok()
        devices = ", ".join(line.split()[0] for line in entries)
        return Findings.warning(
            f"swap is on ({devices}): the kubelet must be configured to tolerate swap, which "
            "needs cgroup v2; otherwise turn it off with 'swapoff -a' and remove it from "
            "/etc/fstab"
        )

    return Check("Swap", run, "swap is off")


# RFC 1123 subdomain prefix + name, as Kubernetes' IsQualifiedName.
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _qualified_name_problems(value: str) -> list[str]:
    prefix, slash, name = value.rpartition("/")
    problems: list[str] = []
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        problems.append("the prefix before '/' must be a lowercase RFC 1123 subdomain")
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME.match(name):
        problems.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
            "and end with an alphanumeric character"
        )
    return problems


def hostname(ctx: PreflightContext) -> Check:
    def run() -> Findings:
        name = ctx.node_name
        warnings = [
            f"invalid node name format {name!r}: {p}" for p in _qualified_name_problems(name)
        ]
        if not ctx.resolve(name):
            warnings.append(
                f"hostname {name!r} could not be reached: it does not resolve to an address; "
                "add it to /etc/hosts or DNS"
            )
        return Findings(warnings=tuple(warnings))

    return Check("Hostname", run, "node name is valid and resolves")


def cri_socket_path(endpoint: str) -> PurePosixPath | None:
    """The socket path of a `unix://` endpoint (a bare absolute path is accepted too)."""
    if endpoint.startswith("unix://"):
        path = endpoint.removeprefix("unix://")
    elif "://" not in endpoint:
        path = endpoint
    else:
        return None
    return PurePosixPath(path) if path.startswith("/") else None


def _connect_unix(path: Path, timeout: float) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        if len(os.fsencode(path)) < 100:
            sock.connect(os.fspath(path))
            return
        # sun_path holds ~107 bytes; deep --root-dir trees go through the directory's fd.
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            sock.connect(f"/proc/self/fd/{fd}/{path.name}")
        finally:
            os.close(fd)


def container_runtime(paths: HostPaths, endpoint: str, timeout: float = 2.0) -> Check:
    """The runtime's socket exists, is a unix socket and accepts a connection.

    This is a connect only, not a CRI `Version` RPC: a live process listening on the socket is
    what it proves, not that it speaks CRI v1.
    """

    def run() -> Findings:
        logical = cri_socket_path(endpoint)
        if logical is None:
            return Findings.error(
                f"unsupported CRI endpoint {endpoint!r}: use unix:///path/to/socket, e.g. "
                "unix:///var/run/containerd/containerd.sock"
            )
        target = paths.host(logical)
        try:
            mode = target.stat().st_mode
        except FileNotFoundError:
            return Findings.error(
                f"container runtime is not running: socket {logical} does not exist"
            )
        except OSError as exc:
            return Findings.error(f"container runtime socket {logical}: {exc.strerror}")
        if not stat.S_ISSOCK(mode):
            return Findings.error(f"container runtime endpoint {logical} is not a unix socket")
        try:
            _connect_unix(target, timeout)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            return Findings.error(
                f"container runtime is not running: connecting to unix://{logical}: {reason}"
            )
        return Findings.ok()

    return Check("CRI", run, f"container runtime answers on {endpoint}")
