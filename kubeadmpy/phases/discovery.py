"""Join's discovery: learn the cluster's CA and API server address without trusting anyone yet.

Token discovery (kubeadm's): read kube-public/cluster-info anonymously over TLS *without*
verifying the server, then decide whether to believe it. The bootstrap signer in the
controller-manager stores a detached JWS of the ConfigMap's kubeconfig, keyed by the token
secret, under ``jws-kubeconfig-<token-id>``: only someone holding the secret could have made it,
so a valid signature proves the kubeconfig came from the cluster the token belongs to. The CA
inside is then pinned: the SHA-256 of its SubjectPublicKeyInfo must be one of
``--discovery-token-ca-cert-hash`` (a leaked token alone must not let a man in the middle hand
out his own CA). Last, cluster-info is read again with that CA trusted; it must be the same.

File discovery reads a kubeconfig the user copied from the cluster (local path or https URL).

Nothing here writes a file: a failed discovery leaves the machine as it was.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import ssl
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kubeadmpy.client import Client, ClientConfig, errors
from kubeadmpy.controllers.cluster.bootstrapsigner import (
    CLUSTER_INFO,
    CLUSTER_INFO_NAMESPACE,
    KUBECONFIG_KEY,
    SIGNATURE_PREFIX,
)
from kubeadmpy.errors import ConfigError, KubeadmpyError

Printer = Callable[[str], None]
TAG = "discovery"
RETRY_INTERVAL = 5.0  # kubeadm polls cluster-info every 5 s
# The bootstrap signer signs a new token within a second; waiting for a signature longer than
# this only delays the "invalid or expired token" answer (kubeadm waits the whole 5 minutes).
SIGNATURE_GRACE = 10.0


class DiscoveryError(KubeadmpyError):
    """The cluster could not be found or could not be trusted; nothing was written."""


class MissingSignature(DiscoveryError):
    """cluster-info has no JWS for this token id (yet): retried briefly, then reported."""


@dataclass(frozen=True)
class DiscoveredCluster:
    """What discovery established: where the API server is and which CA to trust."""

    server: str
    ca_pem: bytes
    source: str  # "token" or the discovery file's path


@dataclass(frozen=True)
class TokenDiscovery:
    """Inputs of token discovery, from JoinConfiguration.discovery.bootstrapToken."""

    endpoint: str  # host:port
    token: str  # <id>.<secret>
    ca_cert_hashes: tuple[str, ...]
    unsafe_skip_ca_verification: bool
    timeout_seconds: float
    retry_interval: float = RETRY_INTERVAL
    signature_grace: float = SIGNATURE_GRACE


# --- checks on what was fetched (pure) ---------------------------------------------------------


def verify_signature(data: Mapping[str, str], token: str) -> str:
    """The cluster-info kubeconfig if its JWS for this token is valid; else a DiscoveryError."""
    token_id, _, secret = token.partition(".")
    kubeconfig = data.get(KUBECONFIG_KEY)
    if not kubeconfig:
        raise DiscoveryError(
            f'there is no "{KUBECONFIG_KEY}" key in the {CLUSTER_INFO} ConfigMap: the control '
            "plane's bootstrap-token phase has not run (kubeadmpy init phase bootstrap-token)"
        )
    signature = data.get(SIGNATURE_PREFIX + token_id)
    if not signature:
        raise MissingSignature(missing_signature_message(token_id))
    if not detached_jws_valid(signature, kubeconfig, token_id, secret):
        raise DiscoveryError(
            "failed to verify JWS signature of received cluster info object, can't trust this "
            f"API Server: the secret of token id {token_id!r} does not match the one the "
            "cluster signed with. Check the token; 'kubeadmpy token create' on the "
            "control-plane node makes a new one"
        )
    return kubeconfig


def detached_jws_valid(jws: str, content: str, token_id: str, secret: str) -> bool:
    """Check a detached JWS (``<header>..<signature>``) over `content`, HS256 keyed by `secret`.

    The MAC covers the protected header *as sent*, so it is checked over those bytes, and the
    header must say HS256 and name this token id.
    """
    header_b64, separator, signature_b64 = jws.partition("..")
    if not separator or "." in signature_b64:
        return False
    try:
        header = json.loads(_b64url_decode(header_b64))
        signature = _b64url_decode(signature_b64)
    except ValueError:
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256" or \
            header.get("kid") != token_id:
        return False
    payload = base64.urlsafe_b64encode(content.encode()).rstrip(b"=").decode()
    mac = hmac.new(secret.encode(), f"{header_b64}.{payload}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(mac, signature)


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def missing_signature_message(token_id: str) -> str:
    return (
        f"there is no JWS signed token in the {CLUSTER_INFO} ConfigMap. This token id "
        f'"{token_id}" is invalid for this cluster, or it has expired. Use "kubeadmpy token '
        'create" on the control-plane node to create a new valid token'
    )


def cluster_of(kubeconfig: str, where: str) -> tuple[str, bytes]:
    """(server, CA PEM) of the kubeconfig's cluster; errors name `where` it came from.

    cluster-info's kubeconfig has a cluster and no context, so the current context's cluster
    is used when there is one, else the first cluster.
    """
    try:
        document = yaml.safe_load(kubeconfig)
    except yaml.YAMLError as exc:
        raise DiscoveryError(f"the kubeconfig in {where} is not YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise DiscoveryError(f"the kubeconfig in {where} is not a mapping")
    listed = document.get("clusters")
    clusters = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    wanted = _context_cluster(document)
    chosen = next((c for c in clusters if wanted is None or c.get("name") == wanted), None)
    body = chosen.get("cluster") if chosen else None
    if not isinstance(body, dict):
        raise DiscoveryError(f"the kubeconfig in {where} has no cluster")
    server = str(body.get("server") or "")
    if not server.startswith("https://"):
        raise DiscoveryError(f"the kubeconfig in {where} has server {server!r}, not an "
                             "https:// URL")
    try:
        ca_pem = base64.b64decode(str(body.get("certificate-authority-data") or ""),
                                  validate=True)
    except ValueError as exc:
        raise DiscoveryError(f"the kubeconfig in {where} has certificate-authority-data "
                             "that is not base64") from exc
    if not ca_pem:
        raise DiscoveryError(f"the kubeconfig in {where} has no certificate-authority-data")
    try:  # checked here: a bad CA would otherwise surface as an ssl traceback in the next call
        x509.load_pem_x509_certificates(ca_pem)
    except ValueError as exc:
        raise DiscoveryError(f"the kubeconfig in {where} has certificate-authority-data that "
                             f"is not a PEM certificate: {exc}") from exc
    return server, ca_pem


def _context_cluster(document: dict[str, Any]) -> str | None:
    current = document.get("current-context")
    for entry in document.get("contexts") or []:
        if isinstance(entry, dict) and current and entry.get("name") == current:
            context = entry.get("context") or {}
            return str(context.get("cluster")) if isinstance(context, dict) else None
    return None


def public_key_pins(ca_pem: bytes) -> list[str]:
    """``sha256:<hex>`` of each certificate's SubjectPublicKeyInfo in `ca_pem`."""
    try:
        certificates = x509.load_pem_x509_certificates(ca_pem)
    except ValueError as exc:
        raise DiscoveryError(
            f"cluster CA found in {CLUSTER_INFO} ConfigMap is invalid: {exc}"
        ) from exc
    return [
        "sha256:" + hashlib.sha256(cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo,
        )).hexdigest()
        for cert in certificates
    ]


def check_pins(ca_pem: bytes, pins: tuple[str, ...]) -> None:
    """The CA must carry one of the pinned public keys (compared case-insensitively)."""
    found = public_key_pins(ca_pem)
    wanted = {pin.strip().lower() for pin in pins}
    if not wanted.intersection(found):
        raise DiscoveryError(
            f"cluster CA found in {CLUSTER_INFO} ConfigMap is invalid: none of the public keys "
            f'"{",".join(found)}" are pinned. Check --discovery-token-ca-cert-hash against '
            "the one 'kubeadmpy init' printed"
        )


# --- token discovery ---------------------------------------------------------------------------


def _client(endpoint: str, ca_pem: bytes | None) -> Client:
    config = ClientConfig(
        server=f"https://{endpoint}",
        ca_pem=ca_pem or b"",
        insecure_skip_tls_verify=ca_pem is None,
        user_agent="kubeadmpy-join",
        request_timeout=10.0,
        max_retries=0,
    )
    return Client(config)


async def _get_cluster_info(endpoint: str, ca_pem: bytes | None) -> dict[str, str]:
    async with _client(endpoint, ca_pem) as client:
        found: Any = await client.get("configmaps", CLUSTER_INFO, CLUSTER_INFO_NAMESPACE)
    # Read before anything is trusted: any answer at all may come back, and must not crash.
    data = (found.get("data") or {}) if isinstance(found, dict) else None
    if not isinstance(data, dict):
        raise DiscoveryError(
            f"https://{endpoint} did not answer with the {CLUSTER_INFO} ConfigMap (got "
            f"{str(found)[:80]!r}): is this the API server's address and port?"
        )
    return {str(k): str(v) for k, v in data.items()}


async def fetch_signed_kubeconfig(settings: TokenDiscovery, out: Printer) -> str:
    """Read cluster-info until it is there and signed for our token, within the timeouts."""
    token_id = settings.token.partition(".")[0]
    started = time.monotonic()
    first_unsigned: float | None = None
    while True:
        elapsed = time.monotonic() - started
        try:
            data = await _get_cluster_info(settings.endpoint, None)
            return verify_signature(data, settings.token)
        except MissingSignature:
            first_unsigned = time.monotonic() if first_unsigned is None else first_unsigned
            if time.monotonic() - first_unsigned >= settings.signature_grace:
                raise
            problem = f"could not find a JWS signature for token ID {token_id!r}"
        except (errors.Unauthorized, errors.Forbidden) as exc:
            raise DiscoveryError(
                f"the API server at {settings.endpoint} refused to show the {CLUSTER_INFO} "
                f"ConfigMap to an anonymous user ({exc.reason or exc}): the cluster must allow "
                "anonymous access to it (kubeadmpy init phase bootstrap-token sets that up)"
            ) from exc
        except errors.APIError as exc:
            # Unreachable, not yet created, or the server is still starting: keep trying.
            problem = str(exc)
        if elapsed + settings.retry_interval > settings.timeout_seconds:
            raise DiscoveryError(
                f"couldn't validate the identity of the API Server at {settings.endpoint}: "
                f"no usable {CLUSTER_INFO} ConfigMap within {settings.timeout_seconds:g}s "
                f"(last error: {problem}). Check the address and that the control plane is "
                "running"
            )
        out(f"[{TAG}] Retrying in {settings.retry_interval:g}s: {problem}")
        await asyncio.sleep(settings.retry_interval)


async def discover_with_token(settings: TokenDiscovery, out: Printer) -> DiscoveredCluster:
    """kubeadm's token discovery (see the module docstring); raises DiscoveryError."""
    out(f"[{TAG}] Reading the {CLUSTER_INFO} ConfigMap from https://{settings.endpoint}")
    kubeconfig = await fetch_signed_kubeconfig(settings, out)
    server, ca_pem = cluster_of(kubeconfig, f"the {CLUSTER_INFO} ConfigMap")
    if settings.unsafe_skip_ca_verification and not settings.ca_cert_hashes:
        out(
            f"[{TAG}] WARNING: --discovery-token-unsafe-skip-ca-verification: the cluster CA "
            "is trusted because of the token alone, without a pinned public key"
        )
    else:
        check_pins(ca_pem, settings.ca_cert_hashes)
        out(f"[{TAG}] Cluster info signature and contents are valid and the CA key is pinned")
    try:
        again = await _get_cluster_info(settings.endpoint, ca_pem)
    except errors.APIError as exc:
        raise DiscoveryError(
            f"reading {CLUSTER_INFO} again with its CA trusted failed: {exc}. The API server's "
            f"certificate must be signed by that CA and name the address {settings.endpoint}"
        ) from exc
    if again.get(KUBECONFIG_KEY) != kubeconfig:
        raise DiscoveryError(
            f"the {CLUSTER_INFO} ConfigMap read with its CA trusted differs from the one read "
            "before: can't trust this API Server"
        )
    out(f'[{TAG}] Using the API server "{server}" and the CA of the {CLUSTER_INFO} ConfigMap')
    return DiscoveredCluster(server=server, ca_pem=ca_pem, source="token")


# --- file discovery ----------------------------------------------------------------------------


def read_discovery_file(location: str) -> str:
    """The kubeconfig text at a local path or an https URL (verified with the system CAs)."""
    if location.startswith("http://"):
        raise ConfigError("--discovery-file", f"{location!r} is plain http",
                          "Use an https:// URL or a local path")
    try:
        if location.startswith("https://"):
            context = ssl.create_default_context()
            with urllib.request.urlopen(location, timeout=30, context=context) as answer:
                return str(answer.read().decode())
        return Path(location).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("--discovery-file", f"cannot read {location!r}: {exc}",
                          "Give the path or https URL of a kubeconfig from the cluster") from exc


def discover_with_file(location: str, out: Printer) -> tuple[DiscoveredCluster, str]:
    """(cluster, bearer token found in the file or ""); the file must carry the CA."""
    text = read_discovery_file(location)
    server, ca_pem = cluster_of(text, f"--discovery-file {location}")
    token = _file_token(text)
    out(f'[{TAG}] Using the API server "{server}" and the CA of {location}')
    return DiscoveredCluster(server=server, ca_pem=ca_pem, source=location), token


def _file_token(text: str) -> str:
    document: Any = yaml.safe_load(text) or {}
    users = document.get("users") if isinstance(document, dict) else None
    for entry in users or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if isinstance(user, dict) and user.get("token"):
            return str(user["token"])
    return ""


# --- the kubeconfig join writes ----------------------------------------------------------------


def bootstrap_kubeconfig(cluster: DiscoveredCluster, token: str) -> str:
    """bootstrap-kubelet.conf: the discovered cluster and user tls-bootstrap-token-user."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {
            "certificate-authority-data": base64.b64encode(cluster.ca_pem).decode(),
            "server": cluster.server,
        }}],
        "contexts": [{"name": "tls-bootstrap-token-user@kubernetes", "context": {
            "cluster": "kubernetes", "user": "tls-bootstrap-token-user",
        }}],
        "current-context": "tls-bootstrap-token-user@kubernetes",
        "preferences": {},
        "users": [{"name": "tls-bootstrap-token-user", "user": {"token": token}}],
    }
    return yaml.safe_dump(config, sort_keys=False)
