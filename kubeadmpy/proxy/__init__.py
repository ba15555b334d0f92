"""kubeadmpy.proxy: `kubeadmpy-proxy`, kube-proxy's nftables mode.

Services and EndpointSlices (`model`) become one `ip kube-proxy` table (`rules`, a pure
function), applied atomically through `nft -f -` (`nft`) by a debounced, level-triggered loop
(`sync`); `main` holds upstream's flags and the KubeProxyConfiguration file (`config`).
"""
