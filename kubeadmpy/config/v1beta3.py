"""Reading kubeadm.k8s.io/v1beta3 documents by converting them to v1beta4 first.

kubeadm 1.33 still reads v1beta3 files (deprecated), and many existing clusters keep theirs, so
we accept them too. The conversion is on plain dicts, before strict decoding, so a typo in a v1beta3
file is still reported with its field path. What changed (reference §8): extraArgs were maps and
are now lists of {name, value} (sorted by name, as kubeadm converts them);
apiServer.timeoutForControlPlane moved to InitConfiguration timeouts.controlPlaneComponentHealthCheck;
discovery.timeout moved to JoinConfiguration timeouts.discovery.
"""

from __future__ import annotations

import copy
from typing import Any

from kubeadmpy.config import v1beta4

API_VERSION = f"{v1beta4.GROUP}/v1beta3"
KINDS = ("InitConfiguration", "ClusterConfiguration", "JoinConfiguration")
CONVERSION_NOTE = ("read as kubeadm.k8s.io/v1beta3 (deprecated) and converted to v1beta4; "
                   "`kubeadmpy config print init-defaults` shows the v1beta4 form")


def _args_to_list(holder: Any, key: str) -> None:
    """A v1beta3 map of flags becomes a v1beta4 list; anything else is left for the decoder."""
    if isinstance(holder, dict) and isinstance(holder.get(key), dict):
        holder[key] = [{"name": str(name), "value": value}
                       for name, value in sorted(holder[key].items(), key=lambda kv: str(kv[0]))]


def convert(document: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The v1beta4 form of a v1beta3 document, and a control-plane timeout that moved away."""
    result = copy.deepcopy(document)
    result["apiVersion"] = v1beta4.API_VERSION
    moved_timeout = None
    _args_to_list(result.get("nodeRegistration"), "kubeletExtraArgs")
    api_server = result.get("apiServer")
    for component in ("apiServer", "controllerManager", "scheduler"):
        _args_to_list(result.get(component), "extraArgs")
    if isinstance(api_server, dict) and "timeoutForControlPlane" in api_server:
        moved_timeout = api_server.pop("timeoutForControlPlane")
    etcd = result.get("etcd")
    if isinstance(etcd, dict):
        _args_to_list(etcd.get("local"), "extraArgs")
    discovery = result.get("discovery")
    if isinstance(discovery, dict) and "timeout" in discovery:
        timeouts = result.setdefault("timeouts", {})
        if isinstance(timeouts, dict):
            timeouts.setdefault("discovery", discovery.pop("timeout"))
    return result, moved_timeout
