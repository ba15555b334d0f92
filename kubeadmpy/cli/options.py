"""Options shared by many commands, defined once so every command spells them the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kubeadmpy.paths import HostPaths

RootDirOption = Annotated[
    Path | None,
    typer.Option(
        "--root-dir",
        help="Move every absolute path under this directory (/etc/kubernetes -> ROOT/etc/kubernetes).",
        file_okay=False,
    ),
]

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Path to a kubeadm configuration file (kubeadm.k8s.io/v1beta4)."),
]


def host_paths(root_dir: Path | None) -> HostPaths:
    """The path mapping for an optional `--root-dir`."""
    return HostPaths(root_dir.resolve()) if root_dir else HostPaths()
