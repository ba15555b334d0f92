"""init's add-on steps: kube-proxy (`addon/kube-proxy`) and flannel's objects (for `pod-network`).

kubeadm's addon phases create their objects with the admin client, create-or-update, so a
second `init phase addon kube-proxy` updates what the first made. The add-on pods run the
python flavor's control-plane image, which holds every kubeadmpy console script
(`kubeadmpy-proxy`, `kubeadmpy-flanneld`) and `nft`; with the upstream flavor that image is not
on the nodes, so the step says so and leaves the add-on to the user. With `--dry-run` the
manifest is shown instead of applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubeadmpy.config import kube_proxy_configuration
from kubeadmpy.phases import init_api, init_values
from kubeadmpy.render.addons_proxy import (
    ProxyAddonValues,
    parse_proxy_addon,
    render_proxy_addon,
)

if TYPE_CHECKING:
    from kubeadmpy.phases.init import InitContext


def addon_image(ctx: InitContext, what: str) -> str | None:
    """The image the add-on's pods run, or None (said why) when this flavor has none."""
    if ctx.bundle.kubeadmpy.control_plane_flavor != "python":
        ctx.out(f"[addons] Skipping {what}: kubeadmpy's {what} runs from the python flavor's "
                "control-plane image, which upstream-flavor nodes do not have; install "
                f"upstream's {what} yourself")
        return None
    return init_values.PYTHON_IMAGE


def _name(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj['kind']} {where}{meta['name']}"


def apply(ctx: InitContext, tag: str, objects: list[dict[str, Any]], what: str) -> None:
    """Create or update `objects` (in order) as admin; with --dry-run only name them."""
    if ctx.dry_run:
        ctx.out(f"[dryrun] [{tag}] Would create or update {what}:")
        for obj in objects:
            ctx.out(f"[dryrun] [{tag}]   {_name(obj)}")
        return
    init_api.apply_objects(ctx, objects)
    ctx.out(f"[{tag}] Created or updated {what}")


def kube_proxy_objects(ctx: InitContext, image: str) -> list[dict[str, Any]]:
    values = ProxyAddonValues(
        image=image, server=ctx.pki_settings.cluster_endpoint.url,
        base_config=kube_proxy_configuration(ctx.bundle.cluster),
        user_config=ctx.bundle.kube_proxy)
    return parse_proxy_addon(render_proxy_addon(values).content)


def install_kube_proxy(ctx: InitContext) -> None:
    """The `addon/kube-proxy` phase: kubeadm's objects, `kubeadmpy-proxy` on every node."""
    image = addon_image(ctx, "kube-proxy")
    if image is None:
        return
    apply(ctx, "addons", kube_proxy_objects(ctx, image),
          'the kube-proxy objects in namespace "kube-system" (DaemonSet kube-proxy runs '
          "kubeadmpy-proxy, nftables mode, on every node)")
    if not ctx.dry_run:
        ctx.out("[addons] Applied essential addon: kube-proxy")
