"""kubeconfig files for the admin, the kubelet and the control-plane components, and for any user.

Each file holds one cluster (`<clusterName>`, server URL, embedded CA), one user with an
embedded client certificate and key (or a token), and one context `<user>@<cluster>` that is
current — the shape kubectl and the Python client read. Files are built as Python data and
serialised with PyYAML, never assembled from strings. As in kubeadm, an existing file whose CA is
the cluster CA is kept (a different server URL only warns); one with another CA is an error.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from kubeadmpy.config.durations import format_go_duration
from kubeadmpy.errors import PKIError, UserInputError
from kubeadmpy.files import write_file
from kubeadmpy.pki import certs, keys
from kubeadmpy.pki.ensure import Action, LoadedCA, load_ca
from kubeadmpy.pki.settings import (
    DEFAULT_BIND_PORT,
    DEFAULT_CERT_VALIDITY,
    DEFAULT_ENCRYPTION_ALGORITHM,
    Endpoint,
    PKISettings,
    parse_endpoint,
    parse_ip,
)
from kubeadmpy.pki.specs import (
    CLUSTER_ADMINS_GROUP,
    NODES_GROUP,
    SPECS_BY_NAME,
    SYSTEM_MASTERS_GROUP,
)

KUBECONFIG_MODE = 0o600
DEFAULT_CLUSTER_NAME = "kubernetes"

Kubeconfig = dict[str, Any]


@dataclass(frozen=True)
class KubeconfigSpec:
    """One kubeconfig file: its user (= certificate CN), groups and which endpoint it uses."""

    name: str
    file_name: str
    long_name: str
    user: Callable[[PKISettings], str]
    organizations: tuple[str, ...]
    endpoint: Callable[[PKISettings], Endpoint]


def _cluster(settings: PKISettings) -> Endpoint:
    return settings.cluster_endpoint


def _local(settings: PKISettings) -> Endpoint:
    return settings.local_endpoint


KUBECONFIG_SPECS: tuple[KubeconfigSpec, ...] = (
    KubeconfigSpec("admin", "admin.conf", "the admin and kubeadm itself",
                   lambda _: "kubernetes-admin", (CLUSTER_ADMINS_GROUP,), _cluster),
    KubeconfigSpec("super-admin", "super-admin.conf", "the super-admin (bypasses RBAC)",
                   lambda _: "kubernetes-super-admin", (SYSTEM_MASTERS_GROUP,), _cluster),
    KubeconfigSpec("kubelet", "kubelet.conf", "the kubelet of this node",
                   lambda s: f"system:node:{s.node_name}", (NODES_GROUP,), _cluster),
    KubeconfigSpec("controller-manager", "controller-manager.conf", "the controller manager",
                   lambda _: "system:kube-controller-manager", (), _local),
    KubeconfigSpec("scheduler", "scheduler.conf", "the scheduler",
                   lambda _: "system:kube-scheduler", (), _local),
)  # fmt: skip
KUBECONFIG_SPECS_BY_NAME = {spec.name: spec for spec in KUBECONFIG_SPECS}


@dataclass(frozen=True)
class KubeconfigResult:
    name: str
    action: Action
    messages: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def lines(self, prefix: str = "[kubeconfig] ") -> list[str]:
        """What to print: the messages, then the warnings, each with the phase prefix."""
        return [prefix + m for m in self.messages] + [
            f"{prefix}WARNING: {w}" for w in self.warnings
        ]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build_kubeconfig(
    cluster_name: str,
    server: str,
    ca_pem: bytes,
    user: str,
    *,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
    token: str | None = None,
) -> Kubeconfig:
    """A one-cluster, one-user kubeconfig with context `<user>@<cluster>` as current context."""
    credentials: dict[str, str] = {}
    if token is not None:
        credentials["token"] = token
    if client_cert_pem is not None and client_key_pem is not None:
        credentials["client-certificate-data"] = _b64(client_cert_pem)
        credentials["client-key-data"] = _b64(client_key_pem)
    context = f"{user}@{cluster_name}"
    return {
        "apiVersion": "v1",
        "clusters": [
            {
                "cluster": {"certificate-authority-data": _b64(ca_pem), "server": server},
                "name": cluster_name,
            }
        ],
        "contexts": [{"context": {"cluster": cluster_name, "user": user}, "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": credentials}],
    }


def dump_kubeconfig(config: Kubeconfig) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


@dataclass(frozen=True)
class KubeconfigView:
    """The parts of a kubeconfig's current context that kubeadm checks."""

    cluster_name: str
    server: str
    ca_pem: bytes
    user: dict[str, Any]


def _named(entries: Any, name: str, kind: str, source: str) -> dict[str, Any]:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(kind)
            if isinstance(value, dict):
                return value
    raise PKIError(f"{source}: no {kind} named {name!r} (referenced by the current context)")


def parse_kubeconfig(text: str, source: str) -> tuple[Kubeconfig, KubeconfigView]:
    """The document and a view of its current context; malformed files are a `PKIError`."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PKIError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(config, dict) or not config.get("current-context"):
        raise PKIError(f"{source} is not a kubeconfig with a current-context")
    name = config["current-context"]
    context = _named(config.get("contexts"), name, "context", source)
    cluster_name = str(context.get("cluster", ""))
    cluster = _named(config.get("clusters"), cluster_name, "cluster", source)
    user = _named(config.get("users"), str(context.get("user", "")), "user", source)
    try:
        ca_pem = base64.b64decode(cluster.get("certificate-authority-data", ""), validate=True)
    except ValueError as exc:
        raise PKIError(f"{source}: certificate-authority-data is not base64") from exc
    return config, KubeconfigView(cluster_name, str(cluster.get("server", "")), ca_pem, user)


def load_kubeconfig(path: Path) -> tuple[Kubeconfig, KubeconfigView]:
    return parse_kubeconfig(path.read_text(), str(path))


def same_ca(ca_pem: bytes, ca: LoadedCA, source: str) -> bool:
    if not ca_pem:
        return False
    return certs.parse_cert(ca_pem, f"{source} certificate-authority-data") == ca.cert


def client_kubeconfig(
    cluster_name: str,
    server: str,
    ca: LoadedCA,
    user: str,
    organizations: Sequence[str],
    *,
    algorithm: str,
    validity: timedelta,
) -> Kubeconfig:
    """A kubeconfig for `user` with a fresh client certificate signed by `ca`."""
    if ca.key is None:
        raise PKIError(f"cannot sign a client certificate for {user!r}: the CA key is absent")
    key = keys.generate_key(algorithm)
    request = certs.CertRequest(user, tuple(organizations), usages=(certs.CLIENT_AUTH,))
    cert = certs.sign_cert(request, key.public_key(), ca.cert, ca.key, validity)
    return build_kubeconfig(
        cluster_name,
        server,
        certs.cert_pem(ca.cert),
        user,
        client_cert_pem=certs.cert_pem(cert),
        client_key_pem=keys.private_key_pem(key),
    )


def select_kubeconfigs(names: Sequence[str] | None) -> list[KubeconfigSpec]:
    if names is None:
        return list(KUBECONFIG_SPECS)
    unknown = sorted(set(names) - set(KUBECONFIG_SPECS_BY_NAME))
    if unknown:
        raise UserInputError(
            "kubeconfig name",
            f"unknown {', '.join(map(repr, unknown))}",
            f"Use one of {', '.join(KUBECONFIG_SPECS_BY_NAME)}",
        )
    return [spec for spec in KUBECONFIG_SPECS if spec.name in names]


def ensure_kubeconfigs(
    settings: PKISettings, cert_dir: Path, kube_dir: Path, names: Sequence[str] | None = None
) -> list[KubeconfigResult]:
    """Write or keep the selected kubeconfig files in `kube_dir` (host paths), all or nothing."""
    specs = select_kubeconfigs(names)
    ca = load_ca(SPECS_BY_NAME["ca"], cert_dir)
    results: list[KubeconfigResult] = []
    writes: list[tuple[Path, str]] = []
    problems: list[str] = []
    for spec in specs:
        path = kube_dir / spec.file_name
        server = spec.endpoint(settings).url
        if path.exists():
            try:
                _, view = load_kubeconfig(path)
                matches = same_ca(view.ca_pem, ca, str(path))
            except PKIError as exc:
                problems.append(f"{exc}; remove {path} to have it regenerated")
                continue
            if not matches:
                problems.append(
                    f"a kubeconfig file {path} exists already but has got the wrong CA cert; "
                    f"remove it to have it regenerated with the CA in {cert_dir / 'ca.crt'}"
                )
                continue
            warnings: tuple[str, ...] = ()
            if view.server != server:
                warnings = (
                    f'a kubeconfig file "{path}" exists already but has an unexpected '
                    f"API Server URL: expected: {server}, got: {view.server}",
                )
            message = f'Using existing kubeconfig file: "{path}"'
            results.append(KubeconfigResult(spec.name, Action.REUSED, (message,), warnings))
            continue
        if ca.key is None:
            problems.append(
                f"{path} is missing and cannot be written: {cert_dir / 'ca.key'} is absent "
                "(external CA mode); create it with a client certificate signed by your CA"
            )
            continue
        config = client_kubeconfig(
            settings.cluster_name,
            server,
            ca,
            spec.user(settings),
            spec.organizations,
            algorithm=settings.encryption_algorithm,
            validity=settings.cert_validity,
        )
        writes.append((path, dump_kubeconfig(config)))
        message = f'Writing "{spec.file_name}" kubeconfig file'
        results.append(KubeconfigResult(spec.name, Action.GENERATED, (message,)))
    if problems:
        raise PKIError(
            f"the kubeconfig files in {kube_dir} cannot be used as they are; nothing was "
            "changed:\n" + "\n".join(f"  - {problem}" for problem in problems)
        )
    for path, text in writes:
        write_file(path, text, mode=KUBECONFIG_MODE)
    return results


def kubeconfig_for_user(
    client_name: str,
    orgs: Sequence[str],
    settings: PKISettings,
    cert_dir: Path,
    validity: timedelta | None = None,
    token: str | None = None,
    *,
    server: str | None = None,
    cluster_name: str | None = None,
) -> str:
    """A kubeconfig (YAML text) for an arbitrary user, as `kubeadm kubeconfig user` prints.

    With `token` the user authenticates by token and no certificate is signed. `server` and
    `cluster_name` default to the settings' cluster endpoint and cluster name.
    """
    return _user_kubeconfig(
        UserKubeconfigRequest(
            client_name,
            tuple(orgs),
            validity or settings.cert_validity,
            token,
            encryption_algorithm=settings.encryption_algorithm,
        ),
        cert_dir,
        server or settings.cluster_endpoint.url,
        cluster_name or settings.cluster_name,
    )


@dataclass(frozen=True)
class UserKubeconfigRequest:
    """`kubeadmpy kubeconfig user` without a config file: the flags, and where the server is."""

    client_name: str
    organizations: tuple[str, ...] = ()
    validity: timedelta = DEFAULT_CERT_VALIDITY
    token: str | None = None
    advertise_address: str = ""
    bind_port: int = DEFAULT_BIND_PORT
    control_plane_endpoint: str = ""
    encryption_algorithm: str = DEFAULT_ENCRYPTION_ALGORITHM


def user_kubeconfig(request: UserKubeconfigRequest, cert_dir: Path, kube_dir: Path) -> str:
    """A user kubeconfig whose server and cluster name come from an existing admin.conf, else
    from the control-plane endpoint or advertise address of `request`."""
    if not 1 <= request.bind_port <= 65535:
        raise UserInputError(
            "--apiserver-bind-port", f"{request.bind_port} is not a port", "Use a port in 1-65535"
        )
    admin_conf = kube_dir / "admin.conf"
    if admin_conf.exists():
        _, view = load_kubeconfig(admin_conf)
        server, cluster_name = view.server, view.cluster_name
    elif request.control_plane_endpoint:
        endpoint = parse_endpoint(
            request.control_plane_endpoint, request.bind_port, field_name="--control-plane-endpoint"
        )
        server, cluster_name = endpoint.url, DEFAULT_CLUSTER_NAME
    elif request.advertise_address:
        if parse_ip(request.advertise_address) is None:
            raise UserInputError(
                "--apiserver-advertise-address",
                f"{request.advertise_address!r} is not an IP address",
                "Give the IP the API server is reached at",
            )
        server = Endpoint(request.advertise_address, request.bind_port).url
        cluster_name = DEFAULT_CLUSTER_NAME
    else:
        raise UserInputError(
            "--control-plane-endpoint",
            f"no API server address is known ({admin_conf} does not exist)",
            "Pass --control-plane-endpoint or --apiserver-advertise-address",
        )
    return _user_kubeconfig(request, cert_dir, server, cluster_name)


def _user_kubeconfig(
    request: UserKubeconfigRequest, cert_dir: Path, server: str, cluster_name: str
) -> str:
    if not request.client_name:
        raise UserInputError("--client-name", "is empty", "Give the user name (certificate CN)")
    if request.validity <= timedelta(0):
        raise UserInputError(
            "--validity-period",
            f"{format_go_duration(request.validity)} is not positive",
            "Use e.g. 24h or 8760h",
        )
    ca = load_ca(SPECS_BY_NAME["ca"], cert_dir)
    if request.token is not None:
        config = build_kubeconfig(
            cluster_name, server, certs.cert_pem(ca.cert), request.client_name, token=request.token
        )
    else:
        if ca.key is None:
            raise PKIError(
                f"cannot sign a certificate for {request.client_name!r}: {cert_dir / 'ca.key'} "
                "is absent (external CA mode); use --token, or run this where the CA key is"
            )
        config = client_kubeconfig(
            cluster_name,
            server,
            ca,
            request.client_name,
            request.organizations,
            algorithm=request.encryption_algorithm,
            validity=request.validity,
        )
    return dump_kubeconfig(config)


def client_cert_of(view: KubeconfigView, source: str) -> tuple[bytes, bytes] | None:
    """The embedded client certificate and key PEMs, or None when the user has none embedded."""
    cert_data, key_data = view.user.get("client-certificate-data"), view.user.get("client-key-data")
    if not cert_data or not key_data:
        return None
    try:
        return base64.b64decode(cert_data, validate=True), base64.b64decode(key_data, validate=True)
    except ValueError as exc:
        raise PKIError(f"{source}: client certificate or key data is not base64") from exc
