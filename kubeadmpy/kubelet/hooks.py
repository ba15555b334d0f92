"""preStop hooks (exec, httpGet, sleep), run before a container is signalled to stop.

The hook gets the grace period as its time limit, as upstream; any failure becomes a
`HookError` the pod worker reports as a FailedPreStopHook event before stopping anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from kubeadmpy.cri import CRIClient, CRIError

JSONObject = dict[str, Any]


class HookError(Exception):
    """The hook failed or did not finish within the grace period."""


async def run_pre_stop(cri: CRIClient, spec: JSONObject, container_id: str, grace: int,
                       pod_ip: str) -> None:
    handler = ((spec.get("lifecycle") or {}).get("preStop")) or {}
    try:
        async with asyncio.timeout(max(1, grace)):
            if handler.get("exec"):
                await cri.exec_sync(container_id, handler["exec"].get("command") or [], grace)
            elif handler.get("httpGet"):
                await http_hook(handler["httpGet"], spec, pod_ip)
            elif handler.get("sleep"):
                await asyncio.sleep(float(handler["sleep"].get("seconds", 0)))
    except (CRIError, TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise HookError(str(exc) or type(exc).__name__) from exc


async def http_hook(action: JSONObject, spec: JSONObject, pod_ip: str) -> None:
    """GET the hook's URL (named ports resolved from the container's ports)."""
    port = action.get("port", 80)
    if isinstance(port, str) and not port.isdigit():
        port = next((p.get("containerPort") for p in spec.get("ports") or []
                     if p.get("name") == port), 80)
    host = action.get("host") or pod_ip or "127.0.0.1"
    scheme = str(action.get("scheme", "HTTP")).lower()
    url = f"{scheme}://{host}:{port}{action.get('path', '/')}"
    async with aiohttp.ClientSession() as session, session.get(url, ssl=False) as reply:
        await reply.read()
