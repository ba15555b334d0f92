"""Which fields upstream's validation really requires of built-in kinds.

The OpenAPI `required` lists are generated from Go struct tags (no `omitempty`), not from the
validation code, so they ask for far more than kube-apiserver refuses: a Node whose
`status.nodeInfo` lacks `bootID`, a ContainerStatus without `imageID`, a TokenRequest with
`audiences: null` (kubectl 1.27), a PriorityClass without `value` are all accepted upstream.
Refusing them breaks real clients, so the schema walk enforces only the fields listed here,
each one a field upstream's `pkg/apis/*/validation` answers with an error when it is empty.
Checks that are not a plain "must be present" stay in the resource strategies.
"""

from __future__ import annotations

_CORE = "io.k8s.api.core.v1."
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_CRD = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

#: Definition name → fields that must be present and non-empty.
ENFORCED_REQUIRED: dict[str, tuple[str, ...]] = {
    # Pods and pod templates.
    _CORE + "PodSpec": ("containers",),
    # image too, but the pod strategy checks it next to names and ports, so that one 422
    # lists every bad field as upstream's does.
    _CORE + "Container": ("name",),
    _CORE + "EphemeralContainer": ("name", "image"),
    _CORE + "ContainerPort": ("containerPort",),
    _CORE + "EnvVar": ("name",),
    _CORE + "VolumeMount": ("name", "mountPath"),
    _CORE + "VolumeDevice": ("name", "devicePath"),
    _CORE + "Volume": ("name",),
    _CORE + "KeyToPath": ("key", "path"),
    _CORE + "ConfigMapKeySelector": ("key",),
    _CORE + "SecretKeySelector": ("key",),
    _CORE + "ObjectFieldSelector": ("fieldPath",),
    _CORE + "ResourceFieldSelector": ("resource",),
    _CORE + "DownwardAPIVolumeFile": ("path",),
    _CORE + "ServiceAccountTokenProjection": ("path",),
    _CORE + "HostPathVolumeSource": ("path",),
    _CORE + "PersistentVolumeClaimVolumeSource": ("claimName",),
    _CORE + "NFSVolumeSource": ("server", "path"),
    _CORE + "CSIVolumeSource": ("driver",),
    _CORE + "HTTPGetAction": ("port",),
    _CORE + "TCPSocketAction": ("port",),
    _CORE + "GRPCAction": ("port",),
    _CORE + "HostAlias": ("ip",),
    _CORE + "Sysctl": ("name",),
    _CORE + "PodSchedulingGate": ("name",),
    _CORE + "PodReadinessGate": ("conditionType",),
    _CORE + "PodOS": ("name",),
    _CORE + "SeccompProfile": ("type",),
    _CORE + "AppArmorProfile": ("type",),
    _CORE + "NodeSelector": ("nodeSelectorTerms",),
    _CORE + "NodeSelectorRequirement": ("key", "operator"),
    _CORE + "PreferredSchedulingTerm": ("weight",),
    _CORE + "PodAffinityTerm": ("topologyKey",),
    _CORE + "WeightedPodAffinityTerm": ("weight", "podAffinityTerm"),
    _CORE + "TopologySpreadConstraint": ("maxSkew", "topologyKey", "whenUnsatisfiable"),
    # Nodes (spec only: status is the kubelet's report and not validated field by field).
    _CORE + "Taint": ("key", "effect"),
    # Services and endpoints.
    _CORE + "ServicePort": ("port",),
    _CORE + "EndpointAddress": ("ip",),
    _CORE + "EndpointPort": ("port",),
    "io.k8s.api.discovery.v1.EndpointSlice": ("addressType",),
    "io.k8s.api.discovery.v1.Endpoint": ("addresses",),
    "io.k8s.api.networking.v1.HTTPIngressPath": ("pathType", "backend"),
    "io.k8s.api.networking.v1.HTTPIngressRuleValue": ("paths",),
    "io.k8s.api.networking.v1.IPBlock": ("cidr",),
    # Workloads.
    "io.k8s.api.apps.v1.DeploymentSpec": ("selector", "template"),
    "io.k8s.api.apps.v1.DaemonSetSpec": ("selector", "template"),
    "io.k8s.api.apps.v1.StatefulSetSpec": ("selector", "template"),
    "io.k8s.api.apps.v1.ReplicaSetSpec": ("selector",),
    "io.k8s.api.batch.v1.JobSpec": ("template",),
    "io.k8s.api.batch.v1.CronJobSpec": ("schedule", "jobTemplate"),
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec": ("scaleTargetRef", "maxReplicas"),
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec": ("scaleTargetRef", "maxReplicas"),
    "io.k8s.api.autoscaling.v1.CrossVersionObjectReference": ("kind", "name"),
    "io.k8s.api.autoscaling.v2.CrossVersionObjectReference": ("kind", "name"),
    # RBAC.
    "io.k8s.api.rbac.v1.PolicyRule": ("verbs",),
    "io.k8s.api.rbac.v1.RoleBinding": ("roleRef",),
    "io.k8s.api.rbac.v1.ClusterRoleBinding": ("roleRef",),
    "io.k8s.api.rbac.v1.RoleRef": ("apiGroup", "kind", "name"),
    "io.k8s.api.rbac.v1.Subject": ("kind", "name"),
    # Certificates, storage, runtime classes.
    "io.k8s.api.certificates.v1.CertificateSigningRequest": ("spec",),
    "io.k8s.api.certificates.v1.CertificateSigningRequestSpec": ("request", "signerName"),
    "io.k8s.api.storage.v1.StorageClass": ("provisioner",),
    "io.k8s.api.storage.v1.CSINodeDriver": ("name", "nodeID"),
    "io.k8s.api.storage.v1.VolumeAttachmentSpec": ("attacher", "nodeName"),
    "io.k8s.api.node.v1.RuntimeClass": ("handler",),
    # Extension points.
    _CRD + "CustomResourceDefinitionSpec": ("group", "names", "scope", "versions"),
    _CRD + "CustomResourceDefinitionNames": ("plural", "kind"),
    _CRD + "CustomResourceDefinitionVersion": ("name",),
    "io.k8s.api.admissionregistration.v1.MutatingWebhook": (
        "name", "clientConfig", "sideEffects", "admissionReviewVersions"),
    "io.k8s.api.admissionregistration.v1.ValidatingWebhook": (
        "name", "clientConfig", "sideEffects", "admissionReviewVersions"),
    "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceSpec": (
        "groupPriorityMinimum", "versionPriority"),
    # Object metadata.
    _META + "OwnerReference": ("apiVersion", "kind", "name", "uid"),
    _META + "LabelSelectorRequirement": ("key", "operator"),
}


def enforced_required(definition: str) -> tuple[str, ...]:
    """The fields of `definition` a write must carry (non-empty); () for most definitions."""
    return ENFORCED_REQUIRED.get(definition, ())


def is_missing(value: object) -> bool:
    """Empty the way Go validation sees it: absent, null, "", [] or {}; 0 and false are set."""
    return value is None or value == "" or value == [] or value == {}
