"""The four PATCH types and field ownership.

`apply_json_patch` (RFC 6902), `apply_merge_patch` (RFC 7386), `apply_strategic_merge_patch`
(Kubernetes, schema-driven) and `server_side_apply` (apply-patch+yaml with managedFields and
conflicts); `update_managed_fields` records ownership for every other write. Every failure is a
`kubeadmpy.machinery.status.APIStatusError` the API server can return as a Status as-is.
"""

from kubeadmpy.machinery.patch.apply import server_side_apply, update_managed_fields
from kubeadmpy.machinery.patch.json_patch import apply_json_patch
from kubeadmpy.machinery.patch.merge_patch import apply_merge_patch
from kubeadmpy.machinery.patch.strategic import apply_strategic_merge_patch

__all__ = [
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "server_side_apply",
    "update_managed_fields",
]
