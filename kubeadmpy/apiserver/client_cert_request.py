"""Ask TLS clients for a certificate without letting the handshake judge it.

kube-apiserver requests a client certificate (Go's tls.RequestClientCert) and verifies it in
its x509 authenticator, so a certificate from another CA or an expired one is a 401 with a
reason. Python's ssl can only request a certificate together with OpenSSL's verification
(CERT_OPTIONAL), which aborts the handshake on such a certificate: kubectl then reports "EOF".

OpenSSL lets a server install a verify callback that overrides the verdict; Python keeps an
installed callback when verify_mode changes but offers no way to install one. This module
installs an accept-everything callback on the context's SSL_CTX through ctypes, after checking
that the pointer it found really is that SSL_CTX. The certificate is then judged by
kubeadmpy.security.x509_auth (chain to --client-ca-file, validity, clientAuth usage), which is
what makes accepting it at the TLS layer safe. Where the check fails (another Python build),
the context keeps plain CERT_OPTIONAL and the caller is told, so nothing is silently weakened.
"""

from __future__ import annotations

import ctypes
import ssl
import sys

_SSL_VERIFY_PEER = 0x01
# OpenSSL's int (*)(int preverify_ok, X509_STORE_CTX *ctx)
_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


def _accept(preverify_ok: int, store_ctx: int | None) -> int:
    """Every certificate passes the handshake; the x509 authenticator decides afterwards."""
    return 1


_accept_any = _VERIFY_CALLBACK(_accept)  # module-level: OpenSSL keeps the pointer forever


def _libssl() -> ctypes.CDLL:
    # dlsym on the _ssl extension also searches the libssl it is linked against, so the
    # functions called here are those of the OpenSSL that built the context.
    import _ssl

    lib = ctypes.CDLL(_ssl.__file__)
    lib.SSL_CTX_get_options.restype = ctypes.c_uint64
    lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
    lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_get_verify_callback.restype = ctypes.c_void_p
    lib.SSL_CTX_get_verify_callback.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_set_verify.restype = None
    lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CALLBACK]
    return lib


def _ssl_ctx_pointer(context: ssl.SSLContext) -> int:
    """The SSL_CTX* stored right after the object header of CPython's _ssl._SSLContext."""
    header = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)  # refcnt, type
    if hasattr(sys, "gettotalrefcount"):  # debug builds add two list pointers to the header
        header += 2 * ctypes.sizeof(ctypes.c_void_p)
    return ctypes.c_void_p.from_address(id(context) + header).value or 0


def request_client_certificate(context: ssl.SSLContext) -> bool:
    """Ask clients for a certificate and accept whatever they send (or none) at the TLS layer.

    Returns False, leaving the context at CERT_OPTIONAL, when the SSL_CTX cannot be found
    safely; the handshake then still refuses certificates OpenSSL cannot verify.
    """
    context.verify_mode = ssl.CERT_OPTIONAL
    if sys.implementation.name != "cpython":
        return False
    try:
        lib = _libssl()
        pointer = _ssl_ctx_pointer(context)
        # Two independent readings must agree before anything is written through the pointer:
        # the 64-bit option mask and the verify mode Python just set.
        if not pointer or lib.SSL_CTX_get_options(pointer) != int(context.options) \
                or lib.SSL_CTX_get_verify_mode(pointer) != _SSL_VERIFY_PEER:
            return False
        lib.SSL_CTX_set_verify(pointer, _SSL_VERIFY_PEER, _accept_any)
        installed: int | None = lib.SSL_CTX_get_verify_callback(pointer)
    except (OSError, AttributeError, ValueError):
        return False
    return installed is not None and installed == ctypes.cast(_accept_any, ctypes.c_void_p).value
