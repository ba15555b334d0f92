"""The built-in process supervisor for machines without systemd (CI, lab machines).

Where systemd is PID 1, containerd and the kubelet are units. Elsewhere kubeadmpy starts them
itself, detached (own session, no parent that could reap or kill them), with a pid file under
/run/kubeadmpy and output appended to /var/log/kubeadmpy/<name>.log, so `init`, `reset` and a
later `kubeadmpy` run can find, report, restart and stop them. Paths go through `HostPaths`, so
tests run it under a scratch root.

A pid alone can be reused by another process after a crash; the supervisor also records the
process's start time (field 22 of /proc/PID/stat) and only trusts a pid whose start time still
matches.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kubeadmpy.errors import KubeadmpyError, UserInputError
from kubeadmpy.files import write_file
from kubeadmpy.paths import KUBEADMPY_LOG_DIR, KUBEADMPY_RUN_DIR, HostPaths

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
LAUNCH_TIMEOUT_SECONDS = 30.0


class SupervisorError(KubeadmpyError):
    """A supervised process could not be started or stopped."""


@dataclass(frozen=True)
class ProcessSpec:
    """What to run under a name."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)  # added to the caller's environment


@dataclass(frozen=True)
class ProcessStatus:
    """What `status` found for a name."""

    name: str
    running: bool
    pid: int | None
    log_path: Path
    argv: tuple[str, ...] = ()
    started_at: float | None = None  # wall clock, seconds since the epoch


def _start_ticks(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot, None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    after = stat[stat.rindex(")") + 2:].split()
    if after[0] in ("Z", "X"):
        return None
    return int(after[19])


class Supervisor:
    """Start, inspect, restart and stop named background processes on one machine."""

    def __init__(self, paths: HostPaths | None = None) -> None:
        paths = paths or HostPaths()
        self.run_dir = paths.host(KUBEADMPY_RUN_DIR)
        self.log_dir = paths.host(KUBEADMPY_LOG_DIR)

    def _check_name(self, name: str) -> None:
        if not _NAME.match(name):
            raise UserInputError("name", f"{name!r} is not a process name",
                                 "use lower-case letters, digits and '-'")

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _record_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"

    def _record(self, name: str) -> dict[str, object]:
        try:
            record = json.loads(self._record_file(name).read_text())
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def _live_pid(self, name: str) -> int | None:
        try:
            pid = int(self.pid_file(name).read_text().strip())
        except (OSError, ValueError):
            return None
        ticks = _start_ticks(pid)
        if ticks is None:
            return None
        recorded = self._record(name).get("start_ticks")
        if isinstance(recorded, int) and recorded != ticks:
            return None  # the pid now belongs to another process
        return pid

    def status(self, name: str) -> ProcessStatus:
        self._check_name(name)
        record = self._record(name)
        pid = self._live_pid(name)
        argv = record.get("argv", [])
        started = record.get("started_at")
        return ProcessStatus(name, pid is not None, pid, self.log_file(name),
                             tuple(str(a) for a in argv) if isinstance(argv, list) else (),
                             float(started) if isinstance(started, int | float) else None)

    def known(self) -> list[ProcessStatus]:
        """Every process the supervisor has a record of, running or not."""
        if not self.run_dir.is_dir():
            return []
        return [self.status(path.stem) for path in sorted(self.run_dir.glob("*.json"))]

    def start(self, spec: ProcessSpec) -> ProcessStatus:
        """Start `spec` unless a process of that name runs already; its status."""
        self._check_name(spec.name)
        if not spec.argv:
            raise UserInputError("argv", "is empty", "give the program to run")
        current = self.status(spec.name)
        if current.running:
            return current
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        launcher = [sys.executable, "-m", "kubeadmpy.supervisor.launch",
                    str(self.pid_file(spec.name)), str(self.log_file(spec.name)), "--",
                    *spec.argv]
        try:
            done = subprocess.run(launcher, check=False, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, env={**os.environ, **spec.env},
                                  timeout=LAUNCH_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            raise SupervisorError(f"{spec.name}: the launcher did not return within "
                                  f"{LAUNCH_TIMEOUT_SECONDS:g} s") from exc
        if done.returncode != 0:
            raise SupervisorError(f"{spec.name}: cannot start {spec.argv[0]}: "
                                  f"{done.stderr.strip() or f'exit {done.returncode}'}")
        pid = int(done.stdout.strip())
        record = {"argv": list(spec.argv), "env": dict(spec.env), "pid": pid,
                  "start_ticks": _start_ticks(pid), "started_at": time.time()}
        write_file(self._record_file(spec.name), json.dumps(record, indent=2) + "\n")
        return self.status(spec.name)

    def stop(self, name: str, timeout: float = 10.0, sig: int = signal.SIGTERM) -> bool:
        """Signal the process, SIGKILL it after `timeout`; False if it was not running."""
        self._check_name(name)
        pid = self._live_pid(name)
        stopped = False
        if pid is not None:
            self._signal(pid, sig)
            if not self._wait_gone(pid, timeout):
                self._signal(pid, signal.SIGKILL)
                if not self._wait_gone(pid, 10.0):
                    raise SupervisorError(f"{name}: pid {pid} survived SIGKILL")
            stopped = True
        self.pid_file(name).unlink(missing_ok=True)
        return stopped

    def restart(self, name: str, timeout: float = 10.0) -> ProcessStatus:
        """Stop the process and start it again with the command it was started with."""
        record = self._record(name)
        argv, env = record.get("argv"), record.get("env", {})
        if not isinstance(argv, list) or not argv:
            raise SupervisorError(f"{name}: no record of how it was started; start it first")
        self.stop(name, timeout)
        return self.start(ProcessSpec(name, tuple(str(a) for a in argv),
                                      {str(k): str(v) for k, v in dict(env).items()}))  # type: ignore[call-overload]

    def forget(self, name: str) -> None:
        """Drop the records of a stopped process (its log stays)."""
        if self._live_pid(name) is not None:
            raise SupervisorError(f"{name}: still running; stop it first")
        self.pid_file(name).unlink(missing_ok=True)
        self._record_file(name).unlink(missing_ok=True)

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    @staticmethod
    def _wait_gone(pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while _start_ticks(pid) is not None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        return True

