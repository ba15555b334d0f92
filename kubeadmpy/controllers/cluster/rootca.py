"""The root-CA publisher: a `kube-root-ca.crt` ConfigMap in every namespace.

Projected service-account volumes read `ca.crt` from this ConfigMap so pods can verify the API
server; the bundle is the file given by --root-ca-file, read once at start (a controller
restart picks up a rotated CA, as upstream). Edits to the ConfigMap are put back.
"""

from __future__ import annotations

from pathlib import Path

from kubeadmpy.client import Controller, Request, Result
from kubeadmpy.controllers.cluster.common import (
    Disabled,
    JSONObject,
    create_if_missing,
    host_file,
    meta,
    namespace_of,
    status,
    writable,
)
from kubeadmpy.controllers.registry import ControllerContext, Runnable
from kubeadmpy.errors import ConfigError

NAME = "root-ca-certificate-publisher-controller"
CONFIGMAP = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")


def read_root_ca(path: str, root_dir: Path = Path("/")) -> str:
    try:
        text = host_file(root_dir, path).read_text()
    except OSError as exc:
        raise ConfigError("--root-ca-file", f"cannot read {path!r}: {exc.strerror}",
                          "Point it at a readable PEM CA bundle") from exc
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ConfigError("--root-ca-file", f"{path!r} holds no PEM certificate",
                          "Point it at the cluster CA certificate (ca.crt)")
    return text


def _namespace_request(configmap: JSONObject) -> list[Request]:
    return [Request("", namespace_of(configmap))]


class RootCAPublisher:
    def __init__(self, ctx: ControllerContext, ca_bundle: str | None = None) -> None:
        self.client = ctx.client
        self.ca_bundle = ca_bundle if ca_bundle is not None else read_root_ca(
            ctx.options.root_ca_file, ctx.root_dir)
        self.namespaces = ctx.informers.informer("namespaces")
        self.configmaps = ctx.informers.informer(
            "configmaps", field_selector=f"metadata.name={CONFIGMAP}")
        self.controller = Controller(NAME, self.reconcile, clock=ctx.clock)
        self.controller.watch(self.namespaces)
        self.controller.watch(self.configmaps, _namespace_request)

    async def run(self) -> None:
        await self.controller.run()

    async def reconcile(self, request: Request) -> Result | None:
        namespace = self.namespaces.store.get(request.name)
        if namespace is None or status(namespace).get("phase") == "Terminating":
            return None
        current = self.configmaps.store.get(f"{request.name}/{CONFIGMAP}")
        if current is None:
            await create_if_missing(self.client, "configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": CONFIGMAP, "namespace": request.name,
                             "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                "data": {"ca.crt": self.ca_bundle}}, request.name)
            return None
        annotations = meta(current).get("annotations") or {}
        if (current.get("data") or {}) == {"ca.crt": self.ca_bundle} and \
                annotations.get(DESCRIPTION_ANNOTATION) == DESCRIPTION:
            return None
        fixed = writable(current)
        fixed["data"] = {"ca.crt": self.ca_bundle}
        fixed["metadata"].setdefault("annotations", {})[DESCRIPTION_ANNOTATION] = DESCRIPTION
        await self.client.update("configmaps", fixed, request.name)
        return None


def new_controller(ctx: ControllerContext) -> Runnable:
    """Without --root-ca-file the CA of the controller-manager's own kubeconfig is published,
    as upstream falls back to it."""
    if ctx.options.root_ca_file:
        return RootCAPublisher(ctx)
    ca_pem = ctx.client.config.ca_pem.decode(errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in ca_pem:
        return Disabled(NAME, "no --root-ca-file and no CA in the kubeconfig")
    return RootCAPublisher(ctx, ca_pem)
