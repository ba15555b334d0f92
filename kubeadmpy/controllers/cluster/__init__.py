"""The controller-manager's cluster controllers: one module each, all on kubeadmpy.client's
`Controller` shape, each exposing `new_controller(ControllerContext)` for the registry.

Controllers:
- nodeipam: a podCIDR per Node from --cluster-cidr (cidrset holds the allocator)
- nodelifecycle: Ready=Unknown from stale node Leases, not-ready/unreachable taints, pods of
  not-Ready nodes marked not ready (disruption: per-zone limits on NoExecute taints)
- tainteviction: deletes pods from NoExecute-tainted nodes after their tolerationSeconds
- endpoints, endpointslice: a Service's backends from its selector and ready pods (backends)
- serviceaccount, rootca: `default` ServiceAccount and kube-root-ca.crt in every namespace
- csrapproving, csrsigning: kubelet TLS bootstrap and the built-in signers (csr, signer)
- bootstrapsigner, tokencleaner: cluster-info's JWS signatures, expired bootstrap tokens
  (bootstraptokens)
- pvbinder: static PV/PVC binding, hand-off to provisioners (volumematch)

Shared: common (object helpers, idempotent writes, `Disabled`), events (Event recorder),
taints (toleration rules).
"""
