"""Subresources: status, approval and finalize (through the shared write path), scale
(autoscaling/v1 Scale over the parent's spec.replicas), pod binding and eviction, and the
kubelet-backed ones (log, exec, …); a service proxy answers 503 (no endpoints are served)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from kubeadmpy.apiserver import negotiation, patching, security, writes
from kubeadmpy.apiserver.kubelet_proxy import choose_container
from kubeadmpy.apiserver.routing import Target
from kubeadmpy.errors import UserInputError
from kubeadmpy.machinery import status
from kubeadmpy.machinery.objects import format_rfc3339
from kubeadmpy.machinery.registry import JSONObject, ResourceSpec
from kubeadmpy.machinery.selectors import format_label_selector
from kubeadmpy.security.tokenrequest import TokenRequestInvalid, TokenRequestNotFound

if TYPE_CHECKING:
    from kubeadmpy.apiserver.rest import ResourceHandlers


class SubresourceHandlers:
    def __init__(self, rest: ResourceHandlers) -> None:
        self.rest = rest

    # --- subresources -------------------------------------------------------------------------

    async def handle(self, request: web.Request, target: Target,
                           fmt: negotiation.ResponseFormat) -> web.StreamResponse:
        sub, method = target.subresource, request.method
        if sub in ("status", "approval", "finalize"):
            if method == "GET" and sub == "status":
                obj = await self.rest.storage.get(target.spec, target.namespace, target.name)
                return self.rest.object_response(target.spec, obj, fmt, request)
            kind = "status" if sub in ("status", "approval") else "finalize"
            if method == "PUT":
                return await self.rest.update(request, target, fmt, subresource=kind)
            if method == "PATCH":
                return await self.rest.patch(request, target, fmt, subresource=kind)
            raise status.method_not_allowed()
        if sub == "scale":
            return await self._scale(request, target, fmt)
        if sub == "binding" and method == "POST":
            return await self._bind(request, target)
        if sub == "eviction" and method == "POST":
            return await self._evict(request, target)
        if sub == "token" and method == "POST":
            return await self._token(request, target)
        if sub == "log" and method == "GET":
            return await self._logs(request, target)
        if sub in ("exec", "attach", "portforward") and method in ("GET", "POST"):
            return await self._connect(request, target, sub)
        if sub == "proxy" and target.spec.plural == "nodes":
            node = await self.rest.storage.get(target.spec, "", target.name)
            path = "/" + quote(target.rest)
            if request.rel_url.raw_query_string:
                path += f"?{request.rel_url.raw_query_string}"
            return await self.rest.env.kubelets.stream_upgrade(request, node, path)
        if sub != "proxy":  # a served subresource asked with a verb it does not have
            raise status.method_not_allowed()
        await self.rest.storage.get(target.spec, target.namespace, target.name)  # 404 first
        raise status.service_unavailable(
            f"the {sub} subresource of {target.spec.plural} is not implemented yet")

    async def _token(self, request: web.Request, target: Target) -> web.Response:
        """TokenRequest: a signed service-account token (`kubectl create token`)."""
        account = await self.rest.storage.get(target.spec, target.namespace, target.name)
        body = await self.rest.read_object(request, target.spec, "TokenRequest")
        security.admit(self.rest.env.security, request, "CREATE", target.spec,
                       namespace=target.namespace, name=target.name,
                       obj=body if isinstance(body, dict) else None, subresource="token")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise status.bad_request("the body must be a TokenRequest object")
        try:
            answer = self.rest.env.security.token_request(body, target.namespace, account)
        except TokenRequestNotFound as exc:
            raise status.APIStatusError(404, "NotFound", str(exc)) from exc
        except TokenRequestInvalid as exc:
            raise status.invalid("TokenRequest", "authentication.k8s.io", target.name, [
                status.Cause("FieldValueInvalid", exc.problem, exc.field)]) from exc
        except UserInputError as exc:  # no signing key configured
            raise status.internal_error(str(exc)) from exc
        return negotiation.respond(answer, 201)

    async def _connect(self, request: web.Request, target: Target, sub: str
                       ) -> web.StreamResponse:
        pod = await self.rest.storage.get(target.spec, target.namespace, target.name)
        node_name = pod.get("spec", {}).get("nodeName")
        if not node_name:
            raise status.bad_request(f"pod {target.name} does not have a host assigned")
        nodes = self.rest.registry.lookup("", "v1", "nodes")
        assert nodes is not None
        node = await self.rest.storage.get(nodes, "", node_name)
        where = f"{quote(target.namespace)}/{quote(target.name)}"
        if sub == "portforward":
            path = f"/portForward/{where}"
        else:
            container = choose_container(pod, request.query.get("container"))
            path = f"/{sub}/{where}/{quote(container)}"
        if request.rel_url.raw_query_string:
            path += f"?{request.rel_url.raw_query_string}"
        return await self.rest.env.kubelets.stream_upgrade(request, node, path)

    async def _logs(self, request: web.Request, target: Target) -> web.StreamResponse:
        pod = await self.rest.storage.get(target.spec, target.namespace, target.name)
        container = choose_container(pod, request.query.get("container"))
        node_name = pod.get("spec", {}).get("nodeName")
        if not node_name:  # nothing has run yet: upstream answers with no log lines
            return web.Response(body=b"", content_type="text/plain")
        nodes = self.rest.registry.lookup("", "v1", "nodes")
        assert nodes is not None
        node = await self.rest.storage.get(nodes, "", node_name)
        return await self.rest.env.kubelets.stream_logs(request, node, pod, container)

    def _scale_of(self, spec: ResourceSpec, obj: JSONObject) -> JSONObject:
        meta = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                  "creationTimestamp") if k in meta},
                "spec": {"replicas": int(obj.get("spec", {}).get("replicas", 0))},
                "status": {"replicas": int(obj.get("status", {}).get("replicas", 0)),
                           "selector": format_label_selector(obj.get("spec", {}).get(
                               "selector"))}}

    async def _scale(self, request: web.Request, target: Target,
                     fmt: negotiation.ResponseFormat) -> web.Response:
        spec, method = target.spec, request.method
        if method == "GET":
            obj = await self.rest.storage.get(spec, target.namespace, target.name)
            return negotiation.respond(self._scale_of(spec, obj), 200, fmt)
        if method not in ("PUT", "PATCH"):
            raise status.method_not_allowed()
        content_type = negotiation.media_type(request.headers.get("Content-Type", ""))
        raw = await negotiation.read_body(request)
        body = negotiation.decode_body(
            raw, negotiation.JSON if method == "PATCH" else content_type,
            negotiation.GVKHint("autoscaling", "v1", "Scale"))
        dry_run = negotiation.dry_run(request.query)

        async def mutate(current: JSONObject) -> JSONObject | None:
            scale = self._scale_of(spec, current)
            if method == "PATCH":
                scale = patching.apply_patch(content_type, scale, body)
            elif not isinstance(body, dict):
                raise status.bad_request("the body of the request must be a Scale object")
            else:
                scale = body
            for name in ("metadata", "spec"):  # upstream fails to decode these: a 400
                if not isinstance(scale.get(name) or {}, dict):
                    raise status.bad_request(f"{name}: must be an object in a Scale, got "
                                             f"{type(scale[name]).__name__}")
            wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
            if method == "PUT" and wanted_rv and wanted_rv != current["metadata"][
                    "resourceVersion"]:
                raise status.conflict(spec.plural, spec.group, target.name, status.STALE_OBJECT)
            replicas = (scale.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise status.invalid("Scale", "autoscaling", target.name, [status.Cause(
                    "FieldValueInvalid", f"Invalid value: {replicas!r}: must be greater than "
                    "or equal to 0", "spec.replicas")])
            desired = writes.deep(current)
            desired["spec"]["replicas"] = replicas
            desired["metadata"].pop("resourceVersion", None)
            return writes.prepare_update(spec, desired, current)

        new, _ = await self.rest.storage.update(spec, target.namespace, target.name, mutate,
                                           dry_run=dry_run)
        return negotiation.respond(self._scale_of(spec, new), 200, fmt)

    async def _bind(self, request: web.Request, target: Target) -> web.Response:
        body = await self.rest.read_object(request, target.spec, "Binding")
        reference = body.get("target") if isinstance(body, dict) else None
        node = reference.get("name") if isinstance(reference, dict) else None
        if (reference is not None and not isinstance(reference, dict)) or \
                (node is not None and not isinstance(node, str)):
            raise status.bad_request("target: must be an object whose name is a string, as "
                                     '{"target": {"kind": "Node", "name": "<node>"}}')
        if not node:
            raise status.invalid("Binding", "", target.name, [status.Cause(
                "FieldValueRequired", "Required value", "target.name")])

        async def mutate(pod: JSONObject) -> JSONObject | None:
            if pod["metadata"].get("deletionTimestamp"):
                raise status.conflict("pods/binding", "", target.name,
                                      "pod is being deleted, cannot be assigned to a host")
            if pod.get("spec", {}).get("nodeName"):
                raise status.conflict("pods/binding", "", target.name,
                                      f"pod {target.name} is already assigned to node "
                                      f'"{pod["spec"]["nodeName"]}"')
            pod["spec"]["nodeName"] = node
            conditions = pod.setdefault("status", {}).setdefault("conditions", [])
            conditions.append({"type": "PodScheduled", "status": "True",
                               "lastProbeTime": None,
                               "lastTransitionTime": format_rfc3339(time.time())})
            return pod

        await self.rest.storage.update(target.spec, target.namespace, target.name, mutate,
                                  dry_run=negotiation.dry_run(request.query))
        return negotiation.respond(status.success_status(), 201)

    async def _evict(self, request: web.Request, target: Target) -> web.Response:
        body = await self.rest.read_object(request, target.spec, "Eviction")
        security.admit(self.rest.env.security, request, "CREATE", target.spec,
                       namespace=target.namespace, name=target.name,
                       obj=body if isinstance(body, dict) else None, subresource="eviction")
        options = writes.parse_delete_options(
            body.get("deleteOptions") if isinstance(body, dict) else None, request.query)
        await writes.delete_object(self.rest.storage, target.spec, target.namespace, target.name,
                                   options, self.rest.env)
        return negotiation.respond(status.success_status(), 201)
