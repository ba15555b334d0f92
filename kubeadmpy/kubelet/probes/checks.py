"""One probe attempt of each kind (httpGet, tcpSocket, exec, grpc), judged as upstream judges it.

A check returns a `ProbeOutcome`: success, failure or warning (a success worth telling, such as
a redirect to another host that was not followed), with the message upstream puts into the
"<Kind> probe failed: <message>" event. Messages follow the kubelet's wording
("HTTP probe failed with statuscode: 500", "dial tcp 10.88.0.5:80: connect: connection
refused") so that `kubectl describe` reads the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import grpc

from kubeadmpy.cri import CRIClient, CRIDeadlineExceeded, CRIError

PROBE_USER_AGENT = "kube-probe/1.33"  # upstream: kube-probe/<major>.<minor> of the kubelet
MAX_REDIRECTS = 10  # Go's http.Client stops after 10
MAX_BODY_BYTES = 10 * 1024  # upstream reads at most 10 KiB of a probe's response body


class Result(enum.Enum):
    SUCCESS = "success"
    WARNING = "warning"  # counts as success
    FAILURE = "failure"
    UNKNOWN = "unknown"  # the probe could not run (e.g. no port); counts as failure

    @property
    def ok(self) -> bool:
        return self in (Result.SUCCESS, Result.WARNING)


@dataclass(frozen=True)
class ProbeOutcome:
    result: Result
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.result.ok


class ProbeSpecError(ValueError):
    """A probe definition the kubelet cannot run (unknown named port, no handler)."""


def resolve_port(port: Any, container: Mapping[str, Any]) -> int:
    """A probe's port: a number, a numeric string, or a containerPort name of the container."""
    if isinstance(port, int):
        number = port
    elif isinstance(port, str) and port.isdigit():
        number = int(port)
    elif isinstance(port, str):
        named = [p for p in container.get("ports") or [] if p.get("name") == port]
        if not named:
            raise ProbeSpecError(f"couldn't find port: {port} in {container.get('name', '')}")
        number = int(named[0]["containerPort"])
    else:
        raise ProbeSpecError(f"invalid port {port!r}")
    if not 0 < number < 65536:
        raise ProbeSpecError(f"invalid port number: {number}")
    return number


def _host_port(host: str, port: int) -> str:
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    return f"{host}:{port}"


def http_url(action: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str) -> str:
    scheme = str(action.get("scheme") or "HTTP").lower()
    host = str(action.get("host") or pod_ip)
    port = resolve_port(action.get("port"), container)
    path = str(action.get("path") or "/")
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{_host_port(host, port)}{path}"


def _go_dial_error(address: str, exc: OSError | asyncio.TimeoutError) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return f"dial tcp {address}: i/o timeout"
    code = getattr(exc, "errno", None)
    if code == errno.ECONNREFUSED:
        return f"dial tcp {address}: connect: connection refused"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"dial tcp {address}: connect: no route to host"
    return f"dial tcp {address}: {getattr(exc, 'strerror', None) or exc}"


async def http_probe(action: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str,
                     timeout_seconds: float) -> ProbeOutcome:
    """GET the URL; 2xx and 3xx succeed; redirects are followed only on the same host."""
    try:
        url = http_url(action, container, pod_ip)
    except ProbeSpecError as exc:
        return ProbeOutcome(Result.UNKNOWN, str(exc))
    headers = {"User-Agent": PROBE_USER_AGENT, "Accept": "*/*"}
    host_header = ""
    for header in action.get("httpHeaders") or []:
        name, value = str(header.get("name", "")), str(header.get("value", ""))
        if name.lower() == "host":
            host_header = value
        else:
            headers[name] = value
    if host_header:
        headers["Host"] = host_header
    origin = urlsplit(url).hostname
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    connector = aiohttp.TCPConnector(ssl=False, force_close=True)  # probes skip TLS checks
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            target = url
            for _ in range(MAX_REDIRECTS + 1):
                async with session.get(target, headers=headers, allow_redirects=False) as reply:
                    body = (await reply.content.read(MAX_BODY_BYTES)).decode(errors="replace")
                    location = reply.headers.get("Location", "")
                    if 300 <= reply.status < 400 and location:
                        following = urljoin(target, location)
                        if urlsplit(following).hostname != origin:
                            return ProbeOutcome(Result.WARNING, "Probe terminated redirects, "
                                                f"Response body: {body}")
                        target = following
                        continue
                    if 200 <= reply.status < 400:
                        return ProbeOutcome(Result.SUCCESS, body)
                    return ProbeOutcome(Result.FAILURE,
                                        f"HTTP probe failed with statuscode: {reply.status}")
            return ProbeOutcome(Result.FAILURE,
                                f'Get "{url}": stopped after {MAX_REDIRECTS} redirects')
    except TimeoutError:
        return ProbeOutcome(Result.FAILURE, f'Get "{url}": context deadline exceeded '
                            "(Client.Timeout exceeded while awaiting headers)")
    except aiohttp.ClientConnectorError as exc:
        address = _host_port(exc.host, exc.port or 0)
        return ProbeOutcome(Result.FAILURE, f'Get "{url}": {_go_dial_error(address, exc.os_error)}')
    except aiohttp.ClientError as exc:
        return ProbeOutcome(Result.FAILURE, f'Get "{url}": {exc}')


async def tcp_probe(action: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str,
                    timeout_seconds: float) -> ProbeOutcome:
    """Success when a TCP connection opens within the timeout."""
    try:
        port = resolve_port(action.get("port"), container)
    except ProbeSpecError as exc:
        return ProbeOutcome(Result.UNKNOWN, str(exc))
    host = str(action.get("host") or pod_ip)
    address = _host_port(host, port)
    try:
        async with asyncio.timeout(timeout_seconds):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as exc:
        return ProbeOutcome(Result.FAILURE, _go_dial_error(address, exc))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeOutcome(Result.SUCCESS)


async def exec_probe(cri: CRIClient, container_id: str, action: Mapping[str, Any],
                     timeout_seconds: int) -> ProbeOutcome:
    """ExecSync the command; exit code 0 succeeds, the output becomes the failure message."""
    command = [str(arg) for arg in action.get("command") or []]
    if not command:
        return ProbeOutcome(Result.UNKNOWN, "exec probe has no command")
    try:
        done = await cri.exec_sync(container_id, command, timeout_seconds)
    except CRIError as exc:
        if isinstance(exc, CRIDeadlineExceeded) or "timeout" in str(exc).lower() or \
                "deadline" in str(exc).lower():
            # upstream: command "<argv joined by spaces>" timed out
            return ProbeOutcome(Result.FAILURE, f'command "{" ".join(command)}" timed out')
        return ProbeOutcome(Result.UNKNOWN, str(exc))
    output = (done.stdout + done.stderr).decode(errors="replace")
    if done.exit_code == 0:
        return ProbeOutcome(Result.SUCCESS, output)
    return ProbeOutcome(Result.FAILURE, output)  # upstream: the output, even when empty


_SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _health_request(service: str) -> bytes:
    """grpc.health.v1.HealthCheckRequest{service}: field 1, length-delimited (short names)."""
    raw = service.encode()
    return (b"\x0a" + bytes([len(raw)]) + raw) if raw else b""


def _health_status(reply: bytes) -> int:
    """The status field (1, varint) of a grpc.health.v1.HealthCheckResponse; 0 if absent."""
    return reply[1] if len(reply) >= 2 and reply[0] == 0x08 else 0


async def grpc_probe(action: Mapping[str, Any], pod_ip: str,
                     timeout_seconds: float) -> ProbeOutcome:
    """grpc.health.v1.Health/Check against the pod IP; SERVING succeeds."""
    port = int(action.get("port") or 0)
    address = _host_port(pod_ip, port)
    service = str(action.get("service") or "")
    async with grpc.aio.insecure_channel(address) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda b: b,
                                    response_deserializer=lambda b: b)
        try:
            reply = await check(_health_request(service), timeout=timeout_seconds,
                                wait_for_ready=False)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return ProbeOutcome(Result.FAILURE, "timeout: health rpc did not complete "
                                    f"within {timeout_seconds:g}s")
            return ProbeOutcome(Result.FAILURE, f'timeout: failed to connect service "{address}" '
                                f"within {timeout_seconds:g}s: {exc.details()}")
    status = _health_status(bytes(reply))
    if status == 1:
        return ProbeOutcome(Result.SUCCESS)
    return ProbeOutcome(Result.FAILURE, "service unhealthy (responded with "
                        f'"{_SERVING_STATUS.get(status, str(status))}")')
