"""Loading the configuration for `init`, `join` and `reset`: file + flags → defaulted, validated.

This is the one entry point the rest of kubeadmpy uses. Order, as in kubeadm: refuse config-bound
flags next to --config, decode the file strictly, let flags override, fill defaults, validate
everything and report all problems at once. A problem in a value that came from a flag is
reported under that flag (`--pod-network-cidr`), otherwise under the document and field.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeadmpy.config import defaults, documents, v1alpha1, v1beta4, validation
from kubeadmpy.config.codec import FieldProblem
from kubeadmpy.config.documents import ConfigProblemsError, ParsedConfig
from kubeadmpy.config.flags import (
    COMMAND_LINE,
    FLAG_FIELDS,
    InitFlags,
    JoinFlags,
    ResetFlags,
    apply_init_flags,
    apply_join_flags,
    apply_reset_flags,
    check_mixed_arguments,
    flag_name,
    given,
)
from kubeadmpy.config.netutil import NodeFacts, detect_node_facts
from kubeadmpy.errors import ConfigError

_INIT, _CLUSTER = v1beta4.InitConfiguration.KIND, v1beta4.ClusterConfiguration.KIND
_JOIN, _RESET = v1beta4.JoinConfiguration.KIND, v1beta4.ResetConfiguration.KIND
_KUBEADMPY = v1alpha1.KubeadmpyConfiguration.KIND


@dataclass
class InitBundle:
    """Everything `init` needs from configuration, defaulted and validated."""

    init: v1beta4.InitConfiguration
    cluster: v1beta4.ClusterConfiguration
    kubeadmpy: v1alpha1.KubeadmpyConfiguration
    kubelet: dict[str, Any] | None = None  # KubeletConfiguration document, raw
    kube_proxy: dict[str, Any] | None = None  # KubeProxyConfiguration document, raw
    upload_certs: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class JoinBundle:
    join: v1beta4.JoinConfiguration
    kubeadmpy: v1alpha1.KubeadmpyConfiguration
    kubelet: dict[str, Any] | None = None
    kube_proxy: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ResetBundle:
    reset: v1beta4.ResetConfiguration
    warnings: list[str] = field(default_factory=list)


def read_config_file(path: Path, flag: str = "--config") -> str:
    """The text of a config file; errors name `flag`, the option the user gave the path with."""
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ConfigError(flag, f"{path}: no such file",
                          "Give the path of an existing file", source=COMMAND_LINE) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(flag, f"{path}: cannot be read ({exc})",
                          "Check the path and its permissions", source=COMMAND_LINE) from exc


def _parse(path: Path | None, text: str | None, flags: Any) -> ParsedConfig:
    """The documents of `text` (or of the file at `path`); none when neither is given."""
    if path is None and text is None:
        return ParsedConfig(COMMAND_LINE)
    check_mixed_arguments(flags)
    if text is None:
        assert path is not None
        text = read_config_file(path)
    return documents.parse_config(text, str(path or "config"))


def _fail_on(checks: list[tuple[str, list[FieldProblem]]], parsed: ParsedConfig,
             flags: Any) -> None:
    """Raise one error for all problems, each attributed to its flag or its document."""
    from_flags = {path: flag_name(name) for name in given(flags)
                  for path in FLAG_FIELDS.get(name, ())}
    located: list[tuple[str, FieldProblem]] = []
    for kind, problems in checks:
        for problem in problems:
            flag = next((f for path, f in from_flags.items()
                         if problem.path == path or problem.path.startswith(f"{path}[")), None)
            if flag is not None:
                located.append((COMMAND_LINE, FieldProblem(f"{flag} ({problem.path})",
                                                           problem.problem, problem.fix)))
            else:
                located.append((parsed.where(kind), problem))
    if located:
        raise ConfigProblemsError(located)


def _ignore_kinds(parsed: ParsedConfig, kinds: tuple[str, ...], command: str) -> None:
    for kind in kinds:
        if kind in parsed.documents:
            parsed.warnings.append(f"{parsed.where(kind)}: not used by {command}; ignored")


def _kubeadmpy(parsed: ParsedConfig) -> v1alpha1.KubeadmpyConfiguration:
    return defaults.default_kubeadmpy(parsed.get(_KUBEADMPY) or
                                      v1alpha1.KubeadmpyConfiguration())


def load_init_config(path: Path | None, flags: InitFlags | None = None, *,
                     facts: NodeFacts | None = None, text: str | None = None) -> InitBundle:
    """The configuration of `kubeadmpy init` from `--config` (or `text`) and flags."""
    flags = flags or InitFlags()
    parsed = _parse(path, text, flags)
    _ignore_kinds(parsed, (_JOIN, _RESET), "init")
    init = parsed.get(_INIT) or v1beta4.InitConfiguration()
    if parsed.control_plane_timeout is not None:
        init.timeouts = init.timeouts or v1beta4.Timeouts()
        if init.timeouts.control_plane_component_health_check is None:
            init.timeouts.control_plane_component_health_check = parsed.control_plane_timeout
    cluster = parsed.get(_CLUSTER) or v1beta4.ClusterConfiguration()
    flag_problems = apply_init_flags(flags, init, cluster)
    if flag_problems:
        raise ConfigProblemsError([(COMMAND_LINE, problem) for problem in flag_problems])
    warnings = list(parsed.warnings)
    defaults.default_init(init, facts or _lazy_facts(init.local_api_endpoint), warnings)
    defaults.default_cluster(cluster, warnings)
    kubeadmpy = _kubeadmpy(parsed)
    _fail_on([(_INIT, validation.validate_init(init)),
              (_CLUSTER, validation.validate_cluster(cluster, warnings)),
              (_KUBEADMPY, validation.validate_kubeadmpy(kubeadmpy))], parsed, flags)
    validation.cross_check_init(cluster, kubeadmpy, warnings)
    return InitBundle(init=init, cluster=cluster, kubeadmpy=kubeadmpy,
                      kubelet=parsed.get(documents.KUBELET_KIND),
                      kube_proxy=parsed.get(documents.KUBE_PROXY_KIND),
                      upload_certs=bool(flags.upload_certs), warnings=warnings)


def load_join_config(path: Path | None, flags: JoinFlags | None = None, *,
                     facts: NodeFacts | None = None, text: str | None = None) -> JoinBundle:
    """The configuration of `kubeadmpy join` from `--config` (or `text`) and flags."""
    flags = flags or JoinFlags()
    parsed = _parse(path, text, flags)
    if (path is not None or text is not None) and _JOIN not in parsed.documents:
        raise ConfigError("kind", f"no {_JOIN} document found", "Add one (see `kubeadmpy config "
                          "print join-defaults`)", source=parsed.source)
    _ignore_kinds(parsed, (_INIT, _CLUSTER, _RESET), "join")
    join = parsed.get(_JOIN) or v1beta4.JoinConfiguration()
    warnings = list(parsed.warnings)
    apply_join_flags(flags, join, warnings)
    endpoint = join.control_plane.local_api_endpoint if join.control_plane else None
    defaults.default_join(join, facts or _lazy_facts(endpoint), warnings)
    kubeadmpy = _kubeadmpy(parsed)
    _fail_on([(_JOIN, validation.validate_join(join)),
              (_KUBEADMPY, validation.validate_kubeadmpy(kubeadmpy))], parsed, flags)
    return JoinBundle(join=join, kubeadmpy=kubeadmpy, kubelet=parsed.get(documents.KUBELET_KIND),
                      kube_proxy=parsed.get(documents.KUBE_PROXY_KIND), warnings=warnings)


def load_reset_config(path: Path | None, flags: ResetFlags | None = None, *,
                      text: str | None = None) -> ResetBundle:
    """The configuration of `kubeadmpy reset`; without a ResetConfiguration, the defaults."""
    flags = flags or ResetFlags()
    parsed = _parse(path, text, flags)
    _ignore_kinds(parsed, (_INIT, _CLUSTER, _JOIN, _KUBEADMPY), "reset")
    reset = parsed.get(_RESET) or v1beta4.ResetConfiguration()
    apply_reset_flags(flags, reset)
    warnings = list(parsed.warnings)
    defaults.default_reset(reset, warnings)
    _fail_on([(_RESET, validation.validate_reset(reset))], parsed, flags)
    return ResetBundle(reset=reset, warnings=warnings)


def validate_config_file(path: Path) -> list[str]:
    """`config validate`: load the file as each command that uses its kinds; return warnings."""
    text = read_config_file(path)
    kinds = set(documents.parse_config(text, str(path)).documents)
    # A file is judged on its own: when this machine has no usable address, a stand-in keeps
    # the missing-address default from failing the check (init itself would still fail).
    facts = detect_node_facts()
    if facts.advertise_address is None:
        facts = NodeFacts(facts.hostname, "127.0.0.1")
    loaders: list[Callable[[], Any]] = []
    if kinds & {_INIT, _CLUSTER, _KUBEADMPY} or not kinds & {_JOIN, _RESET}:
        loaders.append(lambda: load_init_config(path, text=text, facts=facts))
    if _JOIN in kinds:
        loaders.append(lambda: load_join_config(path, text=text, facts=facts))
    if _RESET in kinds:
        loaders.append(lambda: load_reset_config(path, text=text))
    warnings: list[str] = []
    for load in loaders:
        bundle = load()
        warnings.extend(w for w in bundle.warnings if w not in warnings and "not used by" not in w)
    return warnings


def _lazy_facts(endpoint: v1beta4.APIEndpoint | None) -> NodeFacts:
    """This machine's facts; the address probe is skipped when no address is needed."""
    if endpoint is not None and not endpoint.advertise_address:
        return detect_node_facts()
    return NodeFacts(socket.gethostname(), None)


def cluster_configuration_from_yaml(
    text: str, source: str = "ConfigMap kube-system/kubeadm-config"
) -> v1beta4.ClusterConfiguration:
    """The ClusterConfiguration a cluster stores (join and upgrade read it back), defaulted and
    validated; the inverse of `cluster_configuration_yaml`."""
    parsed = documents.parse_config(text, source)
    cluster: v1beta4.ClusterConfiguration | None = parsed.get(_CLUSTER)
    if cluster is None:
        raise ConfigError("kind", f"no {_CLUSTER} document found", "Re-upload it with "
                          "`kubeadmpy init phase upload-config kubeadm`", source=source)
    warnings: list[str] = []
    defaults.default_cluster(cluster, warnings)
    _fail_on([(_CLUSTER, validation.validate_cluster(cluster, warnings))], parsed, InitFlags())
    return cluster
