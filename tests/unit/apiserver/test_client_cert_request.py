"""The serving context asks for a client certificate and lets any through the handshake.

A real TLS handshake over loopback: the client presents a certificate from a CA the server does
not trust (and, separately, none); the handshake completes and the server sees the DER bytes,
which kubeadmpy.security.x509_auth then judges. Without the verify callback OpenSSL would abort
the handshake on the foreign certificate.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509

from kubeadmpy import pki
from kubeadmpy.apiserver.auth import server_ssl_context
from kubeadmpy.apiserver.client_cert_request import request_client_certificate


@pytest.fixture(scope="module")
def two_pkis(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    settings = pki.PKISettings(node_name="node1", advertise_address="127.0.0.1")
    cluster = tmp_path_factory.mktemp("cluster")
    rogue = tmp_path_factory.mktemp("rogue")
    pki.ensure_certs(settings, cluster, names=["ca", "apiserver", "apiserver-kubelet-client"])
    pki.ensure_certs(settings, rogue, names=["ca", "apiserver-kubelet-client"])
    return cluster, rogue


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> bytes | None:
    """Complete one TLS handshake over loopback; the DER certificate the server received."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes | None] = []

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                received.append(tls.getpeercert(binary_form=True))
                tls.sendall(b"ok")
        except ssl.SSLError:
            conn.close()  # the client sees the aborted handshake

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=10) as raw, \
                client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.recv(2) == b"ok"
        thread.join(10)
    finally:
        listener.close()
    return received[0] if received else None


def client_context(cluster: Path, cert_dir: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cluster / "ca.crt"))
    if cert_dir is not None:
        context.load_cert_chain(cert_dir / "apiserver-kubelet-client.crt",
                                cert_dir / "apiserver-kubelet-client.key")
    return context


def test_the_callback_installs_on_this_python() -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert request_client_certificate(context) is True
    assert context.verify_mode == ssl.CERT_OPTIONAL


def test_a_certificate_from_another_ca_completes_the_handshake(
        two_pkis: tuple[Path, Path]) -> None:
    cluster, rogue = two_pkis
    server = server_ssl_context(str(cluster / "apiserver.crt"), str(cluster / "apiserver.key"),
                                str(cluster / "ca.crt"))
    der = handshake(server, client_context(cluster, rogue))
    assert der is not None
    presented = x509.load_der_x509_certificate(der)
    assert presented == pki.certs.load_cert(rogue / "apiserver-kubelet-client.crt")


def test_a_trusted_certificate_and_no_certificate_still_work(
        two_pkis: tuple[Path, Path]) -> None:
    cluster, _ = two_pkis
    server = server_ssl_context(str(cluster / "apiserver.crt"), str(cluster / "apiserver.key"),
                                str(cluster / "ca.crt"))
    assert handshake(server, client_context(cluster, cluster)) is not None
    assert handshake(server, client_context(cluster, None)) is None


def test_plain_ssl_refuses_the_foreign_certificate(two_pkis: tuple[Path, Path]) -> None:
    """Why the callback exists: CERT_OPTIONAL alone aborts the handshake."""
    cluster, rogue = two_pkis
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cluster / "apiserver.crt", cluster / "apiserver.key")
    server.load_verify_locations(cluster / "ca.crt")
    server.verify_mode = ssl.CERT_OPTIONAL
    with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
        handshake(server, client_context(cluster, rogue))
