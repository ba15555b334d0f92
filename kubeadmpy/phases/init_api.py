"""The init phases that talk to the new cluster's API server, as kubeadm's.

Each phase runs one coroutine with an admin client (see `apiclient`). In `--dry-run` they say
what they would do instead. Objects come from `cluster_objects`, so names and contents are
kubeadm's.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import yaml

from kubeadmpy import pki
from kubeadmpy.client import Client, PatchType, errors
from kubeadmpy.config import cluster_configuration_yaml, generate_token, v1beta4
from kubeadmpy.errors import KubeadmpyError, NeedsControlPlaneError
from kubeadmpy.files import write_file
from kubeadmpy.paths import KUBELET_DIR, KUBERNETES_DIR
from kubeadmpy.phases import apiclient, cluster_objects, diagnosis, init_values
from kubeadmpy.render.kubelet import kubelet_configuration

if TYPE_CHECKING:
    from kubeadmpy.phases.init import InitContext

DEFAULT_HEALTH_TIMEOUT = timedelta(minutes=4)
KUBELET_HEALTHZ = ("127.0.0.1", 10248)
UPLOAD_CERTS_TOKEN_TTL = timedelta(hours=2)
KUBELET_CLIENT_CURRENT = KUBELET_DIR / "pki" / "kubelet-client-current.pem"


def _dry(ctx: InitContext, tag: str, what: str) -> bool:
    if ctx.dry_run:
        ctx.out(f"[dryrun] [{tag}] Would {what}")
    return ctx.dry_run


def _admin(ctx: InitContext) -> Client:
    return apiclient.admin_client(ctx.paths)


async def _ensure_admin_rights(ctx: InitContext) -> None:
    if not ctx.cluster_admins_bound:
        await apiclient.ensure_cluster_admins(ctx.paths)
        ctx.cluster_admins_bound = True


# --- wait-control-plane ------------------------------------------------------------------------


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


async def _livez(client: Client) -> str | None:
    """None when the API server says it is live, else why not."""
    try:
        answer = await client.request("GET", "/livez")
    except (TimeoutError, errors.APIError, OSError) as exc:
        text = str(exc) or type(exc).__name__
        if "ConnectionRefused" in text or "Connect call failed" in text:
            return f"connection refused at {client.config.server}"
        return text[:300]
    return None if str(answer).strip() in ("ok", "{}") or answer == {} else f"answered {answer!r}"


def wait_control_plane(ctx: InitContext) -> None:
    if _dry(ctx, "wait-control-plane", "wait for the API server to answer /livez"):
        return
    timeouts = ctx.bundle.init.timeouts
    limit = (
        timeouts.control_plane_component_health_check if timeouts else None
    ) or DEFAULT_HEALTH_TIMEOUT
    ctx.out(
        "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static "
        'Pods from directory "/etc/kubernetes/manifests"'
    )
    ctx.out(f"[api-check] Waiting for a healthy API server. This can take up to {limit}")

    registration = ctx.bundle.init.node_registration

    async def wait() -> float:
        started = time.monotonic()
        async with _admin(ctx) as client:
            while True:
                problem = await _livez(client)
                if problem is None:
                    return time.monotonic() - started
                if not ctx.kubelet_started and not _port_answers(*KUBELET_HEALTHZ):
                    raise NeedsControlPlaneError(
                        f"the API server does not answer ({problem}) and no kubelet runs on this "
                        "machine to start the static pods in /etc/kubernetes/manifests. The files "
                        "are in place; `kubeadmpy reset` removes them"
                    )
                if ctx.kubelet_started and (stopped := diagnosis.kubelet_stopped(ctx.paths)):
                    raise KubeadmpyError(
                        "[wait-control-plane] the kubelet exited before the API server became "
                        f"healthy ({problem}):\n{stopped}"
                    )
                if time.monotonic() - started > limit.total_seconds():
                    found = await diagnosis.control_plane_diagnosis(
                        ctx.paths,
                        registration.name,
                        registration.cri_socket or diagnosis.DEFAULT_RUNTIME_ENDPOINT,
                    )
                    raise KubeadmpyError(
                        f"[wait-control-plane] the API server did not become healthy within "
                        f"{limit} ({problem}). What the container runtime shows:\n{found}"
                    )
                await asyncio.sleep(0.25)

    elapsed = apiclient.run(wait)
    ctx.out(f"[api-check] The API server is healthy after {elapsed:.3f}s")


# --- upload-config -----------------------------------------------------------------------------


def upload_kubeadm_config(ctx: InitContext) -> None:
    if _dry(ctx, "upload-config", "create ConfigMap kube-system/kubeadm-config and its Role"):
        return
    ctx.out(
        '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the '
        '"kube-system" Namespace'
    )
    objects = cluster_objects.kubeadm_config(cluster_configuration_yaml(ctx.bundle.cluster))
    _apply(ctx, objects)


def upload_kubelet_config(ctx: InitContext) -> None:
    if _dry(ctx, "upload-config", "create ConfigMap kube-system/kubelet-config and its Role"):
        return
    ctx.out(
        '[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the '
        "configuration for the kubelets in the cluster"
    )
    kubelet, _ = kubelet_configuration(init_values.kubelet_values(ctx.bundle))
    _apply(ctx, cluster_objects.kubelet_config(kubelet))


def _apply(ctx: InitContext, objects: list[dict[str, Any]]) -> None:
    async def go() -> None:
        await _ensure_admin_rights(ctx)
        async with _admin(ctx) as client:
            await apiclient.apply_all(client, objects)

    apiclient.run(go)


# --- upload-certs ------------------------------------------------------------------------------

SHARED_CERT_FILES = (
    "ca.crt",
    "ca.key",
    "front-proxy-ca.crt",
    "front-proxy-ca.key",
    "sa.pub",
    "sa.key",
    "etcd/ca.crt",
    "etcd/ca.key",
)


def upload_certs(ctx: InitContext) -> None:
    if _dry(ctx, "upload-certs", "create the encrypted Secret kube-system/kubeadm-certs"):
        return
    key = ctx.bundle.init.certificate_key or pki.certificate_key()
    files = {}
    for name in SHARED_CERT_FILES:
        if name.startswith("etcd/") and ctx.bundle.cluster.etcd.external is not None:
            continue
        path = ctx.cert_dir / name
        plain = path.read_bytes() if path.exists() else b""
        files[name.replace("/", "-")] = (
            pki.encrypt_with_certificate_key(plain, key) if plain else b""
        )
    owner_token = v1beta4.BootstrapToken(
        token=generate_token(),
        ttl=UPLOAD_CERTS_TOKEN_TTL,
        description="Proxy for managing TTL for the kubeadm-certs secret",
    )

    async def go() -> None:
        await _ensure_admin_rights(ctx)
        async with _admin(ctx) as client:
            owner = await apiclient.create_or_update(
                client, cluster_objects.bootstrap_token_secret(owner_token, datetime.now(UTC))
            )
            await apiclient.apply_all(client, cluster_objects.kubeadm_certs_secret(files, owner))

    apiclient.run(go)
    ctx.out(
        '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the '
        '"kube-system" Namespace'
    )
    ctx.out(f"[upload-certs] Using certificate key:\n{key}")


# --- mark-control-plane ------------------------------------------------------------------------


def mark_control_plane(ctx: InitContext) -> None:
    registration = ctx.bundle.init.node_registration
    if _dry(ctx, "mark-control-plane", f"label and taint the Node {registration.name}"):
        return
    taints = registration.taints or []
    ctx.out(
        f"[mark-control-plane] Marking the node {registration.name} as control-plane by "
        f"adding the labels: [{cluster_objects.CONTROL_PLANE_LABEL} "
        f"{cluster_objects.EXCLUDE_LB_LABEL}]"
    )
    if taints:
        shown = " ".join(f"{t.key}:{t.effect}" for t in taints)
        ctx.out(
            f"[mark-control-plane] Marking the node {registration.name} as control-plane "
            f"by adding the taints [{shown}]"
        )

    async def go() -> None:
        await _ensure_admin_rights(ctx)
        async with _admin(ctx) as client:
            deadline = time.monotonic() + api_timeout(ctx).total_seconds()
            while True:
                try:
                    node = await client.get("nodes", registration.name)
                    break
                except errors.NotFound:
                    if time.monotonic() > deadline:
                        raise KubeadmpyError(
                            f"[mark-control-plane] Node {registration.name!r} did not register "
                            "with the API server; is the kubelet running?"
                        ) from None
                    await asyncio.sleep(0.5)
            patch = cluster_objects.control_plane_node_patch(node, taints)
            await client.patch("nodes", registration.name, patch, patch_type=PatchType.MERGE)

    apiclient.run(go)


def api_timeout(ctx: InitContext) -> timedelta:
    timeouts = ctx.bundle.init.timeouts
    return (timeouts.kubelet_health_check if timeouts else None) or DEFAULT_HEALTH_TIMEOUT


# --- bootstrap-token ---------------------------------------------------------------------------


def bootstrap_token(ctx: InitContext) -> None:
    tokens = ctx.bundle.init.bootstrap_tokens
    if _dry(
        ctx,
        "bootstrap-token",
        "create bootstrap token Secrets, their RBAC and the cluster-info ConfigMap",
    ):
        return
    for token in tokens:
        ctx.out(f"[bootstrap-token] Using token: {token.token}")
    ctx.out("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
    ca_pem = (ctx.cert_dir / "ca.crt").read_bytes()
    server = ctx.pki_settings.cluster_endpoint.url
    token_groups = {group for token in tokens for group in token.groups}
    objects = [
        *(cluster_objects.bootstrap_token_secret(t, datetime.now(UTC)) for t in tokens),
        *cluster_objects.bootstrap_rbac(token_groups or {cluster_objects.DEFAULT_NODE_TOKEN_GROUP}),
        *cluster_objects.cluster_info(ca_pem, server),
    ]
    _apply(ctx, objects)
    ctx.out(
        "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs "
        "in order for nodes to get long term certificate credentials"
    )
    ctx.out(
        '[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace'
    )


# --- kubelet-finalize --------------------------------------------------------------------------


def kubelet_finalize(ctx: InitContext) -> None:
    """Point kubelet.conf at the rotating client certificate once the kubelet has one."""
    current = ctx.paths.host(KUBELET_CLIENT_CURRENT)
    kubelet_conf = ctx.paths.host(KUBERNETES_DIR / "kubelet.conf")
    if not current.exists() or not kubelet_conf.exists():
        ctx.out(
            f"[kubelet-finalize] {KUBELET_CLIENT_CURRENT} does not exist yet; kubelet.conf "
            "keeps its embedded client certificate"
        )
        return
    if _dry(ctx, "kubelet-finalize", f"point kubelet.conf at {KUBELET_CLIENT_CURRENT}"):
        return
    config = yaml.safe_load(kubelet_conf.read_text())
    for user in config.get("users") or []:
        entry = user.get("user") or {}
        entry.pop("client-certificate-data", None)
        entry.pop("client-key-data", None)
        entry["client-certificate"] = str(KUBELET_CLIENT_CURRENT)
        entry["client-key"] = str(KUBELET_CLIENT_CURRENT)
        user["user"] = entry
    write_file(kubelet_conf, yaml.safe_dump(config, sort_keys=False), mode=0o600)
    ctx.out(
        '[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable '
        "kubelet client certificate and key"
    )


# --- addon -------------------------------------------------------------------------------------


def apply_objects(ctx: InitContext, objects: list[dict[str, Any]]) -> None:
    """Create or update `objects` in order as admin (the add-on phases' step)."""
    _apply(ctx, objects)
