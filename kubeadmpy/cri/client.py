"""An async CRI v1 client (runtime.v1 RuntimeService + ImageService) over a unix socket.

The kubelet, `ensure_containerd` and the node tests all talk to containerd through this one
class. Messages are the generated ``runtime.v1`` classes of the PyPI package
``container-runtime-interface-api`` (re-exported as `kubeadmpy.cri.api`), so callers build
requests with upstream field names. That package (2.0.1: CRI v1 as of Kubernetes 1.33–1.35,
generated with protobuf 6.31 / grpc 1.73) works as shipped with grpcio 1.85 and protobuf 6.33,
so no stubs are generated at build time; protobuf stays below 7, which its gencode needs. Every call has a deadline (the kubelet's
``--runtime-request-timeout`` default, 2 minutes, unless the call says otherwise) and every
failure arrives as a `kubeadmpy.cri.errors.CRIError` subclass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import grpc
from cri_api.v1 import api_pb2 as api
from cri_api.v1 import api_pb2_grpc as api_grpc

from kubeadmpy.cri.errors import CRIError, CRIUnavailable, translate

DEFAULT_ENDPOINT = "unix:///run/containerd/containerd.sock"
DEFAULT_TIMEOUT_SECONDS = 120.0  # kubelet --runtime-request-timeout default (2m)
CRI_API_VERSION = "v1"
VersionResponse = api.VersionResponse
_MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the kubelet's maxMsgSize: big ListContainers answers


def grpc_target(endpoint: str) -> str:
    """``unix:///path`` for an endpoint given as a URL or as a bare socket path."""
    if endpoint.startswith("unix://"):
        return endpoint
    if endpoint.startswith("/"):
        return f"unix://{endpoint}"
    raise ValueError(f"CRI endpoint {endpoint!r}: use unix:///path/to.sock or an absolute path")


@dataclass(frozen=True)
class ExecResult:
    """What ExecSync returned."""

    stdout: bytes
    stderr: bytes
    exit_code: int


class CRIClient:
    """One gRPC channel to a CRI runtime; use as ``async with CRIClient(endpoint) as cri``."""

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, *,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._channel = grpc.aio.insecure_channel(grpc_target(endpoint), options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
        ])
        self._runtime = api_grpc.RuntimeServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._images = api_grpc.ImageServiceStub(self._channel)  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> CRIClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, stub: Any, method: str, request: Any,
                    seconds: float | None = None) -> Any:
        try:
            return await getattr(stub, method)(request, timeout=seconds or self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise translate(method, exc) from exc

    # --- runtime --------------------------------------------------------------------------

    async def version(self, call_seconds: float | None = None) -> api.VersionResponse:
        response: api.VersionResponse = await self._call(
            self._runtime, "Version", api.VersionRequest(version=CRI_API_VERSION), call_seconds)
        return response

    async def status(self, verbose: bool = False) -> api.StatusResponse:
        return await self._call(self._runtime, "Status", api.StatusRequest(verbose=verbose))  # type: ignore[no-any-return]

    # --- pod sandboxes --------------------------------------------------------------------

    async def run_pod_sandbox(self, config: api.PodSandboxConfig,
                              runtime_handler: str = "") -> str:
        """Create and start a sandbox (the runtime sets up its network with CNI); its id."""
        request = api.RunPodSandboxRequest(config=config, runtime_handler=runtime_handler)
        response = await self._call(self._runtime, "RunPodSandbox", request)
        return str(response.pod_sandbox_id)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call(self._runtime, "StopPodSandbox",
                         api.StopPodSandboxRequest(pod_sandbox_id=sandbox_id))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self._call(self._runtime, "RemovePodSandbox",
                         api.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id))

    async def pod_sandbox_status(self, sandbox_id: str,
                                 verbose: bool = False) -> api.PodSandboxStatusResponse:
        request = api.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=verbose)
        return await self._call(self._runtime, "PodSandboxStatus", request)  # type: ignore[no-any-return]

    async def list_pod_sandbox(self, sandbox_filter: api.PodSandboxFilter | None = None
                               ) -> list[api.PodSandbox]:
        request = api.ListPodSandboxRequest(filter=sandbox_filter)
        response = await self._call(self._runtime, "ListPodSandbox", request)
        return list(response.items)

    # --- containers -----------------------------------------------------------------------

    async def create_container(self, sandbox_id: str, config: api.ContainerConfig,
                               sandbox_config: api.PodSandboxConfig) -> str:
        request = api.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=config,
                                             sandbox_config=sandbox_config)
        response = await self._call(self._runtime, "CreateContainer", request)
        return str(response.container_id)

    async def start_container(self, container_id: str) -> None:
        await self._call(self._runtime, "StartContainer",
                         api.StartContainerRequest(container_id=container_id))

    async def stop_container(self, container_id: str, timeout_seconds: int = 0) -> None:
        """Signal the container (SIGTERM, then SIGKILL after `timeout_seconds`)."""
        request = api.StopContainerRequest(container_id=container_id, timeout=timeout_seconds)
        await self._call(self._runtime, "StopContainer", request,
                         max(self.timeout, timeout_seconds + 30.0))

    async def remove_container(self, container_id: str) -> None:
        await self._call(self._runtime, "RemoveContainer",
                         api.RemoveContainerRequest(container_id=container_id))

    async def container_status(self, container_id: str,
                               verbose: bool = False) -> api.ContainerStatusResponse:
        request = api.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        return await self._call(self._runtime, "ContainerStatus", request)  # type: ignore[no-any-return]

    async def list_containers(self, container_filter: api.ContainerFilter | None = None
                              ) -> list[api.Container]:
        request = api.ListContainersRequest(filter=container_filter)
        response = await self._call(self._runtime, "ListContainers", request)
        return list(response.containers)

    async def update_container_resources(self, container_id: str,
                                         linux: api.LinuxContainerResources) -> None:
        """Apply new CPU/memory limits to a running container (in-place resize)."""
        request = api.UpdateContainerResourcesRequest(container_id=container_id, linux=linux)
        await self._call(self._runtime, "UpdateContainerResources", request)

    async def reopen_container_log(self, container_id: str) -> None:
        """Make the runtime reopen the container's log file (after the kubelet rotated it)."""
        await self._call(self._runtime, "ReopenContainerLog",
                         api.ReopenContainerLogRequest(container_id=container_id))

    async def container_stats(self, container_id: str) -> api.ContainerStats:
        response = await self._call(self._runtime, "ContainerStats",
                                    api.ContainerStatsRequest(container_id=container_id))
        stats: api.ContainerStats = response.stats
        return stats

    async def list_container_stats(self, stats_filter: api.ContainerStatsFilter | None = None
                                   ) -> list[api.ContainerStats]:
        response = await self._call(self._runtime, "ListContainerStats",
                                    api.ListContainerStatsRequest(filter=stats_filter))
        return list(response.stats)

    # --- exec / attach --------------------------------------------------------------------

    async def exec_sync(self, container_id: str, cmd: Sequence[str],
                        timeout_seconds: int = 0) -> ExecResult:
        """Run `cmd` in the container and wait for it (0 = no runtime-side timeout)."""
        request = api.ExecSyncRequest(container_id=container_id, cmd=list(cmd),
                                      timeout=timeout_seconds)
        deadline = self.timeout if timeout_seconds <= 0 else timeout_seconds + 30.0
        response = await self._call(self._runtime, "ExecSync", request, deadline)
        return ExecResult(bytes(response.stdout), bytes(response.stderr), int(response.exit_code))

    async def exec_url(self, container_id: str, cmd: Sequence[str], *, tty: bool = False,
                       stdin: bool = False, stdout: bool = True, stderr: bool = True) -> str:
        """The runtime streaming-server URL that serves this exec session."""
        request = api.ExecRequest(container_id=container_id, cmd=list(cmd), tty=tty, stdin=stdin,
                                  stdout=stdout, stderr=stderr and not tty)
        response = await self._call(self._runtime, "Exec", request)
        return str(response.url)

    async def attach_url(self, container_id: str, *, tty: bool = False, stdin: bool = False,
                         stdout: bool = True, stderr: bool = True) -> str:
        request = api.AttachRequest(container_id=container_id, tty=tty, stdin=stdin,
                                    stdout=stdout, stderr=stderr and not tty)
        response = await self._call(self._runtime, "Attach", request)
        return str(response.url)

    async def port_forward_url(self, sandbox_id: str, ports: Sequence[int]) -> str:
        request = api.PortForwardRequest(pod_sandbox_id=sandbox_id, port=list(ports))
        response = await self._call(self._runtime, "PortForward", request)
        return str(response.url)

    # --- images ---------------------------------------------------------------------------

    async def image_status(self, image: str) -> api.Image | None:
        """The image if the runtime has it, else None."""
        response = await self._call(self._images, "ImageStatus",
                                    api.ImageStatusRequest(image=api.ImageSpec(image=image)))
        return response.image if response.HasField("image") else None

    async def pull_image(self, image: str, auth: api.AuthConfig | None = None,
                         sandbox_config: api.PodSandboxConfig | None = None,
                         call_seconds: float | None = None) -> str:
        """Pull `image`; returns the image reference (id) the runtime stored."""
        request = api.PullImageRequest(image=api.ImageSpec(image=image), auth=auth,
                                       sandbox_config=sandbox_config)
        response = await self._call(self._images, "PullImage", request, call_seconds or 600.0)
        return str(response.image_ref)

    async def list_images(self, image_filter: str = "") -> list[api.Image]:
        request = api.ListImagesRequest(
            filter=api.ImageFilter(image=api.ImageSpec(image=image_filter)) if image_filter
            else None)
        response = await self._call(self._images, "ListImages", request)
        return list(response.images)

    async def image_fs_info(self) -> api.ImageFsInfoResponse:
        """Usage of the file systems images live on (the kubelet's image GC reads it)."""
        response: api.ImageFsInfoResponse = await self._call(self._images, "ImageFsInfo",
                                                             api.ImageFsInfoRequest())
        return response

    async def remove_image(self, image: str) -> None:
        await self._call(self._images, "RemoveImage",
                         api.RemoveImageRequest(image=api.ImageSpec(image=image)))


async def wait_for_runtime(endpoint: str, within_seconds: float = 30.0,
                           interval: float = 0.05) -> api.VersionResponse:
    """Poll Version until the runtime answers; the last error if it never does in time."""
    timeout = within_seconds
    deadline = time.monotonic() + timeout
    last: CRIError | None = None
    async with CRIClient(endpoint, timeout=min(5.0, timeout)) as client:
        while True:
            try:
                return await client.version(max(0.5, min(5.0, deadline - time.monotonic())))
            except CRIUnavailable as exc:
                last = exc
            except CRIError as exc:
                if not exc.retryable:
                    raise
                last = exc
            if time.monotonic() >= deadline:
                raise CRIUnavailable("Version", "UNAVAILABLE",
                                     f"no answer on {endpoint} within {timeout:g} s"
                                     f" (last error: {last.detail if last else 'none'})")
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.5)
