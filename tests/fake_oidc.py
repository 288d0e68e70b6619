"""A fake OpenID Connect provider on a loopback port, for Streamlit's st.login.

It serves the discovery document, an authorization endpoint that signs in ``user`` at once
(no consent screen) and sends the browser back with a code, a token endpoint that swaps the
code (once) for an RS256-signed ID token carrying the nonce, and the JWKS to check it with.
"""

from __future__ import annotations

import json
import secrets
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.loopback import LoopbackServer

CLIENT_ID = "loupe-tests"
CLIENT_SECRET = "loupe-tests-secret"


class FakeOidc(LoopbackServer):
    """Run with ``with FakeOidc(user) as idp:``; ``idp.metadata_url`` goes in [auth]."""

    def __init__(self, user: dict[str, Any]) -> None:
        self.user = dict(user)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self._serve(self._handler())

    @property
    def issuer(self) -> str:
        return self.address

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def _metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def _id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 600,
                  **self.user}
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)

    def _handler(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                idp.requests.append(parts.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, idp._metadata())
                elif parts.path == "/jwks":
                    self._json(200, {"keys": [idp.key.as_dict(private=False)]})
                elif parts.path == "/authorize":
                    if query.get("client_id") != CLIENT_ID:
                        self._json(400, {"error": "unauthorized_client"})
                        return
                    code = secrets.token_urlsafe(16)
                    idp.codes[code] = {"nonce": query.get("nonce"),
                                       "redirect_uri": query["redirect_uri"]}
                    target = query["redirect_uri"] + "?" + urlencode(
                        {"code": code, "state": query.get("state", "")})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                idp.requests.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                grant = idp.codes.pop(form.get("code", ""), None)
                if self.path != "/token" or grant is None \
                        or form.get("redirect_uri") != grant["redirect_uri"]:
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(200, {"access_token": secrets.token_urlsafe(16),
                                 "token_type": "Bearer", "expires_in": 600,
                                 "id_token": idp._id_token(grant["nonce"])})

        return Handler
