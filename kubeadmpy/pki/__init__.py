"""PKI of a kubeadmpy cluster: CAs, certificates, keys, kubeconfig files, certificate keys.

Public names are re-exported here; internals are imported as modules
(``from kubeadmpy.pki import certs``). Every function takes explicit inputs (`PKISettings`,
host directories) rather than configuration objects; the integrator maps config to settings and
--root-dir to host paths.
"""

from kubeadmpy.pki.certkey import (
    ca_cert_hash,
    certificate_key,
    decrypt_with_certificate_key,
    encrypt_with_certificate_key,
)
from kubeadmpy.pki.durations import parse_duration, short_human_duration
from kubeadmpy.pki.ensure import Action, CertResult, ensure_certs, load_ca
from kubeadmpy.pki.kubeconfig import (
    KUBECONFIG_SPECS,
    KubeconfigResult,
    KubeconfigSpec,
    UserKubeconfigRequest,
    build_kubeconfig,
    ensure_kubeconfigs,
    kubeconfig_for_user,
    load_kubeconfig,
    user_kubeconfig,
)
from kubeadmpy.pki.renewal import (
    RENEWABLES,
    ExpirationReport,
    ExpirationRow,
    RenewResult,
    check_expiration,
    format_expiration,
    renew,
)
from kubeadmpy.pki.settings import ENCRYPTION_ALGORITHMS, Endpoint, PKISettings, parse_endpoint
from kubeadmpy.pki.specs import ALL_CERT_NAMES, CERT_SPECS, CertSpec

__all__ = [
    "ALL_CERT_NAMES",
    "CERT_SPECS",
    "ENCRYPTION_ALGORITHMS",
    "KUBECONFIG_SPECS",
    "RENEWABLES",
    "Action",
    "CertResult",
    "CertSpec",
    "Endpoint",
    "ExpirationReport",
    "ExpirationRow",
    "KubeconfigResult",
    "KubeconfigSpec",
    "PKISettings",
    "RenewResult",
    "UserKubeconfigRequest",
    "build_kubeconfig",
    "ca_cert_hash",
    "certificate_key",
    "check_expiration",
    "decrypt_with_certificate_key",
    "encrypt_with_certificate_key",
    "ensure_certs",
    "ensure_kubeconfigs",
    "format_expiration",
    "kubeconfig_for_user",
    "load_ca",
    "load_kubeconfig",
    "parse_duration",
    "parse_endpoint",
    "renew",
    "short_human_duration",
    "user_kubeconfig",
]
