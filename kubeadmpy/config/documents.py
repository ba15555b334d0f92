"""Reading a multi-document config file into typed documents, the way kubeadm does.

A file holds `---`-separated documents; each names its apiVersion and kind. kubeadm kinds and our
KubeadmpyConfiguration are decoded strictly into dataclasses; kubelet and kube-proxy component
configs and UpgradeConfiguration are kept as raw dicts; v1beta3 documents are converted to
v1beta4 first (with a warning); an unknown kind is skipped with a warning (as kubeadm does). Every decode problem of every document is gathered into one
`ConfigProblemsError`, each line naming the file, the document and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import yaml

from kubeadmpy.config import codec, v1alpha1, v1beta3, v1beta4
from kubeadmpy.config.codec import FieldProblem
from kubeadmpy.errors import ConfigError

KUBELET_API_VERSION = "kubelet.config.k8s.io/v1beta1"
KUBELET_KIND = "KubeletConfiguration"
KUBE_PROXY_API_VERSION = "kubeproxy.config.k8s.io/v1alpha1"
KUBE_PROXY_KIND = "KubeProxyConfiguration"
RAW_COMPONENT_KINDS = {KUBELET_KIND: KUBELET_API_VERSION, KUBE_PROXY_KIND: KUBE_PROXY_API_VERSION}
TYPED_KINDS: dict[str, tuple[str, type[Any]]] = {
    **{kind: (v1beta4.API_VERSION, cls) for kind, cls in v1beta4.KINDS.items()},
    v1alpha1.KubeadmpyConfiguration.KIND: (v1alpha1.API_VERSION, v1alpha1.KubeadmpyConfiguration),
}


class ConfigProblemsError(ConfigError):
    """One or more problems in config documents; `problems` holds (where, problem) pairs."""

    def __init__(self, problems: list[tuple[str, FieldProblem]]) -> None:
        where, first = problems[0]
        super().__init__(first.path, first.problem, first.fix, source=where)
        self.problems = problems
        lines = [f"{source}: {problem.render()}" for source, problem in problems]
        text = lines[0]
        if len(lines) > 1:
            text = f"{len(lines)} problems in the configuration:\n" + "\n".join(
                f"  - {line}" for line in lines)
        self.args = (text,)


@dataclass
class Document:
    index: int  # 1-based position in the file
    kind: str
    value: Any  # a config dataclass, or a raw dict for component configs


@dataclass
class ParsedConfig:
    source: str
    documents: dict[str, Document] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # v1beta3's apiServer.timeoutForControlPlane, which v1beta4 keeps in InitConfiguration
    control_plane_timeout: timedelta | None = None

    def where(self, kind: str) -> str:
        """How to name where a document of `kind` came from in messages."""
        document = self.documents.get(kind)
        if document is None:
            return f"{self.source}, defaults for {kind}"
        return f"{self.source}, document {document.index} ({kind})"

    def get(self, kind: str) -> Any | None:
        document = self.documents.get(kind)
        return None if document is None else document.value


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, as kubeadm's strict decoding does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise ConfigError(f"line {key_node.start_mark.line + 1}", f"duplicate key {key!r}",
                                  "Keep only one of them", source=self.name)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml_documents(text: str, source: str) -> list[Any]:
    """The documents of a YAML stream; malformed YAML becomes a ConfigError with the line."""
    loader = _StrictLoader(text)
    loader.name = source
    try:
        documents = []
        while loader.check_data():  # type: ignore[no-untyped-call]
            documents.append(loader.get_data())
        return documents
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise ConfigError(where, f"not valid YAML: {exc.problem or exc.context}",
                          "Check the indentation and the ':' after each key near that line; "
                          "quote values that contain ': ' or start with special characters",
                          source=source) from exc
    except yaml.YAMLError as exc:
        raise ConfigError("YAML", f"not valid YAML: {exc}", "Fix the file", source=source) from exc
    finally:
        loader.dispose()


def parse_config(text: str, source: str) -> ParsedConfig:
    """Decode every document of `text`; raise one ConfigProblemsError listing all problems."""
    parsed = ParsedConfig(source)
    problems: list[tuple[str, FieldProblem]] = []
    raw_documents = [d for d in parse_yaml_documents(text, source) if d is not None]
    if not raw_documents:
        raise ConfigError("file", "has no documents",
                          "Start from `kubeadmpy config print init-defaults`", source=source)
    for index, raw in enumerate(raw_documents, start=1):
        label = f"{source}, document {index}"
        named = raw.get("kind") if isinstance(raw, dict) else None
        if isinstance(named, str):
            label = f"{label} ({named})"
        kind_problems: list[FieldProblem] = []
        if _is_v1beta3(raw):
            raw = _from_v1beta3(raw, parsed, label, kind_problems)
        kind = _identify(raw, kind_problems, parsed, f"{source}, document {index}")
        if kind is not None:
            if kind in parsed.documents:
                kind_problems.append(FieldProblem(
                    "kind", f"a second {kind} document (the first is document "
                    f"{parsed.documents[kind].index})", "Merge them into one document"))
            else:
                value = _decode(kind, raw, kind_problems)
                parsed.documents[kind] = Document(index, kind, value)
        problems.extend((label, problem) for problem in kind_problems)
    if problems:
        raise ConfigProblemsError(problems)
    return parsed


def _is_v1beta3(raw: Any) -> bool:
    return isinstance(raw, dict) and raw.get("apiVersion") == v1beta3.API_VERSION and \
        raw.get("kind") in v1beta3.KINDS


def _from_v1beta3(raw: dict[str, Any], parsed: ParsedConfig, label: str,
                  problems: list[FieldProblem]) -> dict[str, Any]:
    converted, moved_timeout = v1beta3.convert(raw)
    parsed.warnings.append(f"{label}: {v1beta3.CONVERSION_NOTE}")
    if moved_timeout is not None:
        parsed.control_plane_timeout = codec.decode(
            _MovedTimeout, {"timeoutForControlPlane": moved_timeout}, problems, "apiServer"
        ).timeout_for_control_plane
    return converted


@dataclass(kw_only=True)
class _MovedTimeout:
    timeout_for_control_plane: timedelta | None = None


def _identify(raw: Any, problems: list[FieldProblem], parsed: ParsedConfig,
              label: str) -> str | None:
    """The kind of a document we handle, or None (skipped with a warning, or a problem)."""
    if not isinstance(raw, dict):
        problems.append(FieldProblem("", "is not a mapping", "Each document must be a YAML "
                                     "mapping with apiVersion and kind"))
        return None
    api_version, kind = raw.get("apiVersion"), raw.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        problems.append(FieldProblem("apiVersion/kind", "missing", "Every document needs "
                                     f"apiVersion (e.g. {v1beta4.API_VERSION}) and kind"))
        return None
    if kind in TYPED_KINDS or kind in v1beta4.RAW_KINDS:
        expected = TYPED_KINDS[kind][0] if kind in TYPED_KINDS else v1beta4.API_VERSION
        if api_version != expected:
            problems.append(FieldProblem("apiVersion", f"{api_version!r} is not supported for "
                                         f"{kind}", f"Use apiVersion: {expected} (see `kubeadmpy "
                                         "config print init-defaults`)"))
            return None
        return kind
    if RAW_COMPONENT_KINDS.get(kind) == api_version:
        return kind
    parsed.warnings.append(f"{label}: ignoring unknown kind {kind!r} (apiVersion "
                           f"{api_version!r})")
    return None


def _decode(kind: str, raw: dict[str, Any], problems: list[FieldProblem]) -> Any:
    if kind in TYPED_KINDS:
        return codec.decode(TYPED_KINDS[kind][1], raw, problems,
                            ignore=frozenset({"apiVersion", "kind"}))
    return raw  # component configs and UpgradeConfiguration stay raw


def api_version_of(obj: Any) -> str:
    return TYPED_KINDS[type(obj).KIND][0]


def to_document(obj: Any) -> dict[str, Any]:
    """A typed config object as a document dict with apiVersion and kind."""
    return {"apiVersion": api_version_of(obj), "kind": type(obj).KIND, **codec.encode(obj)}
