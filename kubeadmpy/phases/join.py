"""The `join` workflow: kubeadm's join phases over an explicit context.

A worker join runs `preflight` (checks, then discovery and reading the cluster's configuration
with the bootstrap token), kubeadmpy's `containerd` phase (as in init: kubeadm leaves the runtime
to the user), `kubelet-start` (`join_kubelet`), and `pod-network`, flannel's CNI plugin and
config on this host (the DaemonSet init created runs flanneld here). The control-plane phases are in the tree, as in kubeadm, and run only with
``--control-plane``, which is refused before anything runs: kubeadmpy joins workers only so far.
Discovery and the configuration read happen once, on first use, so `join phase kubelet-start`
alone works too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from kubeadmpy.config import JoinBundle
from kubeadmpy.errors import UserInputError
from kubeadmpy.files import write_file
from kubeadmpy.images import pause_reference
from kubeadmpy.paths import HostPaths
from kubeadmpy.phases import apiclient, discovery, join_kubelet, node_runtime, pod_network
from kubeadmpy.phases.discovery import DiscoveredCluster, TokenDiscovery
from kubeadmpy.phases.join_kubelet import ClusterSettings
from kubeadmpy.phases.preflight import join_checks
from kubeadmpy.phases.preflight.from_config import ignore_list, join_context
from kubeadmpy.phases.workflow import Phase, Workflow
from kubeadmpy.render import parse_kubernetes_version, render_kubelet

Printer = Callable[[str], None]

JOINED_TEXT = (
    "\nThis node has joined the cluster:\n"
    "* Certificate signing request was sent to apiserver and a response was received.\n"
    "* The Kubelet was informed of the new secure connection details.\n\n"
    "Run 'kubectl get nodes' on the control-plane to see this node join the cluster.\n"
)


@dataclass
class JoinContext:
    """Everything the join phases read; built once by the CLI from flags and --config."""

    bundle: JoinBundle
    paths: HostPaths
    dry_run: bool = False
    ignore_preflight_errors: list[str] = field(default_factory=list)
    out: Printer = print
    skip_phases: list[str] = field(default_factory=list)
    _discovered: DiscoveredCluster | None = None
    _settings: ClusterSettings | None = None
    _tls_token: str = ""
    joined: bool = False  # the kubelet did its TLS bootstrap and the Node exists

    @property
    def node_name(self) -> str:
        return self.bundle.join.node_registration.name

    @property
    def flavor(self) -> str:
        return self.bundle.kubeadmpy.control_plane_flavor

    def discovered(self) -> DiscoveredCluster:
        """The cluster found by discovery (run on first use; reads only)."""
        if self._discovered is None:
            self._discovered, self._tls_token = _discover(self)
        return self._discovered

    @property
    def tls_bootstrap_token(self) -> str:
        self.discovered()
        return self._tls_token

    def settings(self) -> ClusterSettings:
        """The cluster's ClusterConfiguration and KubeletConfiguration (read on first use)."""
        if self._settings is None:
            cluster, token = self.discovered(), self.tls_bootstrap_token
            self.out('[preflight] Reading configuration from the "kubeadm-config" ConfigMap in '
                     'namespace "kube-system"...')
            self._settings = apiclient.run(
                lambda: join_kubelet.read_cluster_settings(cluster, token))
        return self._settings

    def node_setup(self) -> node_runtime.NodeSetup:
        cluster = self.settings().cluster
        version = parse_kubernetes_version(cluster.kubernetes_version)
        return node_runtime.NodeSetup(
            paths=self.paths,
            flavor=self.flavor,
            pause_image=pause_reference(version.pause_image_tag),
            image_repository=cluster.image_repository,
            dry_run=self.dry_run,
            out=self.out,
        )


def _timeout(ctx: JoinContext, name: str, default: float) -> float:
    timeouts = ctx.bundle.join.timeouts
    value = getattr(timeouts, name, None) if timeouts else None
    return value.total_seconds() if value else default


def _discover(ctx: JoinContext) -> tuple[DiscoveredCluster, str]:
    found = ctx.bundle.join.discovery
    token = found.bootstrap_token
    if token is not None:
        settings = TokenDiscovery(
            endpoint=token.api_server_endpoint,
            token=token.token,
            ca_cert_hashes=tuple(token.ca_cert_hashes),
            unsafe_skip_ca_verification=token.unsafe_skip_ca_verification,
            timeout_seconds=_timeout(ctx, "discovery", 300.0),
        )
        cluster = apiclient.run(lambda: discovery.discover_with_token(settings, ctx.out))
        return cluster, found.tls_bootstrap_token or token.token
    assert found.file is not None  # validation: exactly one of bootstrapToken and file
    cluster, file_token = discovery.discover_with_file(found.file.kube_config_path, ctx.out)
    tls_token = found.tls_bootstrap_token or file_token
    if not tls_token:
        raise UserInputError(
            "--tls-bootstrap-token",
            f"is needed: the discovery file {found.file.kube_config_path} has no token",
            "Pass --tls-bootstrap-token <id>.<secret> (kubeadmpy token create on the control "
            "plane makes one)",
        )
    return cluster, tls_token


def check_supported(bundle: JoinBundle) -> None:
    """Refuse what kubeadmpy cannot do yet before any phase runs (nothing is written)."""
    if bundle.join.control_plane is not None:
        raise UserInputError(
            "--control-plane",
            "joining a control-plane node is not supported yet",
            "Join this machine as a worker (drop --control-plane, --certificate-key, "
            "--apiserver-advertise-address and --apiserver-bind-port), or run "
            "'kubeadmpy init' on it to start a separate cluster",
        )


# --- phases ------------------------------------------------------------------------------------


def run_preflight_checks(ctx: JoinContext) -> None:
    join = ctx.bundle.join
    node_runtime.run_node_preflight(
        join_checks(join_context(join, ctx.paths), control_plane=False),
        ignore_list(ctx.ignore_preflight_errors, join.node_registration),
        containerd_phase_runs="containerd" not in ctx.skip_phases,
        dry_run=ctx.dry_run,
        out=ctx.out,
        command="join",
    )
    ctx.settings()
    cluster, token = ctx.discovered(), ctx.tls_bootstrap_token
    # kubeadm checks this in kubelet-start; here it is checked before anything is changed.
    apiclient.run(lambda: join_kubelet.check_node_name_free(cluster, token, ctx.node_name))


def start_containerd(ctx: JoinContext) -> None:
    node_runtime.start_containerd(ctx.node_setup())


def import_images(ctx: JoinContext) -> None:
    node_runtime.import_images(ctx.node_setup())


def _write(ctx: JoinContext, logical: PurePosixPath, what: str) -> None:
    ctx.out(f'[kubelet-start] {what} "{logical}"')


def start_kubelet(ctx: JoinContext) -> None:
    join, cluster = ctx.bundle.join, ctx.discovered()
    settings = ctx.settings()
    token = ctx.tls_bootstrap_token
    apiclient.run(lambda: join_kubelet.check_node_name_free(cluster, token, ctx.node_name))
    kubeconfig = discovery.bootstrap_kubeconfig(cluster, token)
    for logical in join_kubelet.write_credentials(ctx.paths, join.ca_cert_path, kubeconfig,
                                                  cluster.ca_pem):
        _write(ctx, logical, "Writing")
    values = join_kubelet.kubelet_values(join, settings, ctx.flavor)
    for logical, rendered in sorted(render_kubelet(values).items()):
        write_file(ctx.paths.host(logical), rendered.content, mode=rendered.mode, dir_mode=0o755)
        what = ("Writing kubelet configuration to file" if logical.name == "config.yaml"
                else "Writing kubelet environment file with flags to file")
        _write(ctx, logical, what)
        for warning in rendered.warnings:
            ctx.out(f"[kubelet-start] WARNING: {warning}")
    if ctx.dry_run:
        ctx.out("[dryrun] Would start the kubelet and wait for its TLS bootstrap")
        return
    if not node_runtime.restart_kubelet(ctx.node_setup()):
        return
    ctx.out("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
    seconds = join_kubelet.wait_for_tls_bootstrap(
        ctx.paths, ctx.node_name, _timeout(ctx, "tls_bootstrap", 300.0),
        node_runtime.kubelet_log_hint(ctx.paths),
    )
    ctx.out(f"[kubelet-start] The kubelet got its client certificate and registered Node "
            f"{ctx.node_name} in {seconds:.1f}s")
    ctx.joined = True
    ctx.paths.host(join_kubelet.BOOTSTRAP_KUBELET_CONF).unlink(missing_ok=True)


def write_pod_network(ctx: JoinContext) -> None:
    """The host half of flannel on this node; the kube-flannel DaemonSet init created brings
    kubeadmpy-flanneld here once the node registers. The flanneld pod runs the python flavor's
    control-plane image, which an upstream-flavor node does not import."""
    if ctx.flavor != "python":
        ctx.out("[pod-network] Skipping flannel: kubeadmpy's flanneld runs from the python "
                "flavor's control-plane image, which upstream-flavor nodes do not have; install "
                "upstream's flannel yourself")
        return
    pod_network.install_node_cni(pod_network.NodeNetwork(
        paths=ctx.paths, pod_subnet=ctx.settings().cluster.networking.pod_subnet, out=ctx.out))


def _control_plane(ctx: JoinContext) -> bool:
    return ctx.bundle.join.control_plane is not None


def _not_supported(ctx: JoinContext) -> None:
    check_supported(ctx.bundle)


def _cp(name: str, short: str) -> Phase[JoinContext]:
    return Phase(name, short, run=_not_supported, run_if=_control_plane)


JOIN_PHASES: tuple[Phase[JoinContext], ...] = (
    Phase("preflight", "Run join pre-flight checks", run=run_preflight_checks),
    Phase(
        "control-plane-prepare",
        "Prepare the machine for serving a control plane",
        run_if=_control_plane,
        children=(
            _cp("download-certs", "Download certificates shared among control-plane nodes"),
            _cp("certs", "Generate the certificates for the new control plane components"),
            _cp("kubeconfig", "Generate the kubeconfig for the new control plane components"),
            _cp("control-plane", "Generate the manifests for the new control plane components"),
        ),
    ),
    Phase(
        "containerd",
        "Configure and start containerd, and make the node images present",
        children=(
            Phase("start", "Write containerd's config and start it", run=start_containerd),
            Phase("images", "Build and import the local images (python flavor)",
                  run=import_images),
        ),
    ),
    Phase("kubelet-start", "Write kubelet settings, certificates and (re)start the kubelet",
          run=start_kubelet),
    Phase(
        "control-plane-join",
        "Join a machine as a control plane instance",
        run_if=_control_plane,
        children=(
            _cp("etcd", "Add a new local etcd member"),
            _cp("mark-control-plane", "Mark a node as a control-plane"),
        ),
    ),
    _cp("wait-control-plane", "Wait for the control plane to start"),
    Phase("pod-network", "Install flannel's CNI plugin and config on this node",
          run=write_pod_network),
)


def join_workflow() -> Workflow[JoinContext]:
    return Workflow("join", JOIN_PHASES)
