"""The TLS side of authentication: the serving context that asks clients for a certificate
signed by --client-ca-file. Who the caller is and what they may do is decided by
kubeadmpy.security (see kubeadmpy.apiserver.security); this module only sets up the handshake.

The handshake asks for a client certificate but accepts any (client_cert_request), so that a
certificate from another CA or an expired one reaches kubeadmpy.security.x509_auth and becomes a
401 with a logged reason, as upstream's does, instead of a refused handshake.
"""

from __future__ import annotations

import logging
import ssl

from kubeadmpy.apiserver.client_cert_request import request_client_certificate

log = logging.getLogger(__name__)


def server_ssl_context(cert_file: str, key_file: str, client_ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    if client_ca_file:
        context.load_verify_locations(client_ca_file)
        if not request_client_certificate(context):
            log.warning("cannot install a TLS verify callback on this Python build: client "
                        "certificates OpenSSL cannot verify fail the handshake instead of 401")
    context.set_alpn_protocols(["http/1.1"])
    return context


def normalised_path(path: str) -> str:
    """The Python client calls /api/, /apis/apps/ …: trailing slashes name the same thing."""
    return path.rstrip("/") or "/"
