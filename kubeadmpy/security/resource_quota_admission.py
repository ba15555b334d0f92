"""ResourceQuota admission: a create that would pass a namespace quota is refused, and one that
fits is charged to the quota's status.used *before* it is stored, as upstream does.

The charge is a compare-and-swap write of each quota's status through the server's storage:
two concurrent creates cannot both take the last unit, because the loser's write sees the
winner's usage and is re-checked against it. That write is asynchronous, so the work lives in
`evaluate`, which the server awaits after the synchronous admission chain; `admit` (the chain's
hook) does nothing. The check runs first against the cached quotas so that a refusal charges
nothing; dry runs are checked but not charged. Creates are charged, and updates of services and
claims pay what they add (more node ports, a larger claim); other kinds cannot change what they
charge. The resourcequota controller corrects any over-count (a charged write that then failed)
on its next sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from kubeadmpy.security import resource_quota
from kubeadmpy.security.limit_ranger import forbidden
from kubeadmpy.security.node_restriction import AdmissionRequest
from kubeadmpy.security.resource_quota import QuotaRefused

QuotaLister = Callable[[str], Iterable[Mapping[str, Any]]]
StatusMutation = Callable[[dict[str, Any]], dict[str, Any] | None]


class QuotaStatusWriter(Protocol):
    """Compare-and-swap of one quota: `mutate` gets the stored quota and returns the new one
    (None: no change); it is called again on a conflict. A quota gone meanwhile is skipped."""

    async def update(self, namespace: str, name: str, mutate: StatusMutation) -> None: ...


# kinds whose updates can charge more (a service turned NodePort, a claim resized), as
# upstream's evaluators; other updates change nothing a quota counts
UPDATE_CHARGED = frozenset({("", "services"), ("", "persistentvolumeclaims")})


@dataclass
class ResourceQuotaAdmission:
    list_quotas: QuotaLister

    def admit(self, request: AdmissionRequest) -> None:
        """Nothing synchronous to do: see `evaluate`."""
        return None

    def applies(self, request: AdmissionRequest) -> bool:
        if request.subresource or not request.namespace or request.obj is None:
            return False
        if request.operation == "UPDATE":
            return request.old_obj is not None and \
                (request.api_group, request.resource) in UPDATE_CHARGED
        return request.operation == "CREATE"

    async def evaluate(self, request: AdmissionRequest, writer: QuotaStatusWriter, *,
                       dry_run: bool = False) -> None:
        """Refuse (AdmissionDenied) or charge every quota the new object counts against."""
        if not self.applies(request):
            return
        quotas = list(self.list_quotas(request.namespace))
        if not quotas:
            return
        assert request.obj is not None
        obj = request.obj
        delta = resource_quota.usage_of(request.resource, request.api_group, obj)
        if request.old_obj is not None:  # an update pays only for what it adds
            before = resource_quota.usage_of(request.resource, request.api_group,
                                             request.old_obj)
            delta = {k: max(v - before.get(k, Decimal(0)), Decimal(0)) for k, v in delta.items()}
        charged = []
        try:
            for quota in quotas:
                if resource_quota.charge(quota, request.resource, request.api_group, obj,
                                         delta) is not None:
                    charged.append(str((quota.get("metadata") or {}).get("name", "")))
        except QuotaRefused as exc:
            raise forbidden(request, str(exc)) from exc
        if dry_run:
            return

        def mutate(current: dict[str, Any]) -> dict[str, Any] | None:
            try:
                used = resource_quota.charge(current, request.resource, request.api_group,
                                             obj, delta)
            except QuotaRefused as exc:
                raise forbidden(request, str(exc)) from exc
            if used is None:
                return None
            current.setdefault("status", {})["used"] = used
            return current

        for name in charged:
            await writer.update(request.namespace, name, mutate)
