"""Two small HTTP routes served beside Streamlit's own, for sign-in cookies, and a guard in
front of Streamlit's.

A Streamlit page talks to its browser over a WebSocket and cannot set an HttpOnly cookie, so
signing in ends with the page sending the browser to ``/_loupe/session?code=...``: that route
swaps the one-time code for a random session token, sets it as a signed, HttpOnly cookie (and
a device cookie saying this browser signed in as that name) and sends the browser back to the
page it came from. Streamlit's own ``st.login`` works the same way (its ``/auth/...`` routes
set a signed ``_streamlit_user`` cookie).

Signing out is the sidebar's button: it ends the session record over the page's WebSocket,
which Streamlit opens only for this server's own pages (origin check and XSRF token), then
sends the browser to ``/_loupe/signout``. That route only deletes a cookie whose session is
already over: any page can make a browser fetch an address (an image, a link), so a request
to it must never end a live session.

``HiddenRoutes`` answers 404 for Streamlit's ``/_stcore/metrics``, which would otherwise tell
anyone, signed in or not, how many sessions and what caches the server holds.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.auth import (
    DEVICE_COOKIE,
    DEVICE_COOKIE_SECONDS,
    SESSION_COOKIE,
    device_cookie_name,
    new_secret,
    safe_next,
    sign_cookie,
    token_digest,
    unsign_cookie,
)
from store import Store, default_db_path
from store.dates import read_utc_text

SESSION_PATH = "/_loupe/session"
SIGNOUT_PATH = "/_loupe/signout"
HIDDEN_PATHS = ("/_stcore/metrics",)  # Streamlit routes this server never answers
COOKIE_KEY_NAME = "session_cookie_key"
STREAMLIT_USER_COOKIE = "_streamlit_user"  # set by st.login; cleared by Streamlit's /auth/logout

_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def _store() -> Store:
    """This process's Store for the routes (the pages open their own through Streamlit)."""
    path = default_db_path()
    with _stores_lock:
        if path not in _stores:
            _stores[path] = Store(path)
        return _stores[path]


def base_path() -> str:
    """Streamlit's ``server.baseUrlPath`` as '' or '/prefix'."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def session_url(code: str, next_path: str) -> str:
    """Where the browser swaps a one-time sign-in code for its session cookie."""
    return f"{base_path()}{SESSION_PATH}?{urlencode({'code': code, 'next': next_path})}"


def signout_url(next_path: str = "/") -> str:
    """Where the browser deletes its session cookie (and ends that session)."""
    return f"{base_path()}{SIGNOUT_PATH}?{urlencode({'next': next_path})}"


def cookie_key(store: Store) -> str:
    """The key that signs session cookies, kept in the database so restarts keep sessions."""
    return store.users.app_secret(COOKIE_KEY_NAME)


def token_from_cookie(store: Store, cookie: str | None) -> str | None:
    """The session token in a signed cookie value, or None when absent or forged."""
    return unsign_cookie(cookie_key(store), SESSION_COOKIE, cookie)


def _secure() -> bool:
    from streamlit import config

    return bool(config.get_option("server.sslCertFile"))


def _expired_page() -> HTMLResponse:
    home = base_path() + "/"
    return HTMLResponse(
        "<!doctype html><title>Loupe</title><p>This sign-in link has expired or was already used."
        f' <a href="{home}">Sign in again</a>.</p>', status_code=400)


def swap_code(request: Request) -> Response:
    """GET /_loupe/session?code=...&next=/page: set the session cookie, go back to the page."""
    store = _store()
    code = request.query_params.get("code", "")
    home = base_path() + "/"
    next_path = safe_next(request.query_params.get("next"), home)
    if not code:
        return _expired_page()
    token = new_secret()
    session = store.users.redeem_sign_in_code(token_digest(code), token_digest(token))
    if session is None:
        return _expired_page()
    expires = read_utc_text(session["expires_at"])
    max_age = max(0, int((expires - datetime.now(UTC)).total_seconds()))
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(SESSION_COOKIE, sign_cookie(cookie_key(store), SESSION_COOKIE, token),
                        max_age=max_age, path=home, httponly=True, samesite="lax",
                        secure=_secure())
    response.set_cookie(DEVICE_COOKIE, sign_cookie(cookie_key(store),
                                                   device_cookie_name(session["name"]),
                                                   new_secret()),
                        max_age=DEVICE_COOKIE_SECONDS, path=home, httponly=True, samesite="lax",
                        secure=_secure())
    response.headers["Cache-Control"] = "no-store"
    return response


def forget_cookie(request: Request) -> Response:
    """GET /_loupe/signout: after the sign-out button ended the session, delete its cookie and
    go back (through Streamlit's own sign-out when the identity provider signed this browser
    in). A cookie whose session is still live is kept: this address never signs anyone out."""
    store = _store()
    home = base_path() + "/"
    target = safe_next(request.query_params.get("next"), home)
    token = token_from_cookie(store, request.cookies.get(SESSION_COOKIE))
    if token and store.users.session_by_token(token_digest(token)) is not None:
        response = RedirectResponse(target, status_code=303)
        response.headers["Cache-Control"] = "no-store"
        return response
    if STREAMLIT_USER_COOKIE in request.cookies:
        target = base_path() + "/auth/logout"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=home, httponly=True, samesite="lax",
                           secure=_secure())
    response.headers["Cache-Control"] = "no-store"
    return response


def routes() -> list[Route]:
    """The routes to serve beside Streamlit's (under ``server.baseUrlPath``)."""
    base = base_path()
    return [
        Route(base + SESSION_PATH, swap_code, methods=["GET"]),
        Route(base + SIGNOUT_PATH, forget_cookie, methods=["GET"]),
    ]


class HiddenRoutes:
    """ASGI middleware: 404 for the Streamlit routes in HIDDEN_PATHS, whatever the method.

    Streamlit refuses app routes under ``/_stcore/``, so a route cannot shadow them; this runs
    before Streamlit's own routing instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.hidden = {base_path() + path for path in HIDDEN_PATHS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") in self.hidden:
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def middleware() -> list[Middleware]:
    """The middleware to run before Streamlit's."""
    return [Middleware(HiddenRoutes)]
