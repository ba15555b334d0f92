"""API security as a library: authentication, authorization, admission, encryption at rest.

The API server plugs these in through small interfaces: an `AuthenticationChain` turns request
`Credentials` into a `UserInfo`; an `AuthorizerChain` (Node, RBAC) judges `Attributes`;
`NodeRestriction` admits kubelet writes; `EncryptionTransformers` wrap etcd values; the review
functions build the authorization/authentication review responses. Objects the checks need
(Secrets, pods, service accounts, RBAC objects) come in through injected getters, so every piece
is testable on its own and the server keeps ownership of storage and caching.
"""

from kubeadmpy.security.authn import (
    AuthenticationChain,
    AuthResult,
    BearerTokenAuthenticator,
    Credentials,
)
from kubeadmpy.security.authorizer import AuthorizerChain, parse_modes
from kubeadmpy.security.bootstrap_tokens import BootstrapTokenAuthenticator
from kubeadmpy.security.encryption import DecryptionError, EncryptionTransformers
from kubeadmpy.security.escalation import EscalationForbidden
from kubeadmpy.security.identity import (
    ANONYMOUS,
    Attributes,
    Decision,
    UserInfo,
    Verdict,
    forbidden_message,
    request_attributes,
)
from kubeadmpy.security.node_authorizer import NodeAuthorizer
from kubeadmpy.security.node_restriction import AdmissionDenied, AdmissionRequest, NodeRestriction
from kubeadmpy.security.rbac import RBACAuthorizer
from kubeadmpy.security.reconcile import reconcile_bootstrap_policy
from kubeadmpy.security.serviceaccount import ServiceAccountAuthenticator, TokenIssuer
from kubeadmpy.security.stack import (
    ClusterObjects,
    SecuritySettings,
    SecurityStack,
    build_stack,
    credentials_from_aiohttp,
)
from kubeadmpy.security.x509_auth import X509Authenticator

__all__ = [
    "ANONYMOUS",
    "AdmissionDenied",
    "AdmissionRequest",
    "Attributes",
    "AuthResult",
    "AuthenticationChain",
    "AuthorizerChain",
    "BearerTokenAuthenticator",
    "BootstrapTokenAuthenticator",
    "ClusterObjects",
    "Credentials",
    "Decision",
    "DecryptionError",
    "EncryptionTransformers",
    "EscalationForbidden",
    "NodeAuthorizer",
    "NodeRestriction",
    "RBACAuthorizer",
    "SecuritySettings",
    "SecurityStack",
    "ServiceAccountAuthenticator",
    "TokenIssuer",
    "UserInfo",
    "Verdict",
    "X509Authenticator",
    "build_stack",
    "credentials_from_aiohttp",
    "forbidden_message",
    "parse_modes",
    "reconcile_bootstrap_policy",
    "request_attributes",
]
