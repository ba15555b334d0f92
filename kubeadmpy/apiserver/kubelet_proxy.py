"""Relaying pod logs, exec, attach and port-forward to the kubelet, as the upstream apiserver
does for `kubectl logs|exec|attach|port-forward`.

The apiserver finds the pod's node, picks the node address by --kubelet-preferred-address-types
and the kubelet port from the node status (default 10250), and streams
`GET /containerLogs/<ns>/<pod>/<container>` over HTTPS with the --kubelet-client-certificate
identity. Like upstream without --kubelet-certificate-authority, the kubelet's serving
certificate is not verified. Upgraded streams (WebSocket and SPDY) are spliced through by the
kubelet package's `proxy_to_kubelet`, so both protocols reach the kubelet unchanged.
"""

from __future__ import annotations

import contextlib
import ssl
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web

from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import JSONObject

DEFAULT_KUBELET_PORT = 10250
DEFAULT_ADDRESS_TYPES = ("Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP")
LOG_QUERY = ("follow", "previous", "sinceSeconds", "sinceTime", "timestamps", "tailLines",
             "limitBytes")


def node_address(node: JSONObject, preferred: tuple[str, ...]) -> str:
    addresses = (node.get("status") or {}).get("addresses") or []
    for kind in preferred:
        for address in addresses:
            if address.get("type") == kind and address.get("address"):
                return str(address["address"])
    raise status.bad_request(f'no preferred addresses found; known addresses: '
                             f'{[a.get("address") for a in addresses]}')


def kubelet_port(node: JSONObject) -> int:
    endpoint = ((node.get("status") or {}).get("daemonEndpoints") or {}).get(
        "kubeletEndpoint") or {}
    return int(endpoint.get("Port") or DEFAULT_KUBELET_PORT)


def choose_container(pod: JSONObject, wanted: str | None) -> str:
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    names += [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
    name = pod["metadata"]["name"]
    if wanted:
        if wanted not in names:
            raise status.bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    main = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    if len(main) == 1:
        return str(main[0])
    raise status.bad_request(f"a container name must be specified for pod {name}, choose one "
                             f"of: [{' '.join(str(n) for n in main)}]")


class KubeletProxy:
    def __init__(self, cert_file: str, key_file: str, address_types: tuple[str, ...]) -> None:
        self._cert, self._key = cert_file, key_file
        self.address_types = address_types or DEFAULT_ADDRESS_TYPES
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            if self._cert:
                context.load_cert_chain(self._cert, self._key or None)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=context),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def stream_logs(self, request: web.Request, node: JSONObject, pod: JSONObject,
                          container: str) -> web.StreamResponse:
        meta = pod["metadata"]
        host = node_address(node, self.address_types)
        query = {k: v for k, v in request.query.items() if k in LOG_QUERY}
        url = (f"https://{host}:{kubelet_port(node)}/containerLogs/"
               f"{quote(meta['namespace'])}/{quote(meta['name'])}/{quote(container)}")
        if query:
            url += "?" + urlencode(query)
        try:
            upstream = await self._http().get(url)
        except (aiohttp.ClientError, OSError) as exc:
            raise status.service_unavailable(
                f"the kubelet of node {node['metadata']['name']} at {host} is unreachable: "
                f"{exc}") from exc
        async with upstream:
            if upstream.status != 200:
                text = (await upstream.text())[:1000]
                raise status.APIStatusError(upstream.status if upstream.status < 600 else 500,
                                            "InternalError" if upstream.status >= 500
                                            else "BadRequest", text or upstream.reason or "")
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            with contextlib.suppress(ConnectionResetError, aiohttp.ClientPayloadError):
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            with contextlib.suppress(ConnectionResetError):
                await response.write_eof()
            return response

    async def stream_upgrade(self, request: web.Request, node: JSONObject, path: str
                             ) -> web.StreamResponse:
        """exec/attach/portforward: relay the (upgrading) request to `path` on the kubelet."""
        # Imported here: the kubelet package is large and only these requests need it.
        from kubeadmpy.kubelet.server.proxy import proxy_to_kubelet

        return await proxy_to_kubelet(request, node_address(node, self.address_types),
                                      kubelet_port(node), path, self._cert, self._key)
