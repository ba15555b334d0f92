"""Encryption at rest, set up by init: the EncryptionConfiguration the kube-apiserver reads.

kubeadm has no such step (it leaves `--encryption-provider-config` to the user); kubespray
writes the file when `kube_encrypt_secret_data` is set. We do it inside the
`control-plane/apiserver` phase, just before the manifest that points at the file, so that no
phase selection (`init phase control-plane apiserver`, `--skip-phases`) can produce a manifest
whose file is missing.

The file holds the only copy of the key. Losing or replacing it makes every value encrypted
with it unreadable, so this step never overwrites: an existing file that the API server's own
parser accepts is kept byte for byte (even if it no longer matches the configuration: key
rotation is a manual, ordered procedure), and one it rejects stops init with the file named and
what to do, before anything else is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kubeadmpy import render
from kubeadmpy.config import v1alpha1
from kubeadmpy.errors import ConfigError, KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.render.encryption import ENCRYPTION_DIR_MODE, KEY_NAME

if TYPE_CHECKING:
    from kubeadmpy.phases.init import InitContext

TAG = "encryption"


class EncryptionConfigError(KubeadmpyError):
    """An existing EncryptionConfiguration that init can neither use nor (safely) replace."""


def ensure_encryption_config(ctx: InitContext) -> None:
    """Write the EncryptionConfiguration with a fresh key, or keep the one already there."""
    settings = ctx.bundle.kubeadmpy.secrets_encryption
    if not settings.enabled:
        return
    logical = render.ENCRYPTION_CONFIG
    host = ctx.paths.host(logical)
    if host.exists() or host.is_symlink():
        for warning in check_existing(host, str(logical), settings):
            ctx.out(f"[{TAG}] WARNING: {warning}")
        ctx.out(f'[{TAG}] Using existing EncryptionConfiguration "{logical}"')
        return
    values = render.EncryptionValues(settings.provider, tuple(settings.resources or ()),
                                     render.new_encryption_key())
    rendered = render.render_encryption_config(values)
    folder = ctx.paths.host(render.ENCRYPTION_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=ENCRYPTION_DIR_MODE)
    folder.chmod(ENCRYPTION_DIR_MODE)  # mkdir's mode is masked by umask and skips existing dirs
    write_file(host, rendered.content, mode=rendered.mode, dir_mode=ENCRYPTION_DIR_MODE)
    ctx.out(f'[{TAG}] Generated a {settings.provider} key "{KEY_NAME}" for '
            f'{", ".join(values.resources)} in "{logical}"')


def check_existing(host: Path, logical: str, settings: v1alpha1.SecretsEncryption) -> list[str]:
    """Parse an existing file as the API server will; warnings for what init would not write.

    Raises `EncryptionConfigError` when the server would refuse the file.
    """
    # Imported here: the kubeadmpy.security package pulls in the API server's security stack,
    # ~40 ms that every other kubeadmpy command would pay at start.
    from kubeadmpy.security import encryption_config

    try:
        parsed = encryption_config.load(host)
    except (ConfigError, ValueError) as exc:  # ValueError: bytes that are not UTF-8 text
        problem = f"{exc.field}: {exc.problem}" if isinstance(exc, ConfigError) else str(exc)
        raise EncryptionConfigError(
            f"{logical} exists but the API server would refuse it: {problem}. kubeadmpy does "
            "not replace it, as it may hold the only key to data already stored in etcd. Fix "
            "the file (or restore it from a backup); if no data was ever encrypted with it (a "
            "new etcd), remove it and run init again to generate a new key") from exc
    warnings = []
    mode = host.stat().st_mode & 0o777
    if mode & 0o077:
        warnings.append(f"{logical} has mode {mode:04o} and holds encryption keys; "
                        f"run chmod 600 {logical}")
    for resource in settings.resources or ():
        writer = encryption_config.providers_for(parsed, resource)[0].kind
        if writer != settings.provider:
            warnings.append(f"{logical} writes {resource} with {writer}, not the configured "
                            f"{settings.provider}; the file is kept as it is (change providers "
                            "by editing it, see docs/configuration.md)")
    return warnings
