"""A fake HTTP server on a free loopback port, served on a thread for the length of a `with`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    """Base of the fake servers: ``with Fake(...) as server:`` serves until the block ends."""

    def _serve(self, handler: type[BaseHTTPRequestHandler], *, quiet: bool = False) -> None:
        """Bind ``handler`` to a free port on 127.0.0.1; ``quiet`` drops tracebacks of clients
        that hung up."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        if quiet:
            self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _stopping(self) -> None:
        """Called first when the block ends: release requests that are waiting."""

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping()
        self._server.shutdown()
        self._server.server_close()
