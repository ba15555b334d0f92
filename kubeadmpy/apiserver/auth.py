"""Who is calling (x509 client certificates) and whether they may (system:masters for now).

Authentication follows upstream: a client certificate that chains to --client-ca-file names the
user (subject CN) and groups (every O). Until the RBAC issue lands, members of system:masters may
do everything; other authenticated users may read discovery, health and version; everyone else is
refused. Anonymous requests get 401 except on the health and version endpoints.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from aiohttp import web

from kubeadmpy.machinery import status

PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})
DISCOVERY_PREFIXES = ("/api", "/apis", "/openapi", "/version", "/healthz", "/livez", "/readyz")
MASTERS = "system:masters"


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return self.name == "system:anonymous"


ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))


def server_ssl_context(cert_file: str, key_file: str, client_ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    if client_ca_file:
        context.load_verify_locations(client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


def authenticate(request: web.Request) -> UserInfo:
    transport = request.transport
    peer = transport.get_extra_info("peercert") if transport is not None else None
    if not peer:
        return ANONYMOUS
    name, groups = "", []
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                name = value
            elif key == "organizationName":
                groups.append(value)
    if not name:
        return ANONYMOUS
    return UserInfo(name, (*groups, "system:authenticated"))


def normalised_path(path: str) -> str:
    return path.rstrip("/") or "/"


def check_access(user: UserInfo, method: str, path: str) -> None:
    """Raise 401/403 unless `user` may call `method path` under the interim policy."""
    path = normalised_path(path)
    if path in PUBLIC_PATHS or path.startswith(("/healthz/", "/livez/", "/readyz/")):
        return
    if user.anonymous:
        raise status.unauthorized()
    if MASTERS in user.groups:
        return
    if method == "GET" and (path in ("/api", "/apis", "/api/v1") or path.startswith("/openapi")
                            or _is_group_discovery(path)):
        return
    raise status.forbidden(f'User "{user.name}" cannot {method.lower()} path "{path}": '
                           "only members of system:masters are authorized until RBAC is enabled")


def _is_group_discovery(path: str) -> bool:
    parts = path.strip("/").split("/")
    return parts[0] == "apis" and len(parts) <= 3
