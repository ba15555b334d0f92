"""Token and file discovery as a joining node meets them: a loopback HTTPS server plays the API
server's cluster-info answers (signed, unsigned, tampered, unreachable, forbidden), so each
failure's message can be checked; the real apiserver + controller-manager are in
tests/integration/join."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubeadmpy.client import parse_kubeconfig
from kubeadmpy.controllers.cluster.bootstrapsigner import detached_signature
from kubeadmpy.errors import ConfigError
from kubeadmpy.phases import discovery
from kubeadmpy.phases.discovery import DiscoveryError, TokenDiscovery
from kubeadmpy.pki import ca_cert_hash

TOKEN = "abcdef.0123456789abcdef"
OTHER_SECRET = "abcdef.fedcba9876543210"
UNKNOWN_ID = "zzzzzz.0123456789abcdef"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def detached_jws(content: str, token: str) -> str:
    """RFC 7515 appendix F, written here from the spec so the test does not trust the signer."""
    token_id, _, secret = token.partition(".")
    header = _b64url(json.dumps({"alg": "HS256", "kid": token_id}).encode())
    mac = hmac.new(secret.encode(), f"{header}.{_b64url(content.encode())}".encode(),
                   hashlib.sha256).digest()
    return f"{header}..{_b64url(mac)}"


@dataclass
class Pki:
    ca_pem: bytes
    cert_file: Path
    key_file: Path


def make_pki(folder: Path, name: str = "kubernetes") -> Pki:
    """A CA and a serving certificate for 127.0.0.1 signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "tls.crt", folder / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Pki(ca.public_bytes(serialization.Encoding.PEM), cert_file, key_file)


def cluster_info_kubeconfig(ca_pem: bytes, server: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "", "cluster": {
            "certificate-authority-data": base64.b64encode(ca_pem).decode(), "server": server}}],
        "contexts": None, "current-context": "", "users": None,
    })


@dataclass
class ClusterInfoServer:
    """Answers GET kube-public/cluster-info with `answers[i]` for the i-th request (the last
    answer repeats): a dict is the ConfigMap's data, an int an error status."""

    answers: list[dict[str, str] | int]
    seen: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request.headers.get("Authorization", "anonymous"))
        answer = self.answers[min(len(self.seen), len(self.answers)) - 1]
        if isinstance(answer, int):
            return web.json_response({"kind": "Status", "apiVersion": "v1", "code": answer,
                                      "status": "Failure", "message": f"status {answer}"},
                                     status=answer)
        if isinstance(answer, str):
            return web.Response(text=answer, content_type="text/html")
        return web.json_response({"kind": "ConfigMap", "apiVersion": "v1",
                                  "metadata": {"name": "cluster-info",
                                               "namespace": "kube-public"},
                                  "data": answer})


Serve = Callable[[ClusterInfoServer], Any]


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
async def serve(pki: Pki) -> AsyncIterator[Serve]:
    """Start a ClusterInfoServer on https://127.0.0.1:<port>; returns the endpoint."""
    runners: list[web.AppRunner] = []

    async def start(server: ClusterInfoServer) -> str:
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/kube-public/configmaps/cluster-info",
                           server.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki.cert_file, pki.key_file)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def signed(ca_pem: bytes, server: str = "https://10.0.0.10:6443",
           tokens: tuple[str, ...] = (TOKEN,)) -> dict[str, str]:
    kubeconfig = cluster_info_kubeconfig(ca_pem, server)
    data = {"kubeconfig": kubeconfig}
    for token in tokens:
        data[f"jws-kubeconfig-{token.partition('.')[0]}"] = detached_jws(kubeconfig, token)
    return data


def settings(endpoint: str, ca_pem: bytes | None = None, token: str = TOKEN,
             **changes: Any) -> TokenDiscovery:
    values: dict[str, Any] = {
        "endpoint": endpoint, "token": token,
        "ca_cert_hashes": (ca_cert_hash(ca_pem),) if ca_pem else (),
        "unsafe_skip_ca_verification": ca_pem is None, "timeout_seconds": 2.0,
        "retry_interval": 0.05, "signature_grace": 0.2,
    }
    values.update(changes)
    return TokenDiscovery(**values)


async def test_a_signed_cluster_info_with_the_pinned_ca_gives_the_server_and_ca(
        serve: Serve, pki: Pki) -> None:
    server = ClusterInfoServer([signed(pki.ca_pem)])
    endpoint = await serve(server)
    lines: list[str] = []
    found = await discovery.discover_with_token(settings(endpoint, pki.ca_pem), lines.append)
    assert found.server == "https://10.0.0.10:6443"
    assert found.ca_pem == pki.ca_pem
    assert server.seen == ["anonymous", "anonymous"]  # insecure read, then read with CA trusted
    assert any("CA key is pinned" in line for line in lines)


async def test_any_of_several_pins_may_match_and_case_does_not_matter(
        serve: Serve, pki: Pki) -> None:
    endpoint = await serve(ClusterInfoServer([signed(pki.ca_pem)]))
    pins = ("sha256:" + "0" * 64, ca_cert_hash(pki.ca_pem).upper().replace("SHA256", "sha256"))
    found = await discovery.discover_with_token(
        settings(endpoint, pki.ca_pem, ca_cert_hashes=pins), lambda _: None)
    assert found.ca_pem == pki.ca_pem


async def test_unsafe_skip_ca_verification_trusts_the_signed_ca_and_warns(
        serve: Serve, pki: Pki) -> None:
    endpoint = await serve(ClusterInfoServer([signed(pki.ca_pem)]))
    lines: list[str] = []
    found = await discovery.discover_with_token(settings(endpoint), lines.append)
    assert found.ca_pem == pki.ca_pem
    assert any("WARNING" in line and "unsafe-skip-ca-verification" in line for line in lines)


async def test_a_wrong_token_secret_fails_the_signature_check(serve: Serve, pki: Pki) -> None:
    endpoint = await serve(ClusterInfoServer([signed(pki.ca_pem)]))
    with pytest.raises(DiscoveryError, match="failed to verify JWS signature of received "
                       "cluster info object, can't trust this API Server"):
        await discovery.discover_with_token(settings(endpoint, pki.ca_pem, token=OTHER_SECRET),
                                            lambda _: None)


async def test_a_token_id_the_cluster_never_signed_is_reported_after_a_short_grace(
        serve: Serve, pki: Pki) -> None:
    server = ClusterInfoServer([signed(pki.ca_pem)])
    endpoint = await serve(server)
    with pytest.raises(DiscoveryError) as caught:
        await discovery.discover_with_token(settings(endpoint, pki.ca_pem, token=UNKNOWN_ID),
                                            lambda _: None)
    assert str(caught.value) == (
        'there is no JWS signed token in the cluster-info ConfigMap. This token id "zzzzzz" is '
        'invalid for this cluster, or it has expired. Use "kubeadmpy token create" on the '
        "control-plane node to create a new valid token")
    assert len(server.seen) > 1  # the signer may still be signing a brand new token


async def test_a_signature_that_appears_while_waiting_is_accepted(
        serve: Serve, pki: Pki) -> None:
    endpoint = await serve(ClusterInfoServer([signed(pki.ca_pem, tokens=()), signed(pki.ca_pem)]))
    found = await discovery.discover_with_token(settings(endpoint, pki.ca_pem), lambda _: None)
    assert found.ca_pem == pki.ca_pem


async def test_a_ca_whose_key_is_not_pinned_is_refused_naming_its_hash(
        serve: Serve, pki: Pki, tmp_path: Path) -> None:
    endpoint = await serve(ClusterInfoServer([signed(pki.ca_pem)]))
    other = make_pki(tmp_path / "other")
    with pytest.raises(DiscoveryError) as caught:
        await discovery.discover_with_token(settings(endpoint, other.ca_pem), lambda _: None)
    assert (f'cluster CA found in cluster-info ConfigMap is invalid: none of the public keys '
            f'"{ca_cert_hash(pki.ca_pem)}" are pinned') in str(caught.value)


async def test_cluster_info_that_changes_between_the_two_reads_is_not_trusted(
        serve: Serve, pki: Pki) -> None:
    first = signed(pki.ca_pem)
    second = signed(pki.ca_pem, server="https://10.6.6.6:6443")
    endpoint = await serve(ClusterInfoServer([first, second]))
    with pytest.raises(DiscoveryError, match="differs from the one read before"):
        await discovery.discover_with_token(settings(endpoint, pki.ca_pem), lambda _: None)


async def test_a_server_whose_certificate_is_not_from_the_signed_ca_fails_the_second_read(
        serve: Serve, pki: Pki, tmp_path: Path) -> None:
    # An attacker holding the token can sign a cluster-info naming another CA, but cannot
    # serve TLS with it: the secure re-read catches that when the pin was skipped.
    other = make_pki(tmp_path / "other")
    endpoint = await serve(ClusterInfoServer([signed(other.ca_pem)]))
    with pytest.raises(DiscoveryError, match="reading cluster-info again with its CA trusted"):
        await discovery.discover_with_token(settings(endpoint), lambda _: None)


async def test_no_kubeconfig_key_means_the_bootstrap_token_phase_has_not_run(
        serve: Serve, pki: Pki) -> None:
    endpoint = await serve(ClusterInfoServer([{"other": "x"}]))
    with pytest.raises(DiscoveryError, match='no "kubeconfig" key in the cluster-info'):
        await discovery.discover_with_token(settings(endpoint, pki.ca_pem), lambda _: None)


@pytest.mark.parametrize(
    "answer", ["<html>It works!</html>", '["a", "list"]', '{"kind": "ConfigMap", "data": "x"}'],
    ids=["an html page", "a JSON list", "data that is not a mapping"])
async def test_an_answer_that_is_not_a_config_map_is_a_clear_discovery_error(
        serve: Serve, pki: Pki, answer: str) -> None:
    # Read before anything is trusted: whatever the server says must end in a clear error.
    endpoint = await serve(ClusterInfoServer([answer]))
    with pytest.raises(DiscoveryError, match=f"https://{endpoint} did not answer with the "
                       "cluster-info ConfigMap"):
        await discovery.discover_with_token(settings(endpoint, pki.ca_pem), lambda _: None)


async def test_anonymous_access_refused_is_explained(serve: Serve, pki: Pki) -> None:
    endpoint = await serve(ClusterInfoServer([403]))
    with pytest.raises(DiscoveryError, match="refused to show the cluster-info ConfigMap to an "
                       "anonymous user"):
        await discovery.discover_with_token(settings(endpoint, pki.ca_pem), lambda _: None)


async def test_a_server_still_starting_is_retried_until_it_answers(
        serve: Serve, pki: Pki) -> None:
    server = ClusterInfoServer([503, 404, signed(pki.ca_pem)])
    endpoint = await serve(server)
    lines: list[str] = []
    found = await discovery.discover_with_token(settings(endpoint, pki.ca_pem), lines.append)
    assert found.ca_pem == pki.ca_pem
    assert sum("Retrying" in line for line in lines) == 2


async def test_an_unreachable_server_is_retried_up_to_the_discovery_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lines: list[str] = []
    with pytest.raises(DiscoveryError) as caught:
        await discovery.discover_with_token(
            settings(f"127.0.0.1:{port}", timeout_seconds=0.3), lines.append)
    assert f"couldn't validate the identity of the API Server at 127.0.0.1:{port}" in str(
        caught.value)
    assert any("Retrying" in line for line in lines)


# --- file discovery and the bootstrap kubeconfig ----------------------------------------------


def test_file_discovery_reads_the_cluster_and_a_token_from_a_kubeconfig(
        tmp_path: Path, pki: Pki) -> None:
    document = yaml.safe_load(cluster_info_kubeconfig(pki.ca_pem, "https://10.0.0.10:6443"))
    document["users"] = [{"name": "u", "user": {"token": TOKEN}}]
    path = tmp_path / "discovery.conf"
    path.write_text(yaml.safe_dump(document))
    found, token = discovery.discover_with_file(str(path), lambda _: None)
    assert (found.server, found.ca_pem, token) == ("https://10.0.0.10:6443", pki.ca_pem, TOKEN)


@pytest.mark.parametrize(
    ("location", "expected"),
    [("/nonexistent/discovery.conf", "cannot read"), ("http://10.0.0.1/x.conf", "plain http")],
    ids=["a missing file", "a plain http URL"],
)
def test_a_discovery_file_that_cannot_be_used_names_the_flag(location: str,
                                                             expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        discovery.discover_with_file(location, lambda _: None)
    assert caught.value.field == "--discovery-file"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[1, 2]", "not a mapping"), ("clusters: []", "has no cluster"),
     ("clusters: [{name: a, cluster: {server: 'http://x'}}]", "not an https:// URL"),
     ("clusters: [{name: a, cluster: {server: 'https://x'}}]",
      "no certificate-authority-data"),
     ("clusters: [{name: a, cluster: {server: 'https://x', "
      "certificate-authority-data: aGVsbG8=}}]", "not a PEM certificate"),
     ("clusters: 5", "has no cluster")],
    ids=["not a mapping", "no cluster", "plain http server", "no CA", "a CA that is not PEM",
         "clusters not a list"],
)
def test_a_discovery_kubeconfig_without_a_usable_cluster_is_refused(
        tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "discovery.conf"
    path.write_text(text)
    with pytest.raises(DiscoveryError, match=expected):
        discovery.discover_with_file(str(path), lambda _: None)


def test_the_bootstrap_kubeconfig_is_a_token_user_on_the_discovered_cluster(pki: Pki) -> None:
    found = discovery.DiscoveredCluster("https://10.0.0.10:6443", pki.ca_pem, "token")
    config = parse_kubeconfig(discovery.bootstrap_kubeconfig(found, TOKEN), "bootstrap")
    assert config.server == "https://10.0.0.10:6443"
    assert config.ca_pem == pki.ca_pem
    assert config.bearer_token() == TOKEN


@pytest.mark.parametrize(
    ("mangle", "valid"),
    [
        (lambda jws: jws, True),
        (lambda jws: _b64url(b'{"alg":"none","kid":"abcdef"}') + ".." + jws.split("..")[1],
         False),
        (lambda jws: _b64url(b'{"alg":"HS256","kid":"zzzzzz"}') + ".." + jws.split("..")[1],
         False),
        (lambda jws: jws.replace("..", "." + _b64url(b"payload") + "."), False),
        (lambda jws: jws.split("..")[0] + "..!!!", False),
        (lambda jws: "not-a-jws", False),
    ],
    ids=["the signer's own JWS", "alg none", "another key id", "an attached payload",
         "a signature that is not base64url", "no JWS at all"],
)
def test_only_an_hs256_detached_jws_for_this_token_id_verifies(
        mangle: Callable[[str], str], valid: bool) -> None:
    content = "apiVersion: v1\nkind: Config\n"
    jws = mangle(detached_signature(content, "abcdef", "0123456789abcdef"))
    assert discovery.detached_jws_valid(jws, content, "abcdef", "0123456789abcdef") is valid
