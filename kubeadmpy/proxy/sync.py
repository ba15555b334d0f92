"""The proxier: informer caches in, one complete nftables table out, level-triggered.

Events only mark the state dirty; they never edit rules. A sync renders the whole table from
the caches and replaces it in one `nft -f` transaction, so a missed event, a restart or a table
someone deleted by hand all converge on the next sync. Syncs are debounced like upstream's
minSyncPeriod (a burst of EndpointSlice updates costs one sync) and repeated every syncPeriod
even without events (then skipped when the rendered text is unchanged and the table is still in
the kernel, so ClientIP affinity sets are not reset for nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from kubeadmpy.client.informer import EventHandler, SharedInformerFactory
from kubeadmpy.client.rest import Client
from kubeadmpy.proxy import model, nft, rules
from kubeadmpy.proxy.config import ProxySettings

log = logging.getLogger(__name__)


@dataclass
class SyncStats:
    """What /healthz and /metrics report, and what tests watch."""

    syncs: int = 0  # completed syncs, skipped ones included
    applies: int = 0  # syncs that wrote the table
    failures: int = 0
    last_success: float | None = None  # time.monotonic()
    last_success_wall: float | None = None  # time.time(), for /healthz's lastUpdated
    duration_sum: float = 0.0
    last_error: str = ""


class Proxier:
    def __init__(self, client: Client, settings: ProxySettings) -> None:
        self.settings = settings
        self.informers = SharedInformerFactory(client)
        self.services = self.informers.informer("services")
        self.slices = self.informers.informer("endpointslices")
        self.stats = SyncStats()
        self.applied_text = ""
        self._dirty = asyncio.Event()
        handler = EventHandler(on_add=lambda _: self._dirty.set(),
                               on_update=lambda _old, _new: self._dirty.set(),
                               on_delete=lambda _: self._dirty.set())
        self.services.add_handler(handler)
        self.slices.add_handler(handler)

    def desired(self) -> str:
        """The table the caches call for now."""
        ports = model.all_service_ports(self.services.store.list(), self.slices.store.list())
        return rules.render(ports, self.settings.rules)

    def healthy(self) -> bool:
        """Upstream's rule: unhealthy until the first sync, and when no sync has succeeded for
        twice the sync period."""
        last = self.stats.last_success
        return last is not None and time.monotonic() - last < 2 * self.settings.sync_period

    async def sync_once(self) -> None:
        started = time.monotonic()
        text = self.desired()
        command = self.settings.nft_command
        if text != self.applied_text or not await nft.table_exists(
                rules.FAMILY, rules.TABLE, "services", command):
            await nft.run_script(rules.replace_script(text), command)
            self.applied_text = text
            self.stats.applies += 1
            log.info("synced table %s %s (%d bytes)", rules.FAMILY, rules.TABLE, len(text))
        self.stats.syncs += 1
        self.stats.last_success = time.monotonic()
        self.stats.last_success_wall = time.time()
        self.stats.duration_sum += self.stats.last_success - started

    async def run(self) -> None:
        """Run informers and the sync loop until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.informers.run())
            await self.informers.wait_synced()
            await self._loop()

    async def _loop(self) -> None:
        last_start = -float("inf")
        while True:
            # Debounce: at most one sync per minSyncPeriod, however many events arrive.
            await asyncio.sleep(max(0.0, self.settings.min_sync_period
                                    - (time.monotonic() - last_start)))
            last_start = time.monotonic()
            self._dirty.clear()
            try:
                await self.sync_once()
                self.stats.last_error = ""
            except nft.NftError as exc:
                self.stats.failures += 1
                self.stats.last_error = str(exc)
                log.error("sync failed, retrying: %s", exc)
                self._dirty.set()
            with contextlib.suppress(TimeoutError):  # the periodic resync
                await asyncio.wait_for(self._dirty.wait(), self.settings.sync_period)
