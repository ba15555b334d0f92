"""The kubelet's HTTP servers (API on 10250, healthz on 10248) and the apiserver's way in.

Public names: `KubeletServer`, `ServerSettings` and `KubeletServerError`; `PodLookup` (what the kubelet provides),
`PodRef`/`ContainerRef` and `CRIPodLookup` (a lookup answered by the runtime's labels);
`AuthSettings`; `proxy_to_kubelet` (for the apiserver's pods/log, exec, attach, portforward).
"""

from kubeadmpy.kubelet.server.auth import AuthSettings
from kubeadmpy.kubelet.server.lookup import ContainerRef, CRIPodLookup, PodLookup, PodRef
from kubeadmpy.kubelet.server.server import KubeletServer, KubeletServerError, ServerSettings

__all__ = ["AuthSettings", "CRIPodLookup", "ContainerRef", "KubeletServer",
           "KubeletServerError", "PodLookup", "PodRef", "ServerSettings"]
