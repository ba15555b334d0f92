"""The kubelet's HTTP servers: the authenticated API on :10250 and plain healthz on
127.0.0.1:10248.

Routes on 10250 (all behind `auth.Authenticator`): /healthz, /pods, /containerLogs/{ns}/{pod}/
{container}, /exec/... and /attach/... (WebSocket or SPDY upgrades, see `streams`). When no
serving certificate is configured the kubelet makes a self-signed one under its cert dir
(kubelet.crt / kubelet.key), like upstream, and reuses it on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import logging
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeadmpy.config.durations import DURATION_HINT, parse_go_duration
from kubeadmpy.cri import CRIClient, CRIError
from kubeadmpy.errors import ConfigError, KubeadmpyError
from kubeadmpy.files import write_file
from kubeadmpy.kubelet.server import logs, proxy, spdy_client, streams
from kubeadmpy.kubelet.server.auth import (
    APIRequester,
    Authenticator,
    AuthSettings,
    server_ssl_context,
)
from kubeadmpy.kubelet.server.lookup import ContainerRef, PodLookup, PodRef

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 2.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ServerSettings:
    """Where and how the servers listen (KubeletConfiguration names in comments)."""

    node_name: str
    address: str = "0.0.0.0"  # address
    port: int = 10250  # port (0: any free port, for tests)
    healthz_bind_address: str = "127.0.0.1"  # healthzBindAddress
    healthz_port: int = 10248  # healthzPort (0: any free port; -1: off)
    tls_cert_file: str = ""  # tlsCertFile
    tls_private_key_file: str = ""  # tlsPrivateKeyFile
    cert_dir: str = "/var/lib/kubelet/pki"  # --cert-dir
    node_ips: tuple[str, ...] = ()
    auth: AuthSettings = field(default_factory=AuthSettings)

    @classmethod
    def from_kubelet(cls, settings: Any) -> ServerSettings:
        """From kubeadmpy.kubelet.settings.KubeletSettings (read by attribute name)."""
        authn: Mapping[str, Any] = settings.authentication or {}
        authz: Mapping[str, Any] = settings.authorization or {}
        webhook = authn.get("webhook") or {}
        authz_webhook = authz.get("webhook") or {}
        return cls(
            node_name=settings.node_name, address=settings.address, port=settings.port,
            healthz_bind_address=settings.healthz_bind_address,
            healthz_port=settings.healthz_port, tls_cert_file=settings.tls_cert_file,
            tls_private_key_file=settings.tls_private_key_file,
            cert_dir=str(settings.pki_dir),
            node_ips=tuple(ip for ip in [settings.node_ip] if ip),
            auth=AuthSettings(
                client_ca_file=str((authn.get("x509") or {}).get("clientCAFile", "")),
                anonymous=bool((authn.get("anonymous") or {}).get("enabled", False)),
                webhook=bool(webhook.get("enabled", True)),
                webhook_cache_ttl=_seconds(webhook.get("cacheTTL", "2m"),
                                           "authentication.webhook.cacheTTL"),
                mode=str(authz.get("mode", "Webhook")),
                authorized_ttl=_seconds(authz_webhook.get("cacheAuthorizedTTL", "5m"),
                                        "authorization.webhook.cacheAuthorizedTTL"),
                unauthorized_ttl=_seconds(authz_webhook.get("cacheUnauthorizedTTL", "30s"),
                                          "authorization.webhook.cacheUnauthorizedTTL")))


def _seconds(value: Any, field_name: str) -> float:
    """A KubeletConfiguration duration ("2m0s", or seconds as a number) in seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return parse_go_duration(str(value)).total_seconds()
    except ValueError as exc:
        raise ConfigError(f"KubeletConfiguration.{field_name}", f"{value!r} is not a duration",
                          DURATION_HINT) from exc


def ensure_serving_certificate(cert_dir: Path, node_name: str,
                               addresses: tuple[str, ...]) -> tuple[str, str]:
    """kubelet.crt / kubelet.key under `cert_dir`, made self-signed on first use."""
    cert_path, key_path = cert_dir / "kubelet.crt", cert_dir / "kubelet.key"
    if cert_path.exists() and key_path.exists():
        return str(cert_path), str(key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(node_name), x509.DNSName("localhost")]
    for address in {*addresses, "127.0.0.1"}:
        with contextlib.suppress(ValueError):
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
    subject = x509.Name([x509.NameAttribute(
        NameOID.COMMON_NAME, f"{node_name}@{int(now.timestamp())}")])
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                     key_cert_sign=True, content_commitment=False,
                                     data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256()))
    cert_dir.mkdir(parents=True, exist_ok=True)
    write_file(key_path, key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()), mode=0o600)
    write_file(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return str(cert_path), str(key_path)


class KubeletServerError(KubeadmpyError):
    """The kubelet's servers cannot start (port taken)."""


def _tls_context(cert: str, key: str, settings: ServerSettings) -> Any:
    """server_ssl_context, with unusable files reported by their KubeletConfiguration field."""
    for value, field_name in ((cert, "tlsCertFile"), (key, "tlsPrivateKeyFile"),
                              (settings.auth.client_ca_file,
                               "authentication.x509.clientCAFile")):
        if value and not os.path.isfile(value):
            raise ConfigError(f"KubeletConfiguration.{field_name}", f"{value!r} does not exist",
                              "give the path of a PEM file, or leave the field out")
    try:
        return server_ssl_context(cert, key, settings.auth.client_ca_file)
    except ssl.SSLError as exc:
        raise ConfigError("KubeletConfiguration.tlsCertFile",
                          f"{cert!r} / {key!r} / {settings.auth.client_ca_file!r} do not load "
                          f"({exc.reason or exc})",
                          "give a PEM certificate and its own key, and a PEM CA bundle") from exc


class KubeletServer:
    """`await server.start()`, then `await server.close()`; or `await server.run()`."""

    def __init__(self, settings: ServerSettings | Any, pods: PodLookup, cri: CRIClient, *,
                 api: APIRequester | None = None) -> None:
        self.settings = settings if isinstance(settings, ServerSettings) else \
            ServerSettings.from_kubelet(settings)
        self.pods = pods
        self.cri = cri
        self.auth = Authenticator(self.settings.auth, self.settings.node_name, api)
        self._runners: list[web.AppRunner] = []
        self.port = 0
        self.healthz_port = 0

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        cert, key = s.tls_cert_file, s.tls_private_key_file
        if not cert or not key:
            cert, key = await asyncio.to_thread(ensure_serving_certificate, Path(s.cert_dir),
                                                s.node_name, s.node_ips)
        context = _tls_context(cert, key, s)
        api_app = web.Application(middlewares=[self._authenticated])
        api_app.add_routes(self.api_routes())
        self.port = await self._listen(api_app, s.address, s.port, context)
        if s.healthz_port >= 0:
            health = web.Application()
            health.router.add_get("/healthz", self._healthz)
            self.healthz_port = await self._listen(health, s.healthz_bind_address,
                                                   s.healthz_port, None)

    async def _listen(self, app: web.Application, host: str, port: int,
                      context: Any) -> int:
        # open streams (logs -f, exec sessions) are cut after 2 s at shutdown, not 60
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port, ssl_context=context, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self.close()
            raise KubeletServerError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; another kubelet may "
                "be running (stop it, or choose other ports with the KubeletConfiguration "
                "fields port / healthzPort)") from exc
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = [sock.getsockname()[1] for sock in sockets
                 if sock.family in (socket.AF_INET, socket.AF_INET6)]
        return int(bound[0]) if bound else port

    async def close(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    async def run(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    # --- routes ------------------------------------------------------------------------

    def api_routes(self) -> list[web.RouteDef]:
        routes = [web.get("/healthz", self._healthz), web.get("/pods", self._pods),
                  web.get("/containerLogs/{namespace}/{pod}/{container}", self._container_logs)]
        for verb in ("exec", "attach"):
            for pattern in (f"/{verb}/{{namespace}}/{{pod}}/{{container}}",
                            f"/{verb}/{{namespace}}/{{pod}}/{{uid}}/{{container}}"):
                routes += [web.get(pattern, self._stream), web.post(pattern, self._stream)]
        for pattern in ("/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"):
            routes += [web.get(pattern, self._port_forward), web.post(pattern, self._port_forward)]
        return routes

    @web.middleware
    async def _authenticated(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        user = await self.auth.authenticate(request)
        await self.auth.authorize(user, request.method, request.path)
        return await handler(request)

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _pods(self, request: web.Request) -> web.Response:
        items = await self.pods.pods()
        body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": list(items)}
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def _container(self, request: web.Request) -> tuple[PodRef, ContainerRef]:
        info = request.match_info
        pod = await self.pods.lookup(info["namespace"], info["pod"])
        if pod is None or ("uid" in info and info["uid"] != pod.uid):
            raise web.HTTPNotFound(text=f"pod {info['namespace']}/{info['pod']} not found")
        container = pod.containers.get(info["container"])
        if container is None or not container.container_id:
            raise web.HTTPNotFound(text=f"container {info['container']} is not valid for pod "
                                   f"{info['pod']}")
        return pod, container

    async def _container_logs(self, request: web.Request) -> web.StreamResponse:
        options = logs.parse_options(dict(request.query))
        pod, container = await self._container(request)
        path = container.previous_log_path if options.previous else container.log_path
        if options.previous and not path:
            raise web.HTTPBadRequest(text=f'previous terminated container "{container.name}" '
                                     f'in pod "{pod.name}" not found')
        if not path or not await asyncio.to_thread(os.path.exists, path):
            raise web.HTTPNotFound(text=f"log file of container {container.name} not found")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        follow = options.follow and not options.previous
        async for chunk in logs.log_chunks(Path(path), logs.LogOptions(
                follow=follow, tail_lines=options.tail_lines, timestamps=options.timestamps,
                since=options.since, limit_bytes=options.limit_bytes),
                logs.container_running(self.cri, container.container_id)):
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        verb = request.path.split("/")[1]
        _, container = await self._container(request)
        options = streams.stream_options(dict(request.query))
        command = request.query.getall("command", [])
        if verb == "exec" and not command:
            raise web.HTTPBadRequest(text="you must specify at least one command")

        async def open_backend(opts: streams.StreamOptions) -> spdy_client.StreamSession:
            try:
                if verb == "exec":
                    url = await self.cri.exec_url(container.container_id, command, tty=opts.tty,
                                                  stdin=opts.stdin, stdout=opts.stdout,
                                                  stderr=opts.stderr)
                else:
                    url = await self.cri.attach_url(container.container_id, tty=opts.tty,
                                                    stdin=opts.stdin, stdout=opts.stdout,
                                                    stderr=opts.stderr)
            except CRIError as exc:
                raise RuntimeError(f"{verb} in {container.name}: {exc}") from exc
            return await spdy_client.connect(url, opts.channels,
                                             protocols=("v4.channel.k8s.io",))

        if streams.wants_websocket(request):
            return await streams.serve_websocket(request, options, open_backend)
        if streams.wants_spdy(request):
            return await streams.serve_spdy(request, options, open_backend)
        raise web.HTTPBadRequest(text="Upgrade request required")

    async def _port_forward(self, request: web.Request) -> web.StreamResponse:
        """SPDY port-forward (and kubectl 1.31+'s SPDY tunnelled in WebSocket) relayed byte for
        byte to the runtime's port-forward stream: the runtime speaks portforward.k8s.io."""
        info = request.match_info
        pod = await self.pods.lookup(info["namespace"], info["pod"])
        if pod is None or ("uid" in info and info["uid"] != pod.uid):
            raise web.HTTPNotFound(text=f"pod {info['namespace']}/{info['pod']} not found")
        try:  # kubelet's "port" (repeated); "ports" (comma list) as the API spells it
            ports = [int(p) for value in (*request.query.getall("port", []),
                                          *request.query.getall("ports", []))
                     for p in value.split(",") if p.strip()]
        except ValueError:
            raise web.HTTPBadRequest(text="port must be a number") from None
        try:
            url = urlsplit(await self.cri.port_forward_url(pod.sandbox_id, ports))
        except CRIError as exc:
            raise web.HTTPInternalServerError(text=f"port-forward: {exc}") from exc
        target = url.path + (f"?{url.query}" if url.query else "")
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        if streams.wants_websocket(request) and streams.TUNNELLED_PORT_FORWARD not in offered:
            if not ports:
                raise web.HTTPBadRequest(text="query parameter \"port\" is required")
            return await streams.serve_websocket_port_forward(request, ports, url.geturl())
        if streams.wants_websocket(request):
            return await streams.serve_tunnelled_port_forward(
                request, url.hostname or "127.0.0.1", url.port or 80, target)
        if streams.wants_spdy(request):
            log.info("%s %s: port-forward over SPDY/3.1", request.method, request.path)
            return await proxy.splice_upgrade(request, url.hostname or "127.0.0.1",
                                              url.port or 80, target, None)
        raise web.HTTPBadRequest(text="Upgrade request required")
