"""`kubeadmpy certs` commands: check-expiration, renew, certificate-key (thin wiring over pki)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer

from kubeadmpy import pki
from kubeadmpy.cli.options import ConfigOption, RootDirOption, host_paths
from kubeadmpy.config import InitBundle, InitFlags, load_init_config
from kubeadmpy.paths import DEFAULT_CERTIFICATES_DIR, HostPaths
from kubeadmpy.pki import from_config

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


def load_config(config: Path, flags: InitFlags) -> InitBundle:
    """The init configuration of `--config`; flags bound to config fields may not be mixed."""
    bundle = load_init_config(config, flags)
    for warning in bundle.warnings:
        typer.echo(f"[config] WARNING: {warning}", err=True)
    return bundle


def _cert_flags(cert_dir: Path | None) -> InitFlags:
    return InitFlags(cert_dir=str(cert_dir) if cert_dir else None)


@app.command("check-expiration")
def check_expiration(
    cert_dir: CertDirOption = None,
    root_dir: RootDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Check the expiration of the certificates managed by kubeadmpy."""
    paths = host_paths(root_dir)
    if config is None:
        directory = cert_dir_on_host(paths, cert_dir)
    else:
        bundle = load_config(config, _cert_flags(cert_dir))
        directory = paths.host(from_config.certificates_dir(bundle))
    report = pki.check_expiration(directory, paths.kubernetes_dir)
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
    """Renew a certificate (or all) with the CA on disk, keeping its subject and SANs.

    Without --config each new key keeps its old algorithm and certificates last 8760h; with
    --config, encryptionAlgorithm and certificateValidityPeriod apply.
    """
    paths = host_paths(root_dir)
    options: dict[str, Any] = {}
    if config is None:
        directory = cert_dir_on_host(paths, cert_dir)
    else:
        bundle = load_config(config, _cert_flags(cert_dir))
        settings = from_config.settings_from_config(bundle)
        directory = paths.host(from_config.certificates_dir(bundle))
        options = {
            "validity": settings.cert_validity,
            "encryption_algorithm": settings.encryption_algorithm,
        }
    results = pki.renew(name, directory, paths.kubernetes_dir, **options)
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
