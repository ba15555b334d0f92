"""systemd units for the node agents: kubelet.service, its 10-kubeadm.conf drop-in, and
containerd.service.

kubeadm's packages ship the kubelet unit and drop-in; kubeadmpy installs from pip, so it writes
them itself under /etc/systemd/system. Without systemd as PID 1 the built-in supervisor reads
the same files (ExecStart + environment files) and starts the same command line.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from kubeadmpy.paths import CONTAINERD_CONFIG, KUBERNETES_DIR, SYSTEMD_UNIT_DIR
from kubeadmpy.render.environment import RenderedFile, RenderError, render_template
from kubeadmpy.render.kubelet import KUBELET_CONFIG, KUBELET_FLAGS_ENV, KubeletValues
from kubeadmpy.render.values import Flavor

KUBELET_UNIT = SYSTEMD_UNIT_DIR / "kubelet.service"
KUBELET_DROP_IN = SYSTEMD_UNIT_DIR / "kubelet.service.d" / "10-kubeadm.conf"
CONTAINERD_UNIT = SYSTEMD_UNIT_DIR / "containerd.service"
KUBELET_DEFAULTS_FILE = "/etc/default/kubelet"  # the admin's KUBELET_EXTRA_ARGS (Debian layout)
UNIT_MODE = 0o644

_KUBELET_EXECUTABLES: dict[Flavor, str] = {
    "python": "/usr/local/bin/kubeadmpy-kubelet",
    "upstream": "/usr/bin/kubelet",
}

UnitSections = dict[str, list[tuple[str, str]]]


def kubelet_executable(values: KubeletValues) -> str:
    return values.kubelet_executable or _KUBELET_EXECUTABLES[values.flavor]


def parse_unit(content: str) -> UnitSections:
    """A unit file as ``{section: [(key, value), ...]}`` (keys repeat, order kept)."""
    sections: UnitSections = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif "=" in line and current is not None:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
        else:
            raise RenderError(f"unit line {number} is neither a section nor a setting: {raw!r}")
    return sections


def _check_exec_start(content: str, unit: PurePosixPath, executable: str,
                      sections: tuple[str, ...]) -> None:
    parsed = parse_unit(content)
    missing = [name for name in sections if name not in parsed]
    if missing:
        raise RenderError(f"{unit} lacks section(s) {', '.join(missing)}")
    starts = [value for key, value in parsed["Service"] if key == "ExecStart" and value]
    if not starts or shlex.split(starts[-1].replace("$$", "$"))[0] != executable:
        raise RenderError(f"{unit}: ExecStart does not run {executable}")


def render_kubelet_units(values: KubeletValues) -> dict[PurePosixPath, RenderedFile]:
    """kubelet.service and its kubeadm drop-in, keyed by logical path."""
    return kubelet_units(kubelet_executable(values))


def kubelet_units(executable: str) -> dict[PurePosixPath, RenderedFile]:
    """kubelet.service and its kubeadm drop-in running `executable` (an absolute path)."""
    unit = render_template("systemd/kubelet.service.j2", kubelet_executable=executable)
    _check_exec_start(unit, KUBELET_UNIT, executable, ("Unit", "Service", "Install"))
    kubeconfigs = (f"--bootstrap-kubeconfig={KUBERNETES_DIR / 'bootstrap-kubelet.conf'} "
                   f"--kubeconfig={KUBERNETES_DIR / 'kubelet.conf'}")
    drop_in = render_template(
        "systemd/10-kubeadm.conf.j2",
        kubelet_executable=executable,
        environment=[f"KUBELET_KUBECONFIG_ARGS={kubeconfigs}",
                     f"KUBELET_CONFIG_ARGS=--config={KUBELET_CONFIG}"],
        environment_files=[str(KUBELET_FLAGS_ENV), KUBELET_DEFAULTS_FILE],
    )
    _check_exec_start(drop_in, KUBELET_DROP_IN, executable, ("Service",))
    return {KUBELET_UNIT: RenderedFile(unit, UNIT_MODE),
            KUBELET_DROP_IN: RenderedFile(drop_in, UNIT_MODE)}


def render_containerd_unit(containerd_executable: str = "/usr/bin/containerd",
                           config_path: str = str(CONTAINERD_CONFIG),
                           ) -> dict[PurePosixPath, RenderedFile]:
    """containerd.service (Debian installs containerd at /usr/bin/containerd)."""
    content = render_template("systemd/containerd.service.j2",
                              containerd_executable=containerd_executable, config_path=config_path)
    _check_exec_start(content, CONTAINERD_UNIT, containerd_executable,
                      ("Unit", "Service", "Install"))
    return {CONTAINERD_UNIT: RenderedFile(content, UNIT_MODE)}
