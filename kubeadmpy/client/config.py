"""Where to reach the API server and how to prove who we are: kubeconfig files and in-cluster.

A `ClientConfig` is what every component gets from `--kubeconfig` (or, inside a pod, from the
service-account files). It reads the same kubeconfig fields kubectl reads, with relative file
paths resolved against the kubeconfig's own folder like client-go, and names the file and the
field when something is wrong. Bearer tokens from files are re-read when the file changes, since
projected service-account tokens rotate underneath a running process.
"""

from __future__ import annotations

import base64
import os
import platform
import ssl
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kubeadmpy.errors import ConfigError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# client-go's defaults are 5 QPS / 10 burst; kube-scheduler raises them to 50 / 100. Our
# components share one client per process, so the scheduler's figures are the default here.
DEFAULT_QPS = 50.0
DEFAULT_BURST = 100


class TokenSource:
    """A bearer token: fixed, or read from a file again whenever the file changes."""

    def __init__(self, token: str = "", path: Path | None = None, *, field: str = "tokenFile",
                 source: str = "") -> None:
        self._token = token
        self._path = path
        self._field = field
        self._source = source
        self._stamp: tuple[int, int] | None = None

    def token(self) -> str:
        if self._path is None:
            return self._token
        try:
            info = self._path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp != self._stamp:
                self._token = self._path.read_text().strip()
                self._stamp = stamp
        except OSError as exc:
            if not self._token:  # keep the last good token through a rotation's rename window
                raise ConfigError(self._field, f"cannot read {self._path}: {exc.strerror}",
                                  "Check that the token file exists and is readable",
                                  source=self._source) from exc
        return self._token


@dataclass(frozen=True)
class ClientConfig:
    """Everything a `Client` needs; build with `load_kubeconfig`, `load_incluster_config` or
    directly (tests)."""

    server: str
    ca_pem: bytes = b""
    insecure_skip_tls_verify: bool = False
    tls_server_name: str = ""
    client_cert_pem: bytes = b""
    client_key_pem: bytes = b""
    token_source: TokenSource | None = None
    namespace: str = "default"
    # Upstream's shape, `<binary>/<version> (<os>/<arch>) <project>`: the server takes the part
    # before "/" as the default field manager. Components set their own binary name.
    user_agent: str = f"kubeadmpy-client/0.1.0 ({sys.platform}/{platform.machine()}) kubeadmpy"
    qps: float = DEFAULT_QPS
    burst: int = DEFAULT_BURST
    request_timeout: float = 60.0
    max_retries: int = 3
    source: str = field(default="", compare=False)

    def bearer_token(self) -> str:
        return self.token_source.token() if self.token_source is not None else ""

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for https servers (None for http)."""
        if not self.server.startswith("https://"):
            return None
        context = ssl.create_default_context(
            cadata=self.ca_pem.decode() if self.ca_pem else None)
        if self.insecure_skip_tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_cert_pem and self.client_key_pem:
            _load_chain_from_memory(context, self.client_cert_pem, self.client_key_pem)
        return context

    def with_overrides(self, **changes: Any) -> ClientConfig:
        """A copy with some fields changed, e.g. a component's user_agent, qps and burst."""
        return replace(self, **changes)


def _load_chain_from_memory(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # The ssl module only loads key pairs from files: use a private temp dir, gone right after.
    with tempfile.TemporaryDirectory(prefix="kubeadmpy-client-") as tmp:
        cert_path, key_path = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        cert_path.write_bytes(cert)
        try:
            context.load_cert_chain(str(cert_path), str(key_path))
        except ssl.SSLError as exc:
            raise ConfigError("client-certificate", f"the client certificate and key do not "
                              f"load as a pair ({exc.reason})",
                              "Check client-certificate(-data) and client-key(-data)") from exc


# --- kubeconfig ----------------------------------------------------------------------------


def _named(config: dict[str, Any], section: str, name: str, source: str) -> dict[str, Any]:
    singular = section[:-1]
    for entry in config.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(singular)
            if isinstance(body, dict):
                return body
            raise ConfigError(f"{section}[{name}].{singular}", "is missing or not a mapping",
                              f"Give the {singular} {name!r} its fields", source=source)
    known = [e.get("name") for e in config.get(section) or [] if isinstance(e, dict)]
    raise ConfigError(section, f"no {singular} named {name!r} (known: {known})",
                      f"Add a {singular} named {name!r} or pick another context",
                      source=source)


def _pem(entry: dict[str, Any], key: str, base: Path, where: str, source: str) -> bytes:
    """`<key>-data` (base64) or the file `<key>` (relative to the kubeconfig's folder)."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except ValueError as exc:
            raise ConfigError(f"{where}.{key}-data", "is not valid base64",
                              "Paste the base64 of the PEM file, on one line",
                              source=source) from exc
    path = entry.get(key)
    if not path:
        return b""
    file = Path(str(path)) if os.path.isabs(str(path)) else base / str(path)
    try:
        return file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}.{key}", f"cannot read {file}: {exc.strerror}",
                          "Fix the path (relative paths are relative to the kubeconfig file)",
                          source=source) from exc


def parse_kubeconfig(text: str, source: str, *, context: str | None = None,
                     base_dir: Path | None = None) -> ClientConfig:
    """The `ClientConfig` of `context` (default: current-context) of a kubeconfig document."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("kubeconfig", f"is not valid YAML ({exc})",
                          "Fix the file or regenerate it", source=source) from exc
    if not isinstance(config, dict):
        raise ConfigError("kubeconfig", "is not a mapping", "Point at a kubeconfig file",
                          source=source)
    name = context or config.get("current-context")
    if not name:
        raise ConfigError("current-context", "is empty and no context was asked for",
                          "Set current-context or pass a context name", source=source)
    base = base_dir if base_dir is not None else Path(source).parent
    ctx = _named(config, "contexts", str(name), source)
    cluster_name, user_name = str(ctx.get("cluster", "")), str(ctx.get("user", ""))
    cluster = _named(config, "clusters", cluster_name, source)
    user = _named(config, "users", user_name, source) if user_name else {}
    server = str(cluster.get("server") or "")
    if not server.startswith(("https://", "http://")):
        raise ConfigError(f"clusters[{cluster_name}].server", f"{server!r} is not an http(s) URL",
                          "Use https://HOST:PORT", source=source)
    for unsupported in ("exec", "auth-provider", "username", "password"):
        if user.get(unsupported):
            raise ConfigError(f"users[{user_name}].{unsupported}", "is not supported by "
                              "kubeadmpy's client",
                              "Use a client certificate, token or tokenFile", source=source)
    where_user = f"users[{user_name}]"
    cert = _pem(user, "client-certificate", base, where_user, source)
    key = _pem(user, "client-key", base, where_user, source)
    if bool(cert) != bool(key):
        raise ConfigError(f"{where_user}.client-key" if cert else f"{where_user}.client-certificate",
                          "is missing while the other half of the key pair is set",
                          "Give both client-certificate(-data) and client-key(-data)",
                          source=source)
    tokens = None
    if user.get("token"):
        tokens = TokenSource(str(user["token"]))
    elif user.get("tokenFile"):
        path = Path(str(user["tokenFile"]))
        tokens = TokenSource(path=path if path.is_absolute() else base / path,
                             field=f"{where_user}.tokenFile", source=source)
        tokens.token()  # fail now, naming the field, rather than on the first request
    return ClientConfig(
        server=server.rstrip("/"),
        ca_pem=_pem(cluster, "certificate-authority", base, f"clusters[{cluster_name}]", source),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=str(cluster.get("tls-server-name") or ""),
        client_cert_pem=cert, client_key_pem=key, token_source=tokens,
        namespace=str(ctx.get("namespace") or "default"), source=source)


def load_kubeconfig(path: str | Path, context: str | None = None) -> ClientConfig:
    """Read a kubeconfig file (kubectl's `--kubeconfig`, `--context`)."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError("--kubeconfig", f"cannot read {file}: {exc.strerror}",
                          "Pass the path of an existing kubeconfig file") from exc
    return parse_kubeconfig(text, str(file), context=context, base_dir=file.parent)


def load_incluster_config(account_dir: Path = SERVICE_ACCOUNT_DIR,
                          environ: dict[str, str] | None = None) -> ClientConfig:
    """Credentials of a pod: KUBERNETES_SERVICE_HOST/PORT + the service-account token and CA."""
    env = os.environ if environ is None else environ
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError("KUBERNETES_SERVICE_HOST", "and KUBERNETES_SERVICE_PORT must be set "
                          "to use in-cluster credentials",
                          "Run inside a pod, or pass --kubeconfig")
    token_file = account_dir / "token"
    tokens = TokenSource(path=token_file, field="token", source=str(account_dir))
    tokens.token()
    try:
        ca = (account_dir / "ca.crt").read_bytes()
    except OSError as exc:
        raise ConfigError("ca.crt", f"cannot read {account_dir / 'ca.crt'}: {exc.strerror}",
                          "Mount the service-account volume") from exc
    try:
        namespace = (account_dir / "namespace").read_text().strip() or "default"
    except OSError:
        namespace = "default"
    bracketed = f"[{host}]" if ":" in host else host
    return ClientConfig(server=f"https://{bracketed}:{port}", ca_pem=ca, token_source=tokens,
                        namespace=namespace, source=str(account_dir))


def load_config(kubeconfig: str | Path | None = None, context: str | None = None
                ) -> ClientConfig:
    """kubectl's order: an explicit file, else $KUBECONFIG (first entry), else in-cluster
    credentials when running in a pod, else ~/.kube/config."""
    if kubeconfig:
        return load_kubeconfig(kubeconfig, context)
    env_file = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    if env_file:
        return load_kubeconfig(env_file, context)
    if os.environ.get("KUBERNETES_SERVICE_HOST") and (SERVICE_ACCOUNT_DIR / "token").exists():
        return load_incluster_config()
    return load_kubeconfig(Path.home() / ".kube" / "config", context)
