"""``POST /v1/traces``: OpenTelemetry spans sent straight to Loupe (OTLP/HTTP).

An app instrumented with OpenTelemetry points its OTLP/HTTP exporter at the feedback service
(``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://HOST:PORT/v1/traces`` and an
``Authorization: Bearer TOKEN`` header). The body is an ``ExportTraceServiceRequest`` in JSON
(``Content-Type: application/json``) or protobuf (``application/x-protobuf``, read when the
``opentelemetry-proto`` package is installed), optionally gzip-compressed. Its model-call spans
go through the same checks as an imported OTLP file (dashboard.formats.otlp); the request lands
whole or not at all, within the service's body limit (applied after decompression too).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from dashboard.formats import otlp
from dashboard.formats.checks import Bad
from dashboard.scopes import WRITE_AS, token_reviewer
from store import Store

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
SOURCE = "api"


class _Conflict(Exception):
    """A span clashes with a stored one: nothing from the request lands."""


def _protobuf_to_json(body: bytes) -> dict[str, Any]:
    try:
        from google.protobuf.json_format import MessageToDict
        from google.protobuf.message import DecodeError
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )
    except ImportError:
        raise HTTPException(415, "This server reads OTLP as JSON only: set the exporter's protocol"
                                 " to http/json, or install opentelemetry-proto.") from None
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except DecodeError:
        raise HTTPException(400, "The body is not an OTLP protobuf ExportTraceServiceRequest.") from None
    return MessageToDict(request)


def _protobuf_response() -> bytes:
    try:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )
    except ImportError:  # pragma: no cover - protobuf bodies are refused before this
        return b""
    return ExportTraceServiceResponse().SerializeToString()


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise HTTPException(415, f"Content-Encoding {encoding!r} is not read: send gzip or none.")
    try:
        inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
        data = inflater.decompress(body, limit + 1)
    except (zlib.error, gzip.BadGzipFile):
        raise HTTPException(400, f"The body is not valid {encoding} data.") from None
    if len(data) > limit:
        raise HTTPException(413, f"The request body is larger than {limit:,} bytes once"
                                 " decompressed.")
    return data


def _as_token(rows: list[Any], record: Any) -> list[Any]:
    """Ratings carried by spans speak for the token (``api:NAME/evaluator``) unless it may
    write as other reviewers, so no span can pass for a dashboard user's rating."""
    if not isinstance(record, dict) or WRITE_AS in record.get("scopes", ()):
        return rows
    own = token_reviewer(record["name"])
    return [row._replace(rating=row.rating._replace(reviewer=f"{own}/{row.rating.reviewer}"))
            if row.rating is not None else row for row in rows]


def _store_rows(store: Store, rows: list[Any]) -> tuple[int, int]:
    """Write the rows in one transaction: (added, already present); nothing on a clash."""
    with store.ingest.import_session(source=SOURCE) as session:
        outcome = session.add(rows)
        if outcome.conflicts:
            raise _Conflict(outcome.conflicts[0][1])
        return outcome.added, outcome.present


def traces_router(
    store: Store, token: Callable[..., Any], *, max_body: int = 1_000_000
) -> APIRouter:
    """The ``/v1/traces`` route writing to ``store``; ``token`` is the app's auth dependency."""
    router = APIRouter()

    @router.post(
        "/v1/traces", status_code=200,
        responses={400: {}, 401: {}, 409: {}, 413: {}, 415: {}, 429: {}},
        openapi_extra={"requestBody": {"content": {JSON: {"schema": {"type": "object"}}}}},
    )
    async def receive_traces(request: Request, record: Any = Depends(token)) -> Response:
        """Store the model calls among OTLP spans (JSON or protobuf); other spans are passed over."""
        kind = (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()
        body = _inflate(await request.body(),
                        (request.headers.get("content-encoding") or "").strip().lower(), max_body)
        if kind == PROTOBUF:
            payload: Any = _protobuf_to_json(body)
        elif kind == JSON:
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):
                raise HTTPException(400, "The body is not valid JSON.") from None
        else:
            raise HTTPException(415, f"Send OTLP as {JSON} or {PROTOBUF}, not {kind}.")
        try:
            rows = otlp.parse(payload)
        except Bad as bad:
            raise HTTPException(400, f"{bad}; nothing was stored.") from None
        except RecursionError:
            raise HTTPException(400, "The body is nested too deeply; nothing was stored.") from None
        rows = _as_token(rows, record)
        added = present = 0
        if rows:
            try:
                added, present = await run_in_threadpool(_store_rows, store, rows)
            except _Conflict as clash:
                raise HTTPException(409, f"{clash}; nothing was stored.") from None
        if kind == PROTOBUF:
            return Response(_protobuf_response(), media_type=PROTOBUF)
        answer: dict[str, Any] = {"stored": added, "already_present": present}
        return Response(json.dumps(answer), media_type=JSON)

    return router
