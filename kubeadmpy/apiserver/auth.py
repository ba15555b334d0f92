"""The TLS side of authentication: the serving context that asks clients for a certificate
signed by --client-ca-file. Who the caller is and what they may do is decided by
kubeadmpy.security (see kubeadmpy.apiserver.security); this module only sets up the handshake.

Python's ssl cannot request a client certificate without verifying it: with CERT_OPTIONAL a
certificate from another CA aborts the handshake instead of becoming a 401 as upstream does.
"""

from __future__ import annotations

import ssl


def server_ssl_context(cert_file: str, key_file: str, client_ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    if client_ca_file:
        context.load_verify_locations(client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


def normalised_path(path: str) -> str:
    """The Python client calls /api/, /apis/apps/ …: trailing slashes name the same thing."""
    return path.rstrip("/") or "/"
