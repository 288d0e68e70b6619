"""The feedback collection service: production apps send questions, answers and ratings here.

`python -m dashboard api` serves it (localhost by default). Every request carries a bearer token
created by an admin; each token has its own rate limit and scopes (what it may do: 403 names a
missing one); bodies are size-limited; validation errors are 422 with the field named; reads
are streamed and bounded by bytes as well as rows.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from dashboard.api_traces import traces_router
from dashboard.auth import token_digest
from dashboard.importing import check_record
from dashboard.ratelimit import RateLimiter, retry_after
from dashboard.scopes import READ, WRITE, WRITE_AS, token_reviewer
from store import Store
from store.api import RatingRefused

MAX_BODY = 1_000_000  # bytes
DEFAULT_RATE = "60/minute"
TEXT = 1_000_000  # characters
ECHO = 100  # characters of a refused value repeated in a 422
MAX_RESPONSE = 8_000_000  # bytes of one GET /feedback/ answer (one larger interaction comes alone)


def _problem(value: Any) -> str | None:
    """Why a JSON value cannot be stored (a NaN or infinite number, text holding an unpaired
    surrogate), or None. Looks inside lists and objects, keys included, however deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"must be a finite number, not {_json_word(item)}"
        elif isinstance(item, str):
            if not _is_text(item):
                return "holds an unpaired surrogate (\\ud800-\\udfff), which is not text"
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _json_word(number: float) -> str:
    """NaN, Infinity or -Infinity: how JSON writers spell what JSON does not allow."""
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Checked(BaseModel):
    """A request body whose every field is checked for values JSON allows but Loupe cannot store."""

    numbers: ClassVar[frozenset[str]] = frozenset()  # fields where true/false is not a number

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name in cls.numbers:
            raise ValueError(f"{info.field_name} must be a number, not true/false")
        problem = _problem(value)
        if problem:
            raise ValueError(f"{info.field_name} {problem}")
        return value

    @model_validator(mode="after")
    def _storable_extras(self) -> Any:
        for key, value in (self.model_extra or {}).items():
            problem = _problem(key) or _problem(value)
            if problem:
                raise ValueError(f"the extra field {_echo(key)!r} {problem}")
        return self


def _key(value: Any, info: ValidationInfo) -> Any:
    """conversation_id and external_id: text, or a whole number (stored as text)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
        kind = "true/false" if isinstance(value, bool) else type(value).__name__
        kind = {"float": "a number with a fraction", "list": "a list", "dict": "an object"}.get(kind, kind)
        raise ValueError(f"{info.field_name} must be text or a whole number, not {kind}")
    return value


class Feedback(_Checked):
    """What simple feedback endpoints send, plus the optional fields of Loupe's import format."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "example": {"question": "Where is my parcel?", "response": "It ships tomorrow.",
                    "rating": 4, "comment": "ok"}})
    numbers: ClassVar[frozenset[str]] = frozenset({"rating", "turn", "latency_ms"})
    question: str = Field(min_length=1, max_length=TEXT)
    response: str | None = Field(default=None, max_length=TEXT)
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=TEXT)
    thumbs: str | int | bool | None = None
    tags: list[str] | str | None = None
    ideal_answer: str | None = Field(default=None, max_length=TEXT)
    reviewer: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    variant: str | None = Field(default=None, max_length=200)
    created_at: str | None = Field(default=None, max_length=64)
    latency_ms: float | None = Field(default=None, ge=0, le=1e12)
    conversation_id: str | int | None = None
    turn: int | None = Field(default=None, ge=1, le=1_000_000)
    external_id: str | int | None = None
    meta: dict[str, Any] | None = None

    _keys = field_validator("conversation_id", "external_id", mode="before")(_key)


class Interaction(Feedback):
    """An interaction: ``answer`` (or ``response``) with optional ratings fields."""

    answer: str | None = Field(default=None, max_length=TEXT)


class Rating(_Checked):
    """A rating of a stored interaction, by the token's own reviewer (api:NAME) unless
    ``reviewer`` names another; rating again changes only the fields sent."""

    model_config = ConfigDict(extra="forbid")
    numbers: ClassVar[frozenset[str]] = frozenset({"interaction_id", "stars", "thumbs"})
    interaction_id: int = Field(ge=1, le=2**62)
    reviewer: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="another reviewer (needs the feedback:write-as scope)")
    stars: int | None = Field(default=None, ge=1, le=5)
    thumbs: int | None = Field(default=None, description="1 (up) or -1 (down)")
    comment: str | None = Field(default=None, max_length=TEXT)
    tags: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    ideal_answer: str | None = Field(default=None, max_length=TEXT)


def _echo(value: Any, limit: int = ECHO) -> Any:
    """A refused value as a 422 may repeat it: short, finite, and encodable."""
    if value is None or isinstance(value, (bool, int)):
        return value if not isinstance(value, int) or abs(value) < 10**ECHO else "a long number"
    if isinstance(value, float):
        return value if math.isfinite(value) else _json_word(value)
    if isinstance(value, str):
        text = value[:limit] + ("…" if len(value) > limit else "")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return None


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    """A 422 naming each refused field, safe to send whatever the request held."""
    detail = []
    for error in exc.errors():
        item: dict[str, Any] = {
            "loc": [_echo(part) if isinstance(part, str) else part for part in error.get("loc", ())],
            "msg": _echo(str(error.get("msg", "")), 1000),
            "type": error.get("type", "value_error"),
        }
        echoed = _echo(error.get("input"))
        if echoed is not None:
            item["input"] = echoed
        detail.append(item)
    return JSONResponse({"detail": detail}, status_code=422)


class Stored(BaseModel):
    """The outcome of a write."""

    id: int
    duplicate: bool = False


def _json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON, as FastAPI's own responses write it."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def feedback_stream(store: Store, after: int, limit: int, max_bytes: int) -> Iterator[bytes]:
    """``{"items": [...], "next_after": ID}`` written row by row: at most ``limit`` rows and
    ``max_bytes`` bytes (a first row larger than that is sent alone); ``next_after`` is the
    last id sent when more may follow, else null."""
    head, close = b'{"items":[', b'],"next_after":'
    sent, count, last, full = len(head) + len(close) + 21, 0, None, False  # 21: an id and "}"
    yield head
    batches = store.api.feedback_batches(after, limit)
    try:
        for batch in batches:
            for row in batch:
                chunk = (b"," if count else b"") + _json_bytes(row)
                if count and sent + len(chunk) > max_bytes:
                    full = True
                    break
                yield chunk
                sent += len(chunk)
                count += 1
                last = row["id"]
            if full:
                break
    finally:
        batches.close()
    yield close + _json_bytes(last if full or count == limit else None) + b"}"


def create_app(store: Store, *, max_body: int = MAX_BODY, default_rate: str = DEFAULT_RATE,
               max_response: int = MAX_RESPONSE) -> FastAPI:
    """The FastAPI application writing to ``store``."""
    app = FastAPI(title="Loupe feedback API", version="1",
                  description="Send questions, answers and ratings from production apps.")
    limiters: dict[str, RateLimiter] = {}
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(RequestValidationError)
    async def refused(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return JSONResponse({"detail": f"The request body is larger than {max_body:,} bytes."},
                                status_code=413)
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return JSONResponse(
                        {"detail": f"The request body is larger than {max_body:,} bytes."},
                        status_code=413)
            request._body = body  # noqa: SLF001 - the stream is consumed; keep it for the handler
        return await call_next(request)

    def token(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> dict[str, Any]:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "Send an API token as 'Authorization: Bearer <token>'.",
                                headers={"WWW-Authenticate": "Bearer"})
        record = store.users.token_by_digest(token_digest(credentials.credentials))
        if record is None:
            raise HTTPException(401, "This API token is unknown or revoked.",
                                headers={"WWW-Authenticate": "Bearer"})
        rate = record.get("rate") or default_rate
        limiter = limiters.setdefault(rate, RateLimiter.from_text(rate))
        ok, wait = limiter.allow(str(record["id"]))
        if not ok:
            raise HTTPException(429, f"Too many requests for this token ({rate}): retry later.",
                                headers={"Retry-After": str(retry_after(wait))})
        store.users.touch_token(record["id"])  # "last used" on the Users page, to the minute
        return record

    def scoped(scope: str, what: str) -> Any:
        """A dependency: the request's token, which must carry ``scope``."""
        return Depends(scope_check(scope, what))

    def scope_check(scope: str, what: str) -> Callable[..., dict[str, Any]]:
        """The check behind ``scoped``: the request's token, which must carry ``scope``."""
        def check(record: dict[str, Any] = Depends(token)) -> dict[str, Any]:
            if scope not in record["scopes"]:
                raise HTTPException(
                    403, f"This token lacks the scope {scope}, which {what} needs: create a token"
                         f" with it (Users page, or `tokens add NAME --scope {scope}`).",
                    headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
            return record
        return check

    def reviewer_for(record: dict[str, Any], named: str | None) -> str:
        """Who a write speaks for: the token's own reviewer, or the one it names when it may."""
        own = token_reviewer(record["name"])
        if named is None or named.strip() in ("", own):
            return own
        if WRITE_AS not in record["scopes"]:
            raise HTTPException(
                403, f"This token writes as {own!r}; naming another reviewer needs the scope"
                     f" {WRITE_AS}: leave reviewer out, or create a token with that scope.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{WRITE_AS}"'})
        return named.strip()

    def store_record(payload: dict[str, Any], record: dict[str, Any]) -> Stored:
        payload["reviewer"] = reviewer_for(record, payload.get("reviewer"))
        try:
            row = check_record(payload)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            outcome = store.api.add_api_record(row)
        except RatingRefused as exc:
            raise HTTPException(409, str(exc)) from None
        if outcome.conflicts:
            raise HTTPException(409, outcome.conflicts[0][1])
        interaction_id = store.api.interaction_for_record(row.external_id, row.content_hash)
        return Stored(id=int(interaction_id or 0), duplicate=outcome.added == 0)

    def plain(model: BaseModel) -> dict[str, Any]:
        return {k: v for k, v in model.model_dump().items() if v is not None}

    writes: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 409: {}, 413: {}, 422: {},
                                               429: {}}

    @app.post("/submit_feedback/", response_model=Stored, status_code=201, responses=writes)
    def submit_feedback(feedback: Feedback,
                        record: dict = scoped(WRITE, "sending feedback")) -> Stored:
        """Store a question, its answer and a rating as a simple feedback endpoint sends them."""
        return store_record(plain(feedback), record)

    @app.post("/v1/interactions", response_model=Stored, status_code=201, responses=writes)
    def add_interaction(interaction: Interaction,
                        record: dict = scoped(WRITE, "sending interactions")) -> Stored:
        """Store one interaction (question and answer, optionally rated)."""
        return store_record(plain(interaction), record)

    @app.post("/v1/ratings", response_model=Stored, status_code=201,
              responses={**writes, 404: {}})
    def add_rating(rating: Rating, record: dict = scoped(WRITE, "rating")) -> Stored:
        """Rate a stored interaction; rating again changes only the fields sent (a field sent
        as null is cleared). Never replaces a rating written on the dashboard."""
        if rating.thumbs not in (None, 1, -1):
            raise HTTPException(422, '"thumbs" must be 1 (up) or -1 (down)')
        reviewer = reviewer_for(record, rating.reviewer)
        changes = rating.model_dump(include=rating.model_fields_set - {"interaction_id", "reviewer"})
        try:
            rating_id = store.api.save_api_rating(rating.interaction_id, reviewer, changes)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        except RatingRefused as exc:
            raise HTTPException(409, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return Stored(id=rating_id)

    @app.get("/feedback/", responses={
        200: {"content": {"application/json": {"example": {"items": [], "next_after": None}}}},
        401: {}, 403: {}, 429: {}})
    def list_feedback(
        after: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        _: dict = scoped(READ, "reading feedback"),
    ) -> StreamingResponse:
        """Interactions with their ratings, oldest first, streamed: at most `limit` rows and
        about 8 MB; pass `next_after` as `after` to get the next page (null: nothing more)."""
        return StreamingResponse(feedback_stream(store, after, limit, max_response),
                                 media_type="application/json")

    app.include_router(traces_router(store, scope_check(WRITE, "sending traces"),
                                     max_body=max_body))

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Whether the service and its database answer."""
        return {"ok": True, "time": time.time()}

    return app
