"""The generic REST layer: one set of handlers for every resource in the registry.

GET/LIST/WATCH, POST, PUT, PATCH, DELETE and DELETE-collection on any `Target`, plus the
subresources every kind shares (status, scale) and a few with rules of their own (binding,
eviction, namespace finalize, CSR approval). Kind-specific behaviour lives in strategies.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from kubeadmpy.apiserver import fields, negotiation, patching, security, tables, writes
from kubeadmpy.apiserver.kubelet_proxy import KubeletProxy
from kubeadmpy.apiserver.listing import (
    list_body,
    list_objects,
    parse_list_options,
    serve_watch,
)
from kubeadmpy.apiserver.routing import Target
from kubeadmpy.apiserver.storage import Storage
from kubeadmpy.apiserver.subresources import SubresourceHandlers
from kubeadmpy.apiserver.watchcache import WatchCache
from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import JSONObject, ResourceRegistry, ResourceSpec
from kubeadmpy.machinery.status import StatusDetails
from kubeadmpy.security.stack import SecurityStack


class Environment(Protocol):
    async def allocate_cluster_ip(self, wanted: str | None) -> str: ...

    async def release_cluster_ip(self, ip: str) -> None: ...

    async def allocate_node_port(self, wanted: int | None, field: str) -> int: ...

    async def release_node_port(self, port: int) -> None: ...

    @property
    def kubelets(self) -> KubeletProxy: ...

    @property
    def security(self) -> SecurityStack: ...


def _verb(method: str, target: Target, query: Any) -> str:
    if method == "GET":
        if target.is_collection:
            return "watch" if negotiation.parse_bool(query, "watch") else "list"
        return "get"
    if target.is_collection:
        return {"POST": "create", "DELETE": "deletecollection"}.get(method, "")
    return {"PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "")


class ResourceHandlers:
    def __init__(self, registry: ResourceRegistry, storage: Storage,
                 caches: dict[ResourceSpec, WatchCache], env: Environment) -> None:
        self.registry = registry
        self.storage = storage
        self.caches = caches
        self.env = env
        self.namespaces = registry.lookup("", "v1", "namespaces")
        self.subresources = SubresourceHandlers(self)

    # --- dispatch -----------------------------------------------------------------------------

    async def handle(self, request: web.Request, target: Target) -> web.StreamResponse:
        method = request.method
        if not target.subresource and _verb(method, target, request.query) not in \
                target.spec.verbs:
            raise status.method_not_allowed()
        fmt = negotiation.negotiate(request.headers.get("Accept", ""))
        if target.subresource:
            return await self.subresources.handle(request, target, fmt)
        if target.is_collection:
            if method == "GET":
                return await self.list_or_watch(request, target, fmt)
            if method == "POST":
                return await self.create(request, target, fmt)
            if method == "DELETE" and "deletecollection" in target.spec.verbs:
                return await self.delete_collection(request, target, fmt)
            raise status.method_not_allowed()
        if method == "GET":
            obj = await self.storage.get(target.spec, target.namespace, target.name)
            return self.object_response(target.spec, obj, fmt, request)
        if method == "PUT":
            return await self.update(request, target, fmt)
        if method == "PATCH":
            return await self.patch(request, target, fmt)
        if method == "DELETE":
            return await self.delete(request, target, fmt)
        raise status.method_not_allowed()

    def object_response(self, spec: ResourceSpec, obj: JSONObject,
                         fmt: negotiation.ResponseFormat, request: web.Request,
                         code: int = 200) -> web.Response:
        if fmt.table:
            include = tables.check_include_object(request.query.get("includeObject"))
            return negotiation.respond(tables.to_table(spec, [obj], include=include,
                                                       list_meta={"resourceVersion": obj[
                                                           "metadata"].get("resourceVersion",
                                                                           "")}), code)
        if fmt.partial_metadata:
            return negotiation.respond(tables.partial_metadata(obj), code)
        return negotiation.respond(obj, code, fmt)

    async def read_object(self, request: web.Request, spec: ResourceSpec, kind: str = "") -> Any:
        raw = await negotiation.read_body(request)
        hint = negotiation.GVKHint(spec.group, spec.version, kind or spec.kind)
        return negotiation.decode_body(raw, request.headers.get("Content-Type", ""), hint)

    async def _require_namespace(self, namespace: str) -> None:
        """The namespace must exist and not be terminating (cache first, etcd when unsure)."""
        assert self.namespaces is not None
        cache = self.caches[self.namespaces]
        ns = cache.objects.get(self.namespaces.key("", namespace))
        if ns is None:  # maybe created an instant ago: the cache may lag, etcd does not
            try:
                ns = await self.storage.get(self.namespaces, "", namespace)
            except status.APIStatusError as exc:
                if exc.code == 404:
                    raise status.not_found("namespaces", "", namespace) from exc
                raise
        if ns.get("metadata", {}).get("deletionTimestamp"):
            raise status.forbidden(f'unable to create new content in namespace {namespace} '
                                   "because it is being terminated")

    # --- collection verbs ---------------------------------------------------------------------

    async def list_or_watch(self, request: web.Request, target: Target,
                            fmt: negotiation.ResponseFormat) -> web.StreamResponse:
        options = parse_list_options(target.spec, target.namespace, request.query)
        include = tables.check_include_object(request.query.get("includeObject"))
        cache = self.caches[target.spec]
        if options.watch:
            return await serve_watch(request, self.storage, cache, options, fmt, include)
        items, meta = await list_objects(self.storage, cache, options)
        return negotiation.respond(list_body(target.spec, items, meta, fmt, include), 200, fmt)

    async def create(self, request: web.Request, target: Target,
                     fmt: negotiation.ResponseFormat) -> web.Response:
        body = await self.read_object(request, target.spec)
        manager = fields.field_manager(request.query, request.headers.get("User-Agent", ""))
        return await self._create_object(request, target, fmt, body, manager=manager)

    async def _create_object(self, request: web.Request, target: Target,
                             fmt: negotiation.ResponseFormat, body: Any, *,
                             manager: str) -> web.Response:
        """Create `body`; `manager` records field ownership ("" when apply already did)."""
        spec = target.spec
        mode = fields.field_validation(request.query)
        dry_run = negotiation.dry_run(request.query)
        obj = writes.check_kind(spec, body)
        warnings = fields.check_schema(spec, obj, mode)
        if spec.namespaced:
            if not target.namespace:
                raise status.path_not_found()
            await self._require_namespace(target.namespace)
        obj = writes.prepare_create(spec, obj, target.namespace)
        admitted = security.admit(self.env.security, request, "CREATE", spec,
                                  namespace=target.namespace, name=obj["metadata"]["name"],
                                  obj=obj) or obj
        if admitted is not obj and spec.strategy.has_status:
            # status derives from the admitted spec (a pod's QoS class once LimitRanger set its
            # resources), as upstream's PrepareForCreate runs after mutating admission
            spec.strategy.initial_status(admitted)
        obj = admitted
        await security.charge_quota(self.env.security, self.storage, self.registry, request,
                                    spec, namespace=target.namespace, obj=obj, dry_run=dry_run)
        security.record_requester(spec, obj, request["user"])
        if manager:
            fields.track(None, obj, manager)
        if not dry_run:
            await spec.strategy.before_create(obj, self.env)
        try:
            created = await self.storage.create(spec, obj, dry_run=dry_run)
        except BaseException:
            if not dry_run:
                await spec.strategy.after_delete(obj, self.env)
            raise
        response = self.object_response(spec, created, fmt, request, 201)
        response.headers.update(fields.warning_header(warnings))
        return response

    async def delete_collection(self, request: web.Request, target: Target,
                                fmt: negotiation.ResponseFormat) -> web.Response:
        options = parse_list_options(target.spec, target.namespace, request.query)
        raw = await negotiation.read_body(request)
        body = negotiation.decode_body(raw, request.headers.get("Content-Type", "")) \
            if raw else None
        delete = writes.parse_delete_options(body, request.query)
        items, meta = await list_objects(self.storage, self.caches[target.spec], options)
        deleted = []
        for item in items:
            item_meta = item["metadata"]
            try:
                obj, _ = await writes.delete_object(self.storage, target.spec,
                                                    item_meta.get("namespace", ""),
                                                    item_meta["name"], delete, self.env)
            except status.APIStatusError as exc:
                if exc.code == 404:
                    continue
                raise
            deleted.append(obj)
        return negotiation.respond(list_body(target.spec, deleted, meta, fmt, "Metadata"),
                                   200, fmt)

    # --- object verbs -------------------------------------------------------------------------

    async def _write(self, request: web.Request, target: Target, fmt: negotiation.ResponseFormat,
                     build: Any, *, subresource: str = "", applying: bool = False
                     ) -> web.Response:
        """Shared PUT/PATCH path: `build(current)` returns the desired full object."""
        spec = target.spec
        mode = fields.field_validation(request.query)
        manager = fields.field_manager(request.query, request.headers.get("User-Agent", ""))
        dry_run = negotiation.dry_run(request.query)
        warnings: list[str] = []
        claims: list[Any] = []  # allocations of the attempt in flight (CAS retries redo it)

        async def mutate(current: JSONObject) -> JSONObject | None:
            if claims:
                await spec.strategy.release_claims(claims, self.env)
                claims.clear()
            desired = writes.check_kind(spec, await build(current))
            warnings[:] = fields.check_schema(spec, desired, mode)
            name = desired["metadata"].get("name")
            if name and name != target.name:
                raise status.bad_request(f"the name of the object ({name}) does not match the "
                                         f"name on the URL ({target.name})")
            namespace = desired["metadata"].get("namespace")
            if spec.namespaced and namespace and namespace != target.namespace:
                raise status.bad_request("the namespace of the provided object does not match "
                                         "the namespace sent on the request")
            updated = writes.prepare_update(spec, desired, current, subresource=subresource,
                                            manager="" if applying else manager)
            if updated is None:
                return None
            admitted = security.admit(self.env.security, request, "UPDATE", spec,
                                      namespace=target.namespace, name=target.name,
                                      obj=updated, old=current, subresource=subresource)
            if admitted is not None:
                await security.charge_quota(self.env.security, self.storage, self.registry,
                                            request, spec, namespace=target.namespace,
                                            obj=admitted, old=current, dry_run=dry_run,
                                            subresource=subresource)
            if not dry_run and admitted is not None:
                claims.extend(await spec.strategy.before_update(admitted, current, self.env))
            return admitted

        try:
            new, old = await self.storage.update(spec, target.namespace, target.name, mutate,
                                                 dry_run=dry_run)
        except BaseException:
            if claims:
                await spec.strategy.release_claims(claims, self.env)
            raise
        if not dry_run:
            if new is not old:
                await spec.strategy.after_update(new, old, self.env)
            await writes.finish_if_vanishing(self.storage, spec, new, self.env)
        response = self.object_response(spec, new, fmt, request)
        response.headers.update(fields.warning_header(warnings))
        return response

    async def update(self, request: web.Request, target: Target,
                     fmt: negotiation.ResponseFormat, subresource: str = "") -> web.Response:
        body = await self.read_object(request, target.spec)

        async def build(current: JSONObject) -> Any:
            return writes.deep(body) if isinstance(body, dict) else body

        return await self._write(request, target, fmt, build, subresource=subresource)

    async def patch(self, request: web.Request, target: Target,
                    fmt: negotiation.ResponseFormat, subresource: str = "") -> web.Response:
        content_type = negotiation.media_type(request.headers.get("Content-Type", ""))
        patching.check_content_type(content_type)
        raw = await negotiation.read_body(request)
        applying = content_type == patching.APPLY_PATCH
        patch = negotiation.decode_body(raw, negotiation.YAML if applying else negotiation.JSON)
        if not applying:
            async def build(current: JSONObject) -> Any:
                return patching.apply_patch(content_type, current, patch)

            return await self._write(request, target, fmt, build, subresource=subresource)
        manager = request.query.get("fieldManager", "")
        force = negotiation.parse_bool(request.query, "force")

        async def build_applied(current: JSONObject) -> Any:
            return patching.apply(current, patch, manager, force)

        try:
            return await self._write(request, target, fmt, build_applied,
                                     subresource=subresource, applying=True)
        except status.APIStatusError as exc:
            if exc.code != 404 or subresource:
                raise
        # Apply creates what does not exist yet.
        created = patching.apply(None, patch, manager, force)
        if isinstance(created, dict):
            meta = created.setdefault("metadata", {})
            if meta.get("name") and meta["name"] != target.name:
                raise status.bad_request(f"the name of the object ({meta['name']}) does not "
                                         f"match the name on the URL ({target.name})")
            meta["name"] = target.name
        return await self._create_object(request, target, fmt, created, manager="")

    async def delete(self, request: web.Request, target: Target,
                     fmt: negotiation.ResponseFormat) -> web.Response:
        raw = await negotiation.read_body(request)
        body = negotiation.decode_body(raw, request.headers.get("Content-Type", ""),
                                       negotiation.GVKHint("", "v1", "DeleteOptions")) \
            if raw else None
        options = writes.parse_delete_options(body, request.query)
        spec = target.spec
        if self.env.security.admission:
            current = await self.storage.get(spec, target.namespace, target.name)
            security.admit(self.env.security, request, "DELETE", spec,
                           namespace=target.namespace, name=target.name, obj=None, old=current)
        obj, removed = await writes.delete_object(self.storage, spec, target.namespace,
                                                  target.name, options, self.env)
        if removed and spec.plural not in writes.DELETE_RETURNS_OBJECT:
            return negotiation.respond(status.success_status(StatusDetails(
                name=target.name, group=spec.group, kind=spec.plural,
                uid=obj["metadata"].get("uid", ""))), 200, fmt)
        return self.object_response(spec, obj, fmt, request)
