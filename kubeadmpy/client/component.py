"""The skeleton every component executable runs: health endpoints, optional leader election,
graceful shutdown on SIGTERM.

Upstream's scheduler and controller-manager serve /healthz, /livez and /readyz on a secure port
(10259, 10257) with a given certificate or, without one, a self-signed certificate made at
start-up; kubeadm's static pods probe those paths over HTTPS. `run_component` does the same
around the component's own `work()` coroutine, which runs only while this process leads when
leader election is on. SIGTERM cancels everything from the top and the Lease is released.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import signal
import ssl
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubeadmpy.client.leaderelection import LeaderElectionSettings, LeaderElector
from kubeadmpy.client.rest import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComponentSettings:
    name: str
    bind_address: str = "0.0.0.0"
    secure_port: int = 0  # 0: pick a free port (tests); upstream components pass theirs
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    leader_election: LeaderElectionSettings | None = None


@dataclass
class RunningComponent:
    """What a test (or the component) can observe while it runs."""

    port: int = 0
    elector: LeaderElector | None = None
    working: bool = False
    serving: asyncio.Event | None = None


def self_signed_context(name: str, host: str) -> ssl.SSLContext:
    """A throw-away serving certificate, like upstream's `<name>@<unix time>` self-signed one."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            f"{host}@{int(now.timestamp())}")])
    sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(name)]
    for address in ("127.0.0.1", host):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            sans.append(x509.DNSName(address))
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(key, hashes.SHA256()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory(prefix="kubeadmpy-serving-") as tmp:
        cert_file, key_file = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.touch(0o600)
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context.load_cert_chain(cert_file, key_file)
    return context


def _serving_context(settings: ComponentSettings) -> ssl.SSLContext:
    if settings.tls_cert_file:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.tls_cert_file, settings.tls_private_key_file or None)
        return context
    return self_signed_context(settings.name, settings.bind_address)


def _health_app(state: RunningComponent) -> web.Application:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def leader(_: web.Request) -> web.Response:
        if state.elector is not None and not state.elector.healthy():
            return web.Response(status=500, text="leaderElection: the lease expired")
        return web.Response(text="ok")

    app = web.Application()
    for path in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(path, ok)
    app.router.add_get("/healthz/leader-election", leader)
    return app


async def run_component(settings: ComponentSettings, client: Client,
                        work: Callable[[], Coroutine[Any, Any, None]],
                        state: RunningComponent | None = None) -> None:
    """Serve health, (elect,) run `work()` until it returns, the process gets SIGTERM/SIGINT,
    or leadership is lost; always stop serving and release the Lease on the way out."""
    state = state or RunningComponent()
    state.serving = state.serving or asyncio.Event()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    runner = web.AppRunner(_health_app(state), access_log=None)
    await runner.setup()
    installed: list[signal.Signals] = []
    try:
        site = web.TCPSite(runner, settings.bind_address, settings.secure_port,
                           ssl_context=_serving_context(settings))
        await site.start()
        addresses = runner.addresses  # the bound (host, port): port 0 picks a free one
        state.port = int(addresses[0][1]) if addresses else settings.secure_port
        state.serving.set()
        log.info("%s: serving health on https://%s:%d", settings.name, settings.bind_address,
                 state.port)
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (RuntimeError, ValueError):  # not the main thread: the caller cancels us
                pass

        async def main() -> None:
            election = settings.leader_election
            if election is not None and election.enabled:
                state.elector = LeaderElector(client, election.config)
                await state.elector.run(_tracked(work, state))
            else:
                await _tracked(work, state)()

        async with asyncio.TaskGroup() as group:
            main_task = group.create_task(main())
            stop_task = group.create_task(stop.wait())
            await asyncio.wait({main_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                log.info("%s: signal received, shutting down", settings.name)
            main_task.cancel()
            stop_task.cancel()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await runner.cleanup()


def _tracked(work: Callable[[], Coroutine[Any, Any, None]], state: RunningComponent
             ) -> Callable[[], Coroutine[Any, Any, None]]:
    async def wrapped() -> None:
        state.working = True
        try:
            await work()
        finally:
            state.working = False
    return wrapped
