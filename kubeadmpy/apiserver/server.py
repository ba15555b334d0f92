"""The HTTPS server: middleware (errors, authentication, authorization), the non-resource
endpoints (health, version, discovery, OpenAPI) and the wiring of storage, caches and handlers.

`APIServer` is an async context manager a test can start in-process; `run(settings)` serves
until cancelled. Every background task (one watch cache per resource) belongs to the server's
task group and ends with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from kubeadmpy.apiserver import auth, discovery, negotiation, reviews, security, writes
from kubeadmpy.apiserver.etcd import EtcdClient, EtcdCompacted, EtcdError, EtcdTLS, prefix_end
from kubeadmpy.apiserver.ipalloc import (
    ClusterIPAllocator,
    NodePortAllocator,
    parse_port_range,
    parse_service_range,
)
from kubeadmpy.apiserver.kubelet_proxy import KubeletProxy
from kubeadmpy.apiserver.resources import build_registry
from kubeadmpy.apiserver.resources.scheduling import SYSTEM_PRIORITY_CLASSES
from kubeadmpy.apiserver.rest import ResourceHandlers
from kubeadmpy.apiserver.routing import resolve
from kubeadmpy.apiserver.settings import Settings
from kubeadmpy.apiserver.storage import Storage
from kubeadmpy.apiserver.watchcache import WatchCache
from kubeadmpy.errors import KubeadmpyError, UserInputError
from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import ResourceSpec
from kubeadmpy.machinery.schema import OpenAPIDocuments
from kubeadmpy.security import encryption, encryption_config, jws
from kubeadmpy.security.encryption import IDENTITY, EncryptionTransformers
from kubeadmpy.security.identity import UserInfo, forbidden_message, request_attributes
from kubeadmpy.security.impersonation import ImpersonationError
from kubeadmpy.security.stack import credentials_from_aiohttp

log = logging.getLogger("kubeadmpy.apiserver")

ETCD_START_TIMEOUT_SECONDS = 60
SHUTDOWN_GRACE_SECONDS = 5.0
HEALTH_ETCD_TIMEOUT_SECONDS = 2.0
OIDC_CONFIG_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class APIServer:
    """One running apiserver: etcd client, watch caches, HTTP site."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = build_registry()
        for spec in reviews.REVIEW_SPECS:
            self.registry.add(spec)
        self.etcd = EtcdClient(settings.etcd_servers, EtcdTLS(
            settings.etcd_cafile, settings.etcd_certfile, settings.etcd_keyfile))
        self.storage = Storage(self.etcd, load_encryption(settings))
        self.allocator = ClusterIPAllocator(self.etcd,
                                            parse_service_range(settings.service_cluster_ip_range))
        self.node_ports = NodePortAllocator(self.etcd,
                                            parse_port_range(settings.service_node_port_range))
        self.kubelets = KubeletProxy(settings.kubelet_client_certificate,
                                     settings.kubelet_client_key,
                                     settings.kubelet_preferred_address_types)
        self.caches: dict[ResourceSpec, WatchCache] = {
            spec: WatchCache(spec, self.etcd, settings.watch_cache_window,
                             self.storage.codec(spec))
            for spec in self.registry.all() if "watch" in spec.verbs}
        self.openapi = OpenAPIDocuments(self.registry.all())
        self.security = security.build(settings, self.registry, self.caches)
        self.authentication = security.CertificateAuthCache(self.security)
        self.handlers = ResourceHandlers(self.registry, self.storage, self.caches, self)
        self._tasks: asyncio.TaskGroup | None = None
        self._background: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.port = settings.secure_port

    # Environment for strategies -------------------------------------------------------------

    async def allocate_cluster_ip(self, wanted: str | None) -> str:
        return await self.allocator.allocate(wanted)

    async def release_cluster_ip(self, ip: str) -> None:
        await self.allocator.release(ip)

    async def allocate_node_port(self, wanted: int | None, field: str) -> int:
        return await self.node_ports.allocate(wanted, field)

    async def release_node_port(self, port: int) -> None:
        await self.node_ports.release(port)

    # Lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> APIServer:
        for name, value in sorted(self.settings.not_enforced.items()):
            log.info("flag --%s=%s accepted but not yet enforced", name, value)
        self._ssl = self._load_tls()  # bad files fail before anything else starts
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        try:
            await self._check_encrypted_values_readable()
            for cache in self.caches.values():
                self._background.append(self._tasks.create_task(
                    cache.run(), name=f"watch-cache {cache.spec.plural}"))
            if self.settings.etcd_compaction_interval > 0:
                self._background.append(self._tasks.create_task(
                    self._compact_forever(), name="etcd-compactor"))
            try:
                async with asyncio.timeout(ETCD_START_TIMEOUT_SECONDS):
                    await asyncio.gather(*(c.ready.wait() for c in self.caches.values()))
            except TimeoutError as exc:
                raise KubeadmpyError(
                    f"etcd at {', '.join(self.settings.etcd_servers)} did not answer within "
                    f"{ETCD_START_TIMEOUT_SECONDS} s: check --etcd-servers, --etcd-cafile, "
                    "--etcd-certfile and --etcd-keyfile, and that etcd runs") from exc
            await self._bootstrap()
            await security.reconcile_default_policy(self.registry, self.storage)
            await self._serve()
        except BaseException:
            await self._shutdown()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        # End client watches first so their handlers finish and the site can close at once.
        for cache in self.caches.values():
            for watcher in list(cache.watchers):
                watcher.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tasks is not None:
            tasks, self._tasks = self._tasks, None
            for task in self._background:
                task.cancel()
            self._background.clear()
            with contextlib.suppress(asyncio.CancelledError):
                await tasks.__aexit__(None, None, None)
        await self.kubelets.close()
        await self.etcd.close()

    async def _check_encrypted_values_readable(self) -> None:
        """Refuse to start when stored values cannot be decrypted with the configured keys,
        instead of serving 500s (or garbage) for them later, as kube-apiserver does."""
        for spec in self.caches:
            transformer = self.storage.encryption.for_resource(spec.group_resource)
            if transformer is IDENTITY:
                continue
            prefix = spec.key_prefix()
            stored = await self.etcd.range(prefix, prefix_end(prefix))
            encryption.check_readable(transformer, [(kv.key.encode(), kv.value)
                                                    for kv in stored.kvs])

    async def _compact_forever(self) -> None:
        """Compact etcd history older than one interval, as upstream's apiserver does.

        Compacting what was current one interval ago keeps at least an interval of history
        for watches resuming through other apiservers; several apiservers doing it is harmless.
        """
        previous = 0
        while True:
            await asyncio.sleep(self.settings.etcd_compaction_interval)
            try:
                current = await self.etcd.current_revision()
                if previous:
                    await self.etcd.compact(previous)
                    log.info("compacted etcd history up to revision %d", previous)
                previous = current
            except EtcdCompacted:
                previous = 0
            except EtcdError as exc:
                log.warning("etcd compaction failed: %s", exc)

    def _load_tls(self) -> ssl.SSLContext:
        s = self.settings
        try:
            return auth.server_ssl_context(s.tls_cert_file, s.tls_private_key_file,
                                           s.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise UserInputError("--tls-cert-file/--tls-private-key-file/--client-ca-file",
                                 f"cannot load {s.tls_cert_file}, {s.tls_private_key_file} or "
                                 f"{s.client_ca_file}: {exc}",
                                 "Point the flags at readable PEM files (kubeadmpy init phase "
                                 "certs all writes them)") from exc

    async def _serve(self) -> None:
        s = self.settings
        context = self._ssl
        app = web.Application(middlewares=[self._middleware],
                              client_max_size=negotiation.MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
        await self._runner.setup()
        site = web.TCPSite(self._runner, s.bind_address, s.secure_port, ssl_context=context,
                           backlog=1024)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("serving on https://%s:%d", s.bind_address, self.port)

    async def _bootstrap(self) -> None:
        """The namespaces and the `kubernetes` Service every cluster has."""
        namespaces = self.registry.lookup("", "v1", "namespaces")
        services = self.registry.lookup("", "v1", "services")
        assert namespaces is not None and services is not None
        for name in SYSTEM_NAMESPACES:
            obj = writes.prepare_create(namespaces, {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": name}}, "")
            with contextlib.suppress(status.APIStatusError):
                await self.storage.create(namespaces, obj)
        svc = writes.prepare_create(services, {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver",
                                                          "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "ports": [{"name": "https", "port": 443,
                                                     "protocol": "TCP",
                                                     "targetPort": self.settings.secure_port}],
                     "clusterIP": self.allocator.kubernetes_service_ip,
                     "clusterIPs": [self.allocator.kubernetes_service_ip]}}, "default")
        try:
            await self.storage.get(services, "default", "kubernetes")
        except status.APIStatusError:
            with contextlib.suppress(status.APIStatusError):
                await self.allocator.allocate(self.allocator.kubernetes_service_ip)
            with contextlib.suppress(status.APIStatusError):
                await self.storage.create(services, svc)
        classes = self.registry.lookup("scheduling.k8s.io", "v1", "priorityclasses")
        assert classes is not None
        for priority_class in SYSTEM_PRIORITY_CLASSES:
            obj = writes.prepare_create(classes, copy.deepcopy(priority_class), "")
            with contextlib.suppress(status.APIStatusError):  # exists: made by a first start
                await self.storage.create(classes, obj)

    # HTTP ------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            result = self.authentication.authenticate(credentials_from_aiohttp(request))
            if result.user is None:
                log.info("Unable to authenticate the request: %s", result.reason)
                raise status.unauthorized()
            user = result.user
            if any(name[:12].lower() == "impersonate-" for name in request.headers):
                user = self._impersonate(user, request)
            attrs = request_attributes(user, request.method, request.path,
                                       request.query_string)
            verdict = self.security.authorize(attrs)
            if not verdict.allowed:
                raise status.forbidden(forbidden_message(attrs, verdict.reason))
            request["user"] = user
            return await handler(request)
        except status.APIStatusError as exc:
            return negotiation.error_response(exc)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug must still answer with a Status, never a traceback
            log.exception("internal error serving %s %s", request.method, request.path)
            return negotiation.error_response(status.internal_error(repr(exc)))

    def _impersonate(self, user: UserInfo, request: web.Request) -> UserInfo:
        """`kubectl --as/--as-group`: run as another user if the real one may impersonate."""
        try:
            return self.security.impersonate(user, request.headers.items())
        except ImpersonationError as exc:
            if exc.code == 400:
                raise status.bad_request(str(exc)) from exc
            raise status.forbidden(str(exc)) from exc

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = auth.normalised_path(request.path)
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(
                ("/healthz/", "/livez/", "/readyz/")):
            return await self._health(path, "verbose" in request.query)
        if path == "/version":
            return negotiation.respond(discovery.version_info())
        if path in (OIDC_CONFIG_PATH, JWKS_PATH):
            return self._service_account_issuer_document(path, request.host)
        if path.startswith("/openapi"):
            return self._openapi(path, request.headers.get("Accept", ""))
        if request.method == "GET":
            document = self._discovery(path, request.headers.get("Accept", ""), request.host)
            if document is not None:
                return document
        review = reviews.review_spec(path)
        if review is not None:
            return await reviews.answer(request, review, request["user"], self.security)
        target = resolve(self.registry, path)
        if target is None:
            raise status.path_not_found()
        return await self.handlers.handle(request, target)

    def _service_account_issuer_document(self, path: str, host: str) -> web.Response:
        """OIDC discovery for service-account tokens, so outside parties can verify them."""
        flags = security.security_settings(self.settings)
        if not flags.service_account_issuers:
            raise status.path_not_found()
        keys = [key for file in flags.service_account_key_files
                for key in jws.load_verification_keys(Path(file))]
        if path == JWKS_PATH:
            return web.Response(body=negotiation.dumps(jws.jwks(keys)),
                                content_type="application/jwk-set+json")
        address = self.settings.advertise_address or host.rsplit(":", 1)[0]
        document = jws.openid_configuration(flags.service_account_issuers[0],
                                            f"https://{address}:{self.port}{JWKS_PATH}", keys)
        return negotiation.respond(document)

    async def _health(self, path: str, verbose: bool) -> web.Response:
        """/livez: the process serves. /readyz and /healthz also need etcd and synced caches."""
        checks = {"ping": True}
        if not path.startswith("/livez"):
            checks["informer-sync"] = all(c.ready.is_set() for c in self.caches.values())
            try:
                async with asyncio.timeout(HEALTH_ETCD_TIMEOUT_SECONDS):
                    await self.etcd.current_revision()
                checks["etcd"] = True
            except (TimeoutError, EtcdError):
                checks["etcd"] = False
        healthy = all(checks.values())
        if not verbose:
            if healthy:
                return web.Response(text="ok")
            failed = "".join(f"[-]{name} failed: reason withheld\n"
                             for name, ok in checks.items() if not ok)
            return web.Response(text=f"{failed}{path.strip('/').split('/')[0]} check failed",
                                status=500)
        lines = [f"[{'+' if ok else '-'}]{name} {'ok' if ok else 'failed'}"
                 for name, ok in checks.items()]
        lines.append(f"{path.strip('/').split('/')[0]} check "
                     f"{'passed' if healthy else 'failed'}")
        return web.Response(text="\n".join(lines), status=200 if healthy else 500)

    def _discovery(self, path: str, accept: str, host: str) -> web.Response | None:
        parts = path.strip("/").split("/")
        if path in ("/api", "/apis"):
            version = discovery.aggregated_version(accept)
            if version is not None:
                body = discovery.aggregated(self.registry, core=path == "/api", version=version)
                return web.Response(body=negotiation.dumps(body), headers={
                    "Content-Type": discovery.aggregated_content_type(version),
                    "Vary": "Accept"})
            if path == "/api":
                address = f"{self.settings.advertise_address or host.split(':')[0]}:{self.port}"
                return negotiation.respond(discovery.api_versions(address))
            return negotiation.respond(discovery.api_group_list(self.registry))
        document: Any = None
        if len(parts) == 2 and parts[0] == "api":
            document = discovery.resource_list(self.registry, "", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            document = discovery.api_group(self.registry, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            document = discovery.resource_list(self.registry, parts[1], parts[2])
        else:
            return None
        if document is None:
            raise status.path_not_found()
        return negotiation.respond(document)

    def _openapi(self, path: str, accept: str) -> web.Response:
        if path == "/openapi/v2":
            # kubectl 1.27/1.28 need a v2 document before apply/create -f; an empty protobuf
            # document is a valid one (v3 carries the schemas, the server validates).
            document = self.openapi.v2(accept)
        elif path == "/openapi/v3":
            document = self.openapi.v3_root()
        else:
            found = self.openapi.v3_group_version(path[len("/openapi/v3/"):])
            if found is None:
                raise status.path_not_found()
            document = found
        return web.Response(body=document.body, headers={"Content-Type": document.content_type})


def load_encryption(settings: Settings) -> EncryptionTransformers:
    """--encryption-provider-config, loaded (and refused if unusable) before anything starts."""
    path = settings.security_flags.get("encryption-provider-config")
    return EncryptionTransformers(encryption_config.load(Path(path)) if path else None)


async def run(settings: Settings, started: Callable[[APIServer], None] | None = None) -> None:
    """Serve until cancelled."""
    async with APIServer(settings) as server:
        if started is not None:
            started(server)
        await asyncio.Event().wait()
