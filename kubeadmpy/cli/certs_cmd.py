"""`kubeadmpy certs` commands: check-expiration, renew, certificate-key (thin wiring over pki)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer

from kubeadmpy import pki
from kubeadmpy.cli.options import ConfigOption, RootDirOption, host_paths
from kubeadmpy.errors import UserInputError
from kubeadmpy.paths import DEFAULT_CERTIFICATES_DIR, HostPaths

app = typer.Typer(
    help="Commands related to handling Kubernetes certificates.", no_args_is_help=True
)

CertDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cert-dir",
        help=f"The path where certificates are stored (default {DEFAULT_CERTIFICATES_DIR}).",
        file_okay=False,
    ),
]


def cert_dir_on_host(paths: HostPaths, cert_dir: Path | None) -> Path:
    """The host directory of `--cert-dir` (a logical path, moved under `--root-dir`)."""
    logical = PurePosixPath(os.path.abspath(cert_dir)) if cert_dir else DEFAULT_CERTIFICATES_DIR
    return paths.host(logical)


def _reject_config(config: Path | None) -> None:
    # kubeadmpy.config has not landed yet: refuse --config rather than silently ignore it.
    if config is not None:
        raise UserInputError(
            "--config",
            "is not supported by this command yet",
            "Pass --cert-dir (and --root-dir) instead",
        )


@app.command("check-expiration")
def check_expiration(
    cert_dir: CertDirOption = None,
    root_dir: RootDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Check the expiration of the certificates managed by kubeadmpy."""
    _reject_config(config)
    paths = host_paths(root_dir)
    report = pki.check_expiration(cert_dir_on_host(paths, cert_dir), paths.kubernetes_dir)
    typer.echo(pki.format_expiration(report), nl=False)


@app.command("renew")
def renew(
    name: Annotated[
        str,
        typer.Argument(
            help="all, or one of: " + ", ".join(r.name for r in pki.RENEWABLES),
            show_default=False,
        ),
    ],
    cert_dir: CertDirOption = None,
    root_dir: RootDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Renew a certificate (or all) with the CA on disk, keeping its subject and SANs."""
    _reject_config(config)
    paths = host_paths(root_dir)
    results = pki.renew(name, cert_dir_on_host(paths, cert_dir), paths.kubernetes_dir)
    for result in results:
        typer.echo(result.message)
    if any(result.renewed for result in results):
        typer.echo(
            "\nDone renewing certificates. You must restart the kube-apiserver, "
            "kube-controller-manager, kube-scheduler and etcd, so that they can use the new "
            "certificates."
        )


@app.command("certificate-key")
def certificate_key() -> None:
    """Generate a certificate key for `init --upload-certs` / `join --certificate-key`."""
    typer.echo(pki.certificate_key())
