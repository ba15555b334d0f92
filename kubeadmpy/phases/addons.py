"""init's add-on steps: cluster DNS (`addon/coredns`), kube-proxy (`addon/kube-proxy`) and
flannel's objects (for `pod-network`).

kubeadm's addon phases create their objects with the admin client, create-or-update, so a
second `init phase addon kube-proxy` updates what the first made. The add-on pods run the
python flavor's control-plane image, which holds every kubeadmpy console script
(`kubeadmpy-dns`, `kubeadmpy-proxy`, `kubeadmpy-flanneld`) and `nft`; with the upstream flavor that image is not
on the nodes, so the step says so and leaves the add-on to the user. With `--dry-run` the
manifest is shown instead of applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubeadmpy.config import kube_proxy_configuration
from kubeadmpy.phases import init_api, init_values
from kubeadmpy.render import cluster_dns_ip
from kubeadmpy.render.addons_dns import DnsAddonValues, parse_dns_addon, render_dns_addon
from kubeadmpy.render.addons_proxy import (
    ProxyAddonValues,
    parse_proxy_addon,
    render_proxy_addon,
)

if TYPE_CHECKING:
    from kubeadmpy.phases.init import InitContext

ObjectsOf = Callable[["InitContext", str], list[dict[str, Any]]]


def addon_image(ctx: InitContext, what: str, tag: str = "addons") -> str | None:
    """The image the add-on's pods run, or None (said why) when this flavor has none."""
    if ctx.bundle.kubeadmpy.control_plane_flavor != "python":
        ctx.out(f"[{tag}] Skipping {what}: kubeadmpy's {what} runs from the python flavor's "
                "control-plane image, which upstream-flavor nodes do not have; install "
                f"upstream's {what} yourself")
        return None
    return init_values.PYTHON_IMAGE


def _name(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj['kind']} {where}{meta['name']}"


def apply(ctx: InitContext, tag: str, objects: list[dict[str, Any]], what: str,
          done: str = "") -> None:
    """Create or update `objects` (in order) as admin, then say `done` (default: that `what`
    was created or updated); with --dry-run only name them."""
    if ctx.dry_run:
        ctx.out(f"[dryrun] [{tag}] Would create or update {what}:")
        for obj in objects:
            ctx.out(f"[dryrun] [{tag}]   {_name(obj)}")
        return
    init_api.apply_objects(ctx, objects)
    ctx.out(done or f"[{tag}] Created or updated {what}")


def kube_proxy_objects(ctx: InitContext, image: str) -> list[dict[str, Any]]:
    values = ProxyAddonValues(
        image=image, server=ctx.pki_settings.cluster_endpoint.url,
        base_config=kube_proxy_configuration(ctx.bundle.cluster),
        user_config=ctx.bundle.kube_proxy)
    return parse_proxy_addon(render_proxy_addon(values).content)


def dns_objects(ctx: InitContext, image: str) -> list[dict[str, Any]]:
    """kubeadm's CoreDNS objects serving with `kubeadmpy-dns`, told where the API server is.

    `kubeadmpy-dns` uses in-cluster credentials, and kubeadmpy's kubelet does not set
    KUBERNETES_SERVICE_HOST/PORT in containers yet (upstream's kubelet always does), so the
    server's container gets them here: the control-plane endpoint, as flanneld's.
    """
    networking = ctx.bundle.cluster.networking
    values = DnsAddonValues(image=image, cluster_ip=cluster_dns_ip(networking.service_subnet),
                            cluster_domain=networking.dns_domain)
    objects = parse_dns_addon(render_dns_addon(values).content)
    endpoint = ctx.pki_settings.cluster_endpoint
    api_env = [{"name": "KUBERNETES_SERVICE_HOST", "value": endpoint.host},
               {"name": "KUBERNETES_SERVICE_PORT", "value": str(endpoint.port)}]
    for obj in objects:
        if obj["kind"] == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                container["env"] = [*api_env, *(container.get("env") or [])]
    return objects


def _install(ctx: InitContext, name: str, objects_of: ObjectsOf, what: str) -> None:
    image = addon_image(ctx, name)
    if image is not None:
        apply(ctx, "addons", objects_of(ctx, image), what,
              done=f"[addons] Applied essential addon: {name}")


def install_kube_proxy(ctx: InitContext) -> None:
    """The `addon/kube-proxy` phase: kubeadm's objects, `kubeadmpy-proxy` on every node."""
    _install(ctx, "kube-proxy", kube_proxy_objects,
             'the kube-proxy objects in namespace "kube-system" (DaemonSet kube-proxy runs '
             "kubeadmpy-proxy, nftables mode, on every node)")


def install_coredns(ctx: InitContext) -> None:
    """The `addon/coredns` phase: kubeadm's objects (Deployment `coredns`, Service `kube-dns`
    at the 10th service IP), answered by `kubeadmpy-dns`."""
    _install(ctx, "CoreDNS", dns_objects,
             'the cluster DNS objects in namespace "kube-system" (Deployment coredns runs '
             "kubeadmpy-dns behind Service kube-dns)")
