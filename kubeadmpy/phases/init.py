"""The `init` workflow: kubeadm's phases, in kubeadm's order, over an explicit context.

File phases (certs, kubeconfig, etcd, control-plane) write what kubeadm writes; with
`secretsEncryption` enabled, control-plane/apiserver first writes the apiserver's
EncryptionConfiguration (`encryption`). containerd and kubelet-start make this machine a node
(`node_runtime`); the API phases (`init_api`) wait for the static pods' API server and store
kubeadm's objects; `addon/kube-proxy` installs kube-proxy as kubeadm does, running
`kubeadmpy-proxy` (`addons`). kubeadmpy adds two phases of its own: the containerd set-up
(kubeadm leaves the runtime to the user) and `pod-network`, flannel as kube-flannel.yml installs
it — the CNI plugin and conflist on this host, the kube-flannel DaemonSet in the cluster
(`pod_network`). ``--dry-run`` describes every step instead of taking it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kubeadmpy import pki
from kubeadmpy.config import InitBundle
from kubeadmpy.files import write_file
from kubeadmpy.paths import KUBERNETES_DIR, HostPaths
from kubeadmpy.phases import (
    addons,
    encryption,
    init_api,
    init_values,
    node_runtime,
    pod_network,
)
from kubeadmpy.phases.preflight import init_checks
from kubeadmpy.phases.preflight.from_config import ignore_list, init_context
from kubeadmpy.phases.workflow import Phase, Workflow
from kubeadmpy.render import (
    RenderedFile,
    manifest_path,
    render_etcd,
    render_kubelet,
    render_static_pod,
)

Printer = Callable[[str], None]


@dataclass
class InitContext:
    """Everything the init phases read; built once by the CLI from flags and --config."""

    bundle: InitBundle
    paths: HostPaths
    dry_run: bool = False
    ignore_preflight_errors: list[str] = field(default_factory=list)
    out: Printer = print
    skip_phases: list[str] = field(default_factory=list)
    kubelet_started: bool = False
    cluster_admins_bound: bool = False
    _pki: pki.PKISettings | None = None

    @property
    def pki_settings(self) -> pki.PKISettings:
        if self._pki is None:
            self._pki = init_values.pki_settings(self.bundle)
        return self._pki

    @property
    def cert_dir(self) -> Path:
        return self.paths.host(self.bundle.cluster.certificates_dir)

    @property
    def token(self) -> str:
        tokens = self.bundle.init.bootstrap_tokens
        return tokens[0].token if tokens else ""


# --- file phases -------------------------------------------------------------------------------


def run_preflight_checks(ctx: InitContext) -> None:
    checks = init_checks(init_context(ctx.bundle.init, ctx.bundle.cluster, ctx.paths))
    node_runtime.run_node_preflight(
        checks,
        ignore_list(ctx.ignore_preflight_errors, ctx.bundle.init.node_registration),
        containerd_phase_runs="containerd" not in ctx.skip_phases,
        dry_run=ctx.dry_run,
        out=ctx.out,
        command="init",
    )


def _cert_phase(name: str) -> Callable[[InitContext], None]:
    def run(ctx: InitContext) -> None:
        for result in pki.ensure_certs(ctx.pki_settings, ctx.cert_dir, [name]):
            for line in (*result.warnings, *result.messages):
                ctx.out(f"[certs] {line}")

    return run


def _announce_cert_dir(ctx: InitContext) -> None:
    ctx.out(f'[certs] Using certificateDir folder "{ctx.bundle.cluster.certificates_dir}"')


def _kubeconfig_phase(name: str) -> Callable[[InitContext], None]:
    def run(ctx: InitContext) -> None:
        kube_dir = ctx.paths.host(KUBERNETES_DIR)
        for result in pki.ensure_kubeconfigs(ctx.pki_settings, ctx.cert_dir, kube_dir, [name]):
            for line in (*result.warnings, *result.messages):
                ctx.out(f"[kubeconfig] {line}")

    return run


def _write(
    ctx: InitContext, tag: str, files: Mapping[PurePosixPath, RenderedFile], what: str
) -> None:
    for logical, rendered in sorted(files.items()):
        write_file(ctx.paths.host(logical), rendered.content, mode=rendered.mode, dir_mode=0o755)
        ctx.out(f'[{tag}] {what} "{logical}"')
        for warning in rendered.warnings:
            ctx.out(f"[{tag}] WARNING: {warning}")


def write_etcd_manifest(ctx: InitContext) -> None:
    values = init_values.control_plane_values(ctx.bundle, ctx.paths)
    files = render_etcd(values)
    if not files:
        ctx.out("[etcd] External etcd mode: skipping the local etcd static pod")
        return
    local = ctx.bundle.cluster.etcd.local
    assert local is not None
    ctx.paths.host(local.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    _write(ctx, "etcd", files, "Creating static Pod manifest for local etcd in")


def _control_plane_phase(component: str) -> Callable[[InitContext], None]:
    def run(ctx: InitContext) -> None:
        values = init_values.control_plane_values(ctx.bundle, ctx.paths)
        files = {manifest_path(component): render_static_pod(component, values)}
        _write(ctx, "control-plane", files, f'Creating static Pod manifest for "{component}" at')

    return run


def write_api_server_manifest(ctx: InitContext) -> None:
    """The kube-apiserver manifest, after the EncryptionConfiguration it may point at."""
    encryption.ensure_encryption_config(ctx)
    _control_plane_phase("kube-apiserver")(ctx)


def start_kubelet(ctx: InitContext) -> None:
    files = render_kubelet(init_values.kubelet_values(ctx.bundle))
    _write(ctx, "kubelet-start", files, "Writing kubelet file")
    if ctx.dry_run:
        ctx.out("[dryrun] Would start the kubelet")
        return
    node_runtime.start_kubelet_process(ctx)


# --- after the files ---------------------------------------------------------------------------


def show_join_command(ctx: InitContext) -> None:
    ca_pem = (ctx.cert_dir / "ca.crt").read_bytes()
    endpoint = ctx.pki_settings.cluster_endpoint
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    ctx.out(
        "\nYour Kubernetes control-plane has initialized successfully!\n\n"
        "To start using your cluster, you need to run the following as a regular user:\n\n"
        "  mkdir -p $HOME/.kube\n"
        "  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n"
        "  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n"
        "Then you can join any number of worker nodes by running the following on each as root:\n\n"
        f"kubeadmpy join {host}:{endpoint.port} --token {ctx.token} \\\n"
        f"\t--discovery-token-ca-cert-hash {pki.ca_cert_hash(ca_pem)}"
    )


def _has_local_etcd(ctx: InitContext) -> bool:
    return ctx.bundle.cluster.etcd.external is None


def _uploads_certs(ctx: InitContext) -> bool:
    return ctx.bundle.upload_certs


def _dns_enabled(ctx: InitContext) -> bool:
    return not ctx.bundle.cluster.dns.disabled


def _proxy_enabled(ctx: InitContext) -> bool:
    return not ctx.bundle.cluster.proxy.disabled


CERT_HELP = {
    "ca": "Generate the self-signed Kubernetes CA to provision identities for other Kubernetes components",
    "apiserver": "Generate the certificate for serving the Kubernetes API",
    "apiserver-kubelet-client": "Generate the certificate for the API server to connect to kubelet",
    "front-proxy-ca": "Generate the self-signed CA to provision identities for front proxy",
    "front-proxy-client": "Generate the certificate for the front proxy client",
    "etcd-ca": "Generate the self-signed CA to provision identities for etcd",
    "etcd-server": "Generate the certificate for serving etcd",
    "etcd-peer": "Generate the certificate for etcd nodes to communicate with each other",
    "etcd-healthcheck-client": "Generate the certificate for liveness probes to healthcheck etcd",
    "apiserver-etcd-client": "Generate the certificate the apiserver uses to access etcd",
    "sa": "Generate a private key for signing service account tokens along with its public key",
}

KUBECONFIG_HELP = {
    "admin": "Generate a kubeconfig file for the admin to use and for kubeadmpy itself",
    "super-admin": "Generate a kubeconfig file for the super-admin",
    "kubelet": "Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes",
    "controller-manager": "Generate a kubeconfig file for the controller manager to use",
    "scheduler": "Generate a kubeconfig file for the scheduler to use",
}

ETCD_CERTS = (
    "etcd-ca",
    "etcd-server",
    "etcd-peer",
    "etcd-healthcheck-client",
    "apiserver-etcd-client",
)


def _cert_phases() -> tuple[Phase[InitContext], ...]:
    return tuple(
        Phase(
            name,
            CERT_HELP[name],
            run=_cert_phase(name),
            run_if=_has_local_etcd if name in ETCD_CERTS else None,
        )
        for name in CERT_HELP
    )


INIT_PHASES: tuple[Phase[InitContext], ...] = (
    Phase("preflight", "Run pre-flight checks", run=run_preflight_checks),
    Phase("certs", "Certificate generation", run=_announce_cert_dir, children=_cert_phases()),
    Phase(
        "kubeconfig",
        "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file",
        children=tuple(
            Phase(name, text, run=_kubeconfig_phase(name)) for name, text in KUBECONFIG_HELP.items()
        ),
    ),
    Phase(
        "etcd",
        "Generate static Pod manifest file for local etcd",
        children=(
            Phase(
                "local",
                "Generate the static Pod manifest file for a local, single-node local etcd instance",
                run=write_etcd_manifest,
                run_if=_has_local_etcd,
            ),
        ),
    ),
    Phase(
        "control-plane",
        "Generate all static Pod manifest files necessary to establish the control plane",
        children=(
            Phase(
                "apiserver",
                "Generates the kube-apiserver static Pod manifest",
                run=write_api_server_manifest,
            ),
            Phase(
                "controller-manager",
                "Generates the kube-controller-manager static Pod manifest",
                run=_control_plane_phase("kube-controller-manager"),
            ),
            Phase(
                "scheduler",
                "Generates the kube-scheduler static Pod manifest",
                run=_control_plane_phase("kube-scheduler"),
            ),
        ),
    ),
    Phase(
        "containerd",
        "Configure and start containerd, and make the control-plane images present",
        children=(
            Phase(
                "start", "Write containerd's config and start it", run=node_runtime.setup_containerd
            ),
            Phase(
                "images",
                "Build and import the local images (python flavor)",
                run=node_runtime.pull_images,
            ),
        ),
    ),
    Phase("kubelet-start", "Write kubelet settings and (re)start the kubelet", run=start_kubelet),
    Phase(
        "wait-control-plane",
        "Wait for the control plane to start",
        run=init_api.wait_control_plane,
        needs_control_plane=True,
    ),
    Phase(
        "upload-config",
        "Upload the kubeadm and kubelet configuration to a ConfigMap",
        needs_control_plane=True,
        children=(
            Phase(
                "kubeadm",
                "Upload the kubeadm ClusterConfiguration to a ConfigMap",
                run=init_api.upload_kubeadm_config,
                needs_control_plane=True,
            ),
            Phase(
                "kubelet",
                "Upload the kubelet component config to a ConfigMap",
                run=init_api.upload_kubelet_config,
                needs_control_plane=True,
            ),
        ),
    ),
    Phase(
        "upload-certs",
        "Upload certificates to kubeadm-certs",
        run=init_api.upload_certs,
        run_if=_uploads_certs,
        needs_control_plane=True,
    ),
    Phase(
        "mark-control-plane",
        "Mark a node as a control-plane",
        run=init_api.mark_control_plane,
        needs_control_plane=True,
    ),
    Phase(
        "pod-network",
        "Install flannel: the CNI plugin and config on this node, the kube-flannel DaemonSet",
        run=pod_network.write_pod_network,
        needs_control_plane=True,
    ),
    Phase(
        "bootstrap-token",
        "Generates bootstrap tokens used to join a node to a cluster",
        run=init_api.bootstrap_token,
        needs_control_plane=True,
    ),
    Phase(
        "kubelet-finalize",
        "Updates settings relevant to the kubelet after TLS bootstrap",
        run=init_api.kubelet_finalize,
        needs_control_plane=True,
    ),
    Phase(
        "addon",
        "Install required addons for passing conformance tests",
        needs_control_plane=True,
        children=(
            Phase(
                "coredns",
                "Install the CoreDNS addon to a Kubernetes cluster",
                run=addons.install_coredns,
                run_if=_dns_enabled,
                needs_control_plane=True,
            ),
            Phase(
                "kube-proxy",
                "Install the kube-proxy addon to a Kubernetes cluster",
                run=addons.install_kube_proxy,
                run_if=_proxy_enabled,
                needs_control_plane=True,
            ),
        ),
    ),
    Phase(
        "show-join-command",
        "Show the join command for control-plane and worker node",
        run=show_join_command,
    ),
)


def init_workflow() -> Workflow[InitContext]:
    return Workflow("init", INIT_PHASES)
