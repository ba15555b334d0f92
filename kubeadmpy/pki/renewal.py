"""Day-2 certificate care: `certs check-expiration` and `certs renew`.

The renewable set is kubeadm's: every leaf certificate of the table plus the client certificates
embedded in admin.conf, super-admin.conf, controller-manager.conf and scheduler.conf (kubelet.conf
is left to the kubelet's own rotation). Renewal re-signs with the CA on disk, taking CN, O, SANs
and usages from the existing certificate, with a new key; CAs are never renewed. A CA whose key
is absent makes everything it signed "externally managed": reported, never touched.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from kubeadmpy.errors import PKIError, UserInputError
from kubeadmpy.files import write_file
from kubeadmpy.pki import certs, keys
from kubeadmpy.pki.durations import short_human_duration
from kubeadmpy.pki.ensure import CERT_MODE, DIR_MODE, KEY_MODE, LoadedCA, load_ca
from kubeadmpy.pki.kubeconfig import (
    KUBECONFIG_MODE,
    KUBECONFIG_SPECS_BY_NAME,
    client_cert_of,
    dump_kubeconfig,
    load_kubeconfig,
    same_ca,
)
from kubeadmpy.pki.settings import DEFAULT_CERT_VALIDITY
from kubeadmpy.pki.specs import CA_SPECS, LEAF_SPECS, SPECS_BY_NAME

RENEWABLE_KUBECONFIGS = ("admin", "super-admin", "controller-manager", "scheduler")


@dataclass(frozen=True)
class Renewable:
    """One renewable certificate: a leaf file pair, or a kubeconfig's embedded client cert."""

    name: str  # as typed on the command line: "apiserver", "admin.conf"
    ca_name: str
    long_name: str
    kubeconfig: bool

    def path(self, cert_dir: Path, kube_dir: Path) -> Path:
        if self.kubeconfig:
            return kube_dir / self.name
        return cert_dir / SPECS_BY_NAME[self.name].cert_file


RENEWABLES: tuple[Renewable, ...] = tuple(
    sorted(
        [Renewable(spec.name, spec.ca_name or "", spec.long_name, False) for spec in LEAF_SPECS]
        + [
            Renewable(
                KUBECONFIG_SPECS_BY_NAME[name].file_name,
                "ca",
                "certificate embedded in the kubeconfig file for "
                + KUBECONFIG_SPECS_BY_NAME[name].long_name,
                True,
            )
            for name in RENEWABLE_KUBECONFIGS
        ],
        key=lambda renewable: renewable.name,
    )
)
RENEWABLES_BY_NAME = {renewable.name: renewable for renewable in RENEWABLES}


@dataclass(frozen=True)
class ExpirationRow:
    """One line of `certs check-expiration`; `expires` is None when the file is missing."""

    name: str
    expires: datetime | None
    ca_name: str
    externally_managed: bool


@dataclass(frozen=True)
class ExpirationReport:
    certificates: tuple[ExpirationRow, ...]
    authorities: tuple[ExpirationRow, ...]


def _ca_is_external(ca_name: str, cert_dir: Path) -> bool:
    spec = SPECS_BY_NAME[ca_name]
    return (cert_dir / spec.cert_file).exists() and not (cert_dir / spec.key_file).exists()


def _current_cert(renewable: Renewable, cert_dir: Path, kube_dir: Path) -> x509.Certificate | None:
    path = renewable.path(cert_dir, kube_dir)
    if not path.exists():
        return None
    if not renewable.kubeconfig:
        return certs.load_cert(path)
    _, view = load_kubeconfig(path)
    pair = client_cert_of(view, str(path))
    if pair is None:
        raise PKIError(f"{path} has no embedded client certificate to check or renew")
    return certs.parse_cert(pair[0], f"{path} client-certificate-data")


def check_expiration(cert_dir: Path, kube_dir: Path) -> ExpirationReport:
    """Expiry of every renewable certificate and of the CAs, as `certs check-expiration` shows."""
    rows = []
    for renewable in RENEWABLES:
        cert = _current_cert(renewable, cert_dir, kube_dir)
        rows.append(
            ExpirationRow(
                renewable.name,
                cert.not_valid_after_utc if cert else None,
                renewable.ca_name,
                _ca_is_external(renewable.ca_name, cert_dir),
            )
        )
    authorities = []
    for spec in CA_SPECS:
        path = cert_dir / spec.cert_file
        expires = certs.load_cert(path).not_valid_after_utc if path.exists() else None
        authorities.append(
            ExpirationRow(spec.name, expires, "", _ca_is_external(spec.name, cert_dir))
        )
    return ExpirationReport(tuple(rows), tuple(authorities))


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def format_expiration(report: ExpirationReport, now: datetime | None = None) -> str:
    """kubeadm's two tables; a missing file shows as ``!MISSING! <name>``."""
    now = now or datetime.now(UTC)

    def cells(row: ExpirationRow, with_ca: bool) -> list[str]:
        if row.expires is None:
            return [f"!MISSING! {row.name}"] + [""] * (4 if with_ca else 3)
        expires = row.expires.strftime("%b %d, %Y %H:%M UTC")
        residual = short_human_duration(row.expires - now)
        managed = "yes" if row.externally_managed else "no"
        return [row.name, expires, residual, *([row.ca_name] if with_ca else []), managed]

    header = [
        "CERTIFICATE",
        "EXPIRES",
        "RESIDUAL TIME",
        "CERTIFICATE AUTHORITY",
        "EXTERNALLY MANAGED",
    ]
    ca_header = ["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"]
    lines = _table([header, *(cells(row, True) for row in report.certificates)])
    lines.append("")
    lines += _table([ca_header, *(cells(row, False) for row in report.authorities)])
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RenewResult:
    name: str
    renewed: bool
    message: str


def _select_renewables(name: str) -> list[Renewable]:
    if name == "all":
        return list(RENEWABLES)
    if name in SPECS_BY_NAME and SPECS_BY_NAME[name].is_ca:
        raise UserInputError(
            "certificate name",
            f"{name!r} is a certificate authority, and CAs are never renewed",
            "Renew the certificates it signed instead, e.g. `kubeadmpy certs renew all`",
        )
    if name not in RENEWABLES_BY_NAME:
        raise UserInputError(
            "certificate name",
            f"unknown {name!r}",
            f"Use all or one of {', '.join(RENEWABLES_BY_NAME)}",
        )
    return [RENEWABLES_BY_NAME[name]]


def renew(
    name: str,
    cert_dir: Path,
    kube_dir: Path,
    *,
    validity: timedelta = DEFAULT_CERT_VALIDITY,
    encryption_algorithm: str | None = None,
) -> list[RenewResult]:
    """Renew `name` (or ``all``) with the CAs on disk; everything is checked before writing.

    Without `encryption_algorithm` each new key has the algorithm of the key it replaces.
    """
    selected = _select_renewables(name)
    single = name != "all"
    cas: dict[str, LoadedCA] = {}
    writes: list[tuple[Path, bytes, int]] = []
    results: list[RenewResult] = []
    for renewable in selected:
        path = renewable.path(cert_dir, kube_dir)
        if not path.exists():
            if single:
                raise PKIError(f"cannot renew {renewable.name}: {path} does not exist")
            results.append(RenewResult(renewable.name, False, f"MISSING! {renewable.long_name}"))
            continue
        if _ca_is_external(renewable.ca_name, cert_dir):
            message = (
                f"{renewable.name} is signed by an external {renewable.ca_name} CA "
                f"({cert_dir / SPECS_BY_NAME[renewable.ca_name].key_file} is absent); renew it "
                "with that CA"
            )
            if single:
                raise PKIError(f"cannot renew {message}")
            results.append(RenewResult(renewable.name, False, f"Skipped: {message}"))
            continue
        if renewable.ca_name not in cas:
            cas[renewable.ca_name] = load_ca(SPECS_BY_NAME[renewable.ca_name], cert_dir)
        writes += _renewed_files(
            renewable, path, cas[renewable.ca_name], validity, encryption_algorithm
        )
        results.append(RenewResult(renewable.name, True, f"{renewable.long_name} renewed"))
    for path, data, mode in writes:
        write_file(path, data, mode=mode, dir_mode=DIR_MODE)
    return results


def _renewed_files(
    renewable: Renewable,
    path: Path,
    ca: LoadedCA,
    validity: timedelta,
    algorithm: str | None,
) -> list[tuple[Path, bytes, int]]:
    assert ca.key is not None
    if renewable.kubeconfig:
        config, view = load_kubeconfig(path)
        if not same_ca(view.ca_pem, ca, str(path)):
            raise PKIError(
                f"cannot renew {renewable.name}: {path} trusts another CA than the {ca.spec.name} "
                "CA on disk; remove it and run `kubeadmpy init phase kubeconfig`"
            )
        pair = client_cert_of(view, str(path))
        if pair is None:
            raise PKIError(f"cannot renew {renewable.name}: {path} embeds no client certificate")
        old_cert = certs.parse_cert(pair[0], f"{path} client-certificate-data")
    else:
        old_cert = certs.load_cert(path)
    key = keys.generate_key(algorithm or keys.algorithm_of(old_cert.public_key()))
    cert = certs.sign_cert(
        certs.request_from_cert(old_cert), key.public_key(), ca.cert, ca.key, validity
    )
    if not renewable.kubeconfig:
        return [
            (path.with_suffix(".key"), keys.private_key_pem(key), KEY_MODE),
            (path, certs.cert_pem(cert), CERT_MODE),
        ]
    view.user["client-certificate-data"] = base64.b64encode(certs.cert_pem(cert)).decode()
    view.user["client-key-data"] = base64.b64encode(keys.private_key_pem(key)).decode()
    return [(path, dump_kubeconfig(config).encode(), KUBECONFIG_MODE)]
