"""`ensure_certs`: make the PKI under a certificate directory exist and be right, or say why not.

Every certificate follows kubeadm's steps — load existing → validate → reuse and say so →
otherwise create — with one difference: the whole selection is planned in memory first and
written only when nothing is wrong, so an error (a foreign CA, a certificate missing a wanted SAN,
a key that does not match) leaves the disk exactly as it was. Nothing is ever regenerated
silently: a file that exists but is unusable is an error naming the file and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from cryptography import x509

from kubeadmpy.errors import PKIError, UserInputError
from kubeadmpy.files import write_file
from kubeadmpy.pki import certs, keys
from kubeadmpy.pki.settings import PKISettings
from kubeadmpy.pki.specs import (
    ALL_CERT_NAMES,
    SERVICE_ACCOUNT_KEY_NAME,
    SPECS_BY_NAME,
    CertSpec,
)

CERT_MODE = 0o644
KEY_MODE = 0o600
DIR_MODE = 0o755


class Action(StrEnum):
    GENERATED = "generated"
    REUSED = "reused"
    EXTERNAL = "external"  # a CA whose key is absent: leaf certificates must be supplied


@dataclass(frozen=True)
class CertResult:
    """What happened to one certificate (or the sa key pair); `messages` are kubeadm's lines."""

    name: str
    action: Action
    messages: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def lines(self, prefix: str = "[certs] ") -> list[str]:
        """What to print: the messages, then the warnings, each with the phase prefix."""
        return [prefix + m for m in self.messages] + [
            f"{prefix}WARNING: {w}" for w in self.warnings
        ]


@dataclass
class LoadedCA:
    """A CA as the leaves of this run see it; `key` is None in external CA mode."""

    spec: CertSpec
    cert: x509.Certificate
    key: keys.PrivateKey | None
    generated: bool


@dataclass
class _Plan:
    """Files to write once every selected certificate has been validated."""

    cert_dir: Path
    now: datetime
    writes: list[tuple[Path, bytes, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cas: dict[str, LoadedCA] = field(default_factory=dict)
    unusable_cas: set[str] = field(default_factory=set)  # already reported; leaves stay quiet

    def write(self, relative: str, data: bytes, mode: int) -> None:
        self.writes.append((self.cert_dir / relative, data, mode))


def select_names(names: Iterable[str] | None) -> list[str]:
    """`names` in kubeadm's phase order; unknown names are a user error."""
    if names is None:
        return list(ALL_CERT_NAMES)
    wanted = set(names)
    unknown = sorted(wanted - set(ALL_CERT_NAMES))
    if unknown:
        raise UserInputError(
            "certificate name",
            f"unknown {', '.join(map(repr, unknown))}",
            f"Use one of {', '.join(ALL_CERT_NAMES)}",
        )
    return [name for name in ALL_CERT_NAMES if name in wanted]


def ensure_certs(
    settings: PKISettings, cert_dir: Path, names: Sequence[str] | None = None
) -> list[CertResult]:
    """Create or reuse the selected certificates (default: all, plus `sa`) under `cert_dir`.

    `cert_dir` is the host path (already mapped through --root-dir). Raises `PKIError` listing
    every problem found, before writing anything.
    """
    plan = _Plan(cert_dir, datetime.now(UTC))
    results: list[CertResult] = []
    for name in select_names(names):
        if name == SERVICE_ACCOUNT_KEY_NAME:
            result = _ensure_service_account_key(settings, plan)
        else:
            spec = SPECS_BY_NAME[name]
            result = (
                _ensure_ca(spec, settings, plan)
                if spec.is_ca
                else _ensure_leaf(spec, settings, plan)
            )
        if result is not None:
            results.append(result)
    if plan.problems:
        raise PKIError(
            f"the certificates in {cert_dir} cannot be used as they are; nothing was changed:\n"
            + "\n".join(f"  - {problem}" for problem in plan.problems)
        )
    for path, data, mode in plan.writes:
        write_file(path, data, mode=mode, dir_mode=DIR_MODE)
    return results


def load_ca(spec: CertSpec, cert_dir: Path, now: datetime | None = None) -> LoadedCA:
    """The CA `spec` from disk (key optional); a missing certificate is an error with the fix."""
    cert_path = cert_dir / spec.cert_file
    if not cert_path.exists():
        raise PKIError(
            f"the {spec.name} certificate authority {cert_path} does not exist; "
            f"run `kubeadmpy init phase certs {spec.name}` first"
        )
    cert = certs.load_cert(cert_path)
    key_path = cert_dir / spec.key_file
    key = keys.load_private_key(key_path) if key_path.exists() else None
    problem = _ca_problem(spec, cert, key, cert_dir, now or datetime.now(UTC))
    if problem:
        raise PKIError(problem)
    return LoadedCA(spec, cert, key, generated=False)


def _ca_problem(
    spec: CertSpec,
    cert: x509.Certificate,
    key: keys.PrivateKey | None,
    cert_dir: Path,
    now: datetime,
) -> str:
    cert_path = cert_dir / spec.cert_file
    if not certs.is_ca(cert):
        return f"{cert_path} is not a CA certificate (no CA:TRUE); restore the {spec.name} CA"
    if key is not None and not keys.same_public_key(key.public_key(), cert.public_key()):
        return (
            f"{cert_dir / spec.key_file} does not match {cert_path}; restore the matching pair "
            "(a new CA would invalidate every certificate and kubeconfig it signed)"
        )
    if cert.not_valid_after_utc <= now:
        return (
            f"{cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; a CA is "
            "never renewed in place: remove the PKI to create a new one (and rejoin the nodes)"
        )
    return ""


def _ensure_ca(spec: CertSpec, settings: PKISettings, plan: _Plan) -> CertResult | None:
    cert_path, key_path = plan.cert_dir / spec.cert_file, plan.cert_dir / spec.key_file
    if cert_path.exists():
        try:
            cert = certs.load_cert(cert_path)
            key = keys.load_private_key(key_path) if key_path.exists() else None
        except PKIError as exc:
            plan.problems.append(f"{exc}; restore the file or remove the {spec.name} CA pair")
            plan.unusable_cas.add(spec.name)
            return None
        problem = _ca_problem(spec, cert, key, plan.cert_dir, plan.now)
        if problem:
            plan.problems.append(problem)
            plan.unusable_cas.add(spec.name)
            return None
        plan.cas[spec.name] = LoadedCA(spec, cert, key, generated=False)
        if key is None:
            return CertResult(
                spec.name,
                Action.EXTERNAL,
                (
                    f"Using existing {spec.name} certificate authority",
                    f"External CA mode: {key_path} is absent, so certificates signed by "
                    f"{spec.name} must already exist",
                ),
            )
        return CertResult(
            spec.name, Action.REUSED, (f"Using existing {spec.name} certificate authority",)
        )
    if key_path.exists():
        plan.problems.append(
            f"{key_path} exists without {cert_path}; restore {cert_path}, or remove "
            f"{key_path} to have a new {spec.name} CA generated"
        )
        plan.unusable_cas.add(spec.name)
        return None
    key = keys.generate_key(settings.encryption_algorithm)
    cert = certs.create_ca(spec.common_name(settings), key, settings.ca_validity, plan.now)
    plan.cas[spec.name] = LoadedCA(spec, cert, key, generated=True)
    plan.write(spec.key_file, keys.private_key_pem(key), KEY_MODE)
    plan.write(spec.cert_file, certs.cert_pem(cert), CERT_MODE)
    return CertResult(
        spec.name, Action.GENERATED, (f'Generating "{spec.name}" certificate and key',)
    )


def _signing_ca(spec: CertSpec, plan: _Plan) -> LoadedCA | None:
    assert spec.ca_name is not None
    if spec.ca_name in plan.unusable_cas:
        return None
    if spec.ca_name not in plan.cas:
        try:
            plan.cas[spec.ca_name] = load_ca(SPECS_BY_NAME[spec.ca_name], plan.cert_dir, plan.now)
        except PKIError as exc:
            plan.problems.append(f"cannot create or check {spec.name}: {exc}")
            plan.unusable_cas.add(spec.ca_name)
            return None
    return plan.cas[spec.ca_name]


def _ensure_leaf(spec: CertSpec, settings: PKISettings, plan: _Plan) -> CertResult | None:
    ca = _signing_ca(spec, plan)
    if ca is None:
        return None
    warnings: list[str] = []
    request = spec.request(settings, warnings)
    cert_path, key_path = plan.cert_dir / spec.cert_file, plan.cert_dir / spec.key_file
    if cert_path.exists() or key_path.exists():
        problems = leaf_problems(spec, request, ca, plan.cert_dir, plan.now)
        if problems:
            plan.problems.extend(problems)
            return None
        return CertResult(
            spec.name,
            Action.REUSED,
            (f"Using existing {spec.name} certificate and key on disk",),
            tuple(warnings),
        )
    if ca.key is None:
        plan.problems.append(
            f"{cert_path} is missing and cannot be generated: {plan.cert_dir / ca.spec.key_file} "
            f"is absent (external CA mode); sign {spec.cert_file} and {spec.key_file} with your "
            f"{ca.spec.name} CA and place them in {plan.cert_dir}, or provide the CA key"
        )
        return None
    key = keys.generate_key(settings.encryption_algorithm)
    cert = certs.sign_cert(
        request, key.public_key(), ca.cert, ca.key, settings.cert_validity, plan.now
    )
    plan.write(spec.key_file, keys.private_key_pem(key), KEY_MODE)
    plan.write(spec.cert_file, certs.cert_pem(cert), CERT_MODE)
    if cert.not_valid_after_utc > ca.cert.not_valid_after_utc:
        warnings.append(
            f"the {spec.name} certificate is valid until {cert.not_valid_after_utc:%Y-%m-%d}, "
            f"after its {ca.spec.name} CA expires ({ca.cert.not_valid_after_utc:%Y-%m-%d}); "
            "clients stop trusting it then"
        )
    messages = [f'Generating "{spec.name}" certificate and key']
    if request.alt_names:
        messages.append(
            f"{spec.base_name} serving cert is signed for {request.alt_names.describe()}"
        )
    return CertResult(spec.name, Action.GENERATED, tuple(messages), tuple(warnings))


def leaf_problems(
    spec: CertSpec,
    request: certs.CertRequest,
    ca: LoadedCA,
    cert_dir: Path,
    now: datetime,
) -> list[str]:
    """Why the leaf files of `spec` on disk cannot be reused (empty list: they can)."""
    cert_path, key_path = cert_dir / spec.cert_file, cert_dir / spec.key_file
    regenerate = f"remove {cert_path} and {key_path} to have them regenerated"
    for path, other in ((cert_path, key_path), (key_path, cert_path)):
        if not path.exists():
            return [f"{other} exists without {path}; restore it, or {regenerate}"]
    try:
        cert = certs.load_cert(cert_path)
        key = keys.load_private_key(key_path)
    except PKIError as exc:
        return [f"{exc}; {regenerate}"]
    if not keys.same_public_key(key.public_key(), cert.public_key()):
        return [f"{key_path} does not match {cert_path}; {regenerate}"]
    renew = f"`kubeadmpy certs renew {spec.name}`"
    problems = []
    if not certs.is_signed_by(cert, ca.cert):
        problems.append(
            f"{cert_path} is not signed by the {ca.spec.name} CA in {cert_dir / ca.spec.cert_file}"
            f"; {regenerate}, or run {renew} to re-sign it with that CA"
        )
    if cert.not_valid_after_utc <= now:
        problems.append(
            f"{cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; run {renew}"
        )
    missing = request.alt_names.missing_from(certs.alt_names_of(cert))
    if missing:
        problems.append(
            f"{cert_path} lacks the wanted SANs [{' '.join(missing)}]; {regenerate} with them"
        )
    missing_usages = [certs.usage_name(u) for u in request.usages if u not in certs.usages_of(cert)]
    if missing_usages:
        problems.append(
            f"{cert_path} lacks the extended key usages [{' '.join(missing_usages)}]; {regenerate}"
        )
    return problems


def _ensure_service_account_key(settings: PKISettings, plan: _Plan) -> CertResult | None:
    key_path, pub_path = plan.cert_dir / "sa.key", plan.cert_dir / "sa.pub"
    if key_path.exists():
        try:
            key = keys.load_private_key(key_path)
            public = (
                keys.parse_public_key(pub_path.read_bytes(), str(pub_path))
                if (pub_path.exists())
                else None
            )
        except PKIError as exc:
            plan.problems.append(f"{exc}; restore it, or remove sa.key and sa.pub")
            return None
        if public is None:
            plan.write("sa.pub", keys.public_key_pem(key.public_key()), KEY_MODE)
        elif not keys.same_public_key(key.public_key(), public):
            plan.problems.append(
                f"{pub_path} does not match {key_path}; remove {pub_path} to have it rewritten "
                "from the key"
            )
            return None
        return CertResult(SERVICE_ACCOUNT_KEY_NAME, Action.REUSED, ('Using the existing "sa" key',))
    if pub_path.exists():
        plan.problems.append(
            f"{pub_path} exists without {key_path}; restore {key_path}, or remove {pub_path} "
            "to have a new pair generated (existing service account tokens become invalid)"
        )
        return None
    key = keys.generate_key(settings.encryption_algorithm)
    plan.write("sa.key", keys.private_key_pem(key), KEY_MODE)
    plan.write("sa.pub", keys.public_key_pem(key.public_key()), KEY_MODE)
    return CertResult(
        SERVICE_ACCOUNT_KEY_NAME, Action.GENERATED, ('Generating "sa" key and public key',)
    )
