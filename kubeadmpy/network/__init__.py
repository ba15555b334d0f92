"""kubeadmpy.network: flannel's VXLAN pod network — `kubeadmpy-flanneld` and the `flannel` CNI plugin.

flanneld (`kubeadmpy.network.flanneld`) takes this node's podCIDR from its Node, advertises its
VXLAN endpoint in the Node's `flannel.alpha.coreos.com/*` annotations, writes
/run/flannel/subnet.env and keeps `flannel.1` plus one neighbour, FDB entry and route per other
node in step with the cluster. The CNI plugin (`kubeadmpy.network.cni_flannel`) reads
subnet.env and delegates to the reference `bridge` + `host-local` plugins.

This `__init__` deliberately imports nothing: the CNI plugin is started once per pod sandbox
and must not pay for pyroute2 or the API client. Import the modules themselves
(`from kubeadmpy.network import netconf`).
"""
