"""The Node authorizer (`--authorization-mode=Node,...`): what a kubelet may touch.

For a user system:node:<name> in system:nodes. Secrets, configmaps, PVCs and PVs may be read
(get only) when a pod bound to the node references them; service-account tokens may be created
for service accounts such pods run as; Node objects, node status and the node's Lease only for
the node itself; pod status and pod deletion only for pods bound to it. Everything else the
system:node rules allow is allowed (as upstream); anything more is "no opinion", left to RBAC,
which in a kubeadm cluster grants kubelets nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeadmpy.security.bootstrap_policy import node_rules
from kubeadmpy.security.identity import NO_OPINION, Attributes, Decision, Verdict, node_name_of
from kubeadmpy.security.node_graph import NodeObjectSource, node_references
from kubeadmpy.security.rbac_rules import Rule, rules_from_api

NODE_LEASE_NAMESPACE = "kube-node-lease"
_GRAPH_READS = frozenset({"secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes"})


def _allow(reason: str = "") -> Verdict:
    return Verdict(Decision.ALLOW, reason)


def _no(reason: str) -> Verdict:
    return Verdict(Decision.NO_OPINION, reason)


@dataclass
class NodeAuthorizer:
    source: NodeObjectSource
    _rules: tuple[Rule, ...] = field(default_factory=lambda: rules_from_api(node_rules()))

    def authorize(self, attrs: Attributes) -> Verdict:
        node = node_name_of(attrs.user)
        if node is None:
            return NO_OPINION
        if not node:
            return _no("unknown node")
        if attrs.is_resource_request:
            verdict = self._restricted(node, attrs)
            if verdict is not None:
                return verdict
        if any(rule.allows(attrs) for rule in self._rules):
            return _allow()
        return NO_OPINION

    def _restricted(self, node: str, attrs: Attributes) -> Verdict | None:
        group, resource, sub = attrs.api_group, attrs.resource, attrs.subresource
        if group == "" and resource in _GRAPH_READS:
            if resource == "persistentvolumeclaims" and sub == "status":
                return self._via_pod(node, attrs, ("get", "update", "patch"))
            if sub:
                return _no(f"node '{node}' cannot access {resource}/{sub}")
            # secrets and configmaps may also be watched one by one (metadata.name selector),
            # which is how kubelets follow them; claims and volumes only read
            verbs = ("get", "list", "watch") if resource in ("secrets", "configmaps") \
                else ("get",)
            return self._via_pod(node, attrs, verbs)
        if group == "storage.k8s.io" and resource == "volumeattachments":
            return self._volume_attachment(node, attrs)
        if group == "" and resource == "serviceaccounts" and sub == "token":
            return self._via_pod(node, attrs, ("create",), lookup="serviceaccounts")
        if group == "" and resource == "nodes":
            return self._own_node(node, attrs)
        if group == "" and resource == "pods" and attrs.name and (
                sub == "status" or (not sub and attrs.verb == "delete")):
            return self._bound_pod(node, attrs)
        if group == "coordination.k8s.io" and resource == "leases":
            return self._lease(node, attrs)
        if group == "storage.k8s.io" and resource == "csinodes" and attrs.name \
                and attrs.name != node and attrs.verb != "create":
            return _no(f"node '{node}' can only access its own CSINode")
        return None

    def _via_pod(self, node: str, attrs: Attributes, verbs: tuple[str, ...],
                 lookup: str = "") -> Verdict:
        kind = lookup or attrs.resource
        if attrs.verb not in verbs:
            return _no(f"node '{node}' can only {'/'.join(verbs)} individual {kind}")
        if not attrs.name:
            return _no(f"node '{node}' cannot {attrs.verb} {kind} without a name")
        pod = node_references(self.source, node, kind, attrs.namespace, attrs.name)
        if pod is None:
            return _no(f"no relationship found between node '{node}' and this object")
        return _allow(f"referenced by pod '{attrs.namespace}/{pod}' on node '{node}'")

    def _volume_attachment(self, node: str, attrs: Attributes) -> Verdict:
        if attrs.verb != "get" or not attrs.name:
            return _no(f"node '{node}' can only get individual volumeattachments")
        attachment = self.source.get("volumeattachments", "", attrs.name)
        if attachment is None or (attachment.get("spec") or {}).get("nodeName") != node:
            return _no(f"no relationship found between node '{node}' and this object")
        return _allow()

    def _own_node(self, node: str, attrs: Attributes) -> Verdict | None:
        if attrs.verb in ("list", "watch") or (attrs.verb == "create" and not attrs.name):
            return None
        if attrs.name != node:
            return _no(f"node '{node}' cannot {attrs.verb} node '{attrs.name}', "
                       "only its own Node object")
        return None

    def _bound_pod(self, node: str, attrs: Attributes) -> Verdict | None:
        pod: Mapping[str, Any] | None = self.source.get("pods", attrs.namespace, attrs.name)
        if pod is None:
            return None  # the request fails with NotFound; nothing to protect
        if str((pod.get("spec") or {}).get("nodeName", "")) != node:
            return _no(f"node '{node}' can only modify pods bound to it")
        return None

    def _lease(self, node: str, attrs: Attributes) -> Verdict:
        if attrs.verb not in ("get", "create", "update", "patch", "delete"):
            return _no("can only get, create, update, patch, or delete a node lease")
        if attrs.namespace != NODE_LEASE_NAMESPACE:
            return _no(f"can only access leases in the {NODE_LEASE_NAMESPACE} namespace")
        if attrs.name != node and attrs.verb != "create":
            return _no("can only access node lease with the same name as the requesting node")
        return _allow()
