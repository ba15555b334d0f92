"""Content negotiation: request bodies in (JSON, YAML, protobuf), responses out (JSON, YAML,
Table), query-string booleans, and the body size limit.

Protobuf bodies (kubectl 1.32+ typed writes) are decoded by kubeadmpy.machinery.protobuf into
the JSON object a JSON client would have sent; replies are always JSON (or YAML/Table).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from kubeadmpy.errors import UserInputError
from kubeadmpy.machinery import jsonvalues, status
from kubeadmpy.machinery.protobuf import decode_k8s_protobuf

MAX_BODY_BYTES = 3 * 1024 * 1024
JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
ACCEPTED_BODIES = [JSON, YAML, PROTOBUF]

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(query: Any, name: str, default: bool = False) -> bool:
    """Go strconv.ParseBool, as the real server parses `watch=True` from the Python client."""
    value = query.get(name)
    if value is None:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE or value == "":
        return False
    raise status.bad_request(f'invalid value for {name}: "{value}" (expected true or false)')


def parse_int(query: Any, name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise status.bad_request(f'invalid value for {name}: "{value}": must be an integer') \
            from exc


def dry_run(query: Any) -> bool:
    """`?dryRun=All` (the only value upstream accepts) → True; anything else is a 400."""
    values = query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise status.bad_request(f'dryRun: unsupported value "{value}", only "All" is '
                                     "supported")
    return bool(values)


def media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


async def read_body(request: web.Request) -> bytes:
    """The raw body, refusing anything over 3 MiB with 413 before reading it all."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise status.too_large(MAX_BODY_BYTES)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise status.too_large(MAX_BODY_BYTES)
        chunks.append(chunk)
    return b"".join(chunks)


def _load_json(raw: bytes) -> Any:
    """orjson, unless the body could nest deep enough to overflow orjson's native stack (it
    crashes the process near 200,000 levels): then the stdlib parser, which raises
    RecursionError instead."""
    if raw.count(b"[") + raw.count(b"{") <= _ORJSON_SAFE_BRACKETS:
        return orjson.loads(raw)
    return json.loads(raw, parse_constant=_no_constant)


_ORJSON_SAFE_BRACKETS = 10_000


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class GVKHint:
    group: str
    version: str
    kind: str


def decode_body(raw: bytes, content_type: str, hint: GVKHint | None = None) -> Any:
    """A JSON-style value from a request body, or a 400/415 Status error."""
    kind = media_type(content_type or JSON)
    if kind == PROTOBUF:
        try:
            decoded = decode_k8s_protobuf(raw)
            jsonvalues.check_depth(decoded)
            return decoded
        except status.APIStatusError:
            raise
        except UserInputError as exc:
            raise status.bad_request(f"unable to decode the protobuf body: {exc}") from exc
    if kind in (JSON, "*/*", "") or kind.endswith("+json"):
        try:
            value = _load_json(raw or b"null")
        except RecursionError as exc:
            raise status.bad_request("the body of the request could not be decoded as JSON: "
                                     f"it nests deeper than {jsonvalues.MAX_DEPTH} levels"
                                     ) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise status.bad_request(
                f"the body of the request could not be decoded as JSON: {exc}") from exc
        jsonvalues.check_depth(value)
        return value
    if kind in (YAML, "application/x-yaml", "text/yaml") or kind.endswith("+yaml"):
        try:
            return jsonvalues.load_yaml(raw)
        except yaml.YAMLError as exc:
            raise status.bad_request(
                f"the body of the request could not be decoded as YAML: {exc}") from exc
    raise status.unsupported_media_type(kind, ACCEPTED_BODIES)


@dataclass(frozen=True)
class ResponseFormat:
    """What the client asked for: JSON (default), YAML, or a meta.k8s.io Table."""

    yaml: bool = False
    table: bool = False
    partial_metadata: bool = False


def negotiate(accept: str) -> ResponseFormat:
    """Pick the first acceptable entry in the Accept header; Table only for meta.k8s.io v1/v1beta1."""
    if not accept:
        return ResponseFormat()
    for entry in accept.split(","):
        parts = [p.strip() for p in entry.split(";")]
        kind = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if params.get("as") == "Table":
            if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                return ResponseFormat(table=True)
            continue
        if params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            if params.get("g") == "meta.k8s.io":
                return ResponseFormat(partial_metadata=True)
            continue
        if params.get("as"):
            continue
        if kind in (JSON, "*/*", "application/*", PROTOBUF, "application/json-patch+json"):
            return ResponseFormat()
        if kind in (YAML, "application/x-yaml", "text/yaml"):
            return ResponseFormat(yaml=True)
    raise status.not_acceptable([JSON, YAML, "application/json;as=Table;v=v1;g=meta.k8s.io"])


def dumps(obj: Any) -> bytes:
    return jsonvalues.dumps(obj)


def respond(obj: Any, code: int = 200, fmt: ResponseFormat | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    if fmt is not None and fmt.yaml:
        body = yaml.safe_dump(obj, sort_keys=False).encode()
        return web.Response(body=body, status=code, content_type=YAML, headers=headers)
    return web.Response(body=dumps(obj), status=code, content_type=JSON, headers=headers)


def error_response(error: status.APIStatusError) -> web.Response:
    headers = {}
    if error.details is not None and error.details.retry_after_seconds:
        headers["Retry-After"] = str(error.details.retry_after_seconds)
    return respond(error.to_status(), error.code, headers=headers)
