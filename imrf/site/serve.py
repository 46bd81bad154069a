"""Serving the built site on 127.0.0.1 (what `imrf run` does beside the Prefect UI).

A plain static server for an operator's machine, not a public web server: it answers only
on the loopback address, lists no folders, serves no dot files (the manifests), and tells
browsers not to guess content types (a submitter's document is never run as a page).
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import urllib.parse
from functools import partial
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
PORT = 4280  # tried first, so the address stays the same between runs; else any free port


class _Handler(http.server.SimpleHTTPRequestHandler):
    def send_head(self) -> Any:
        path = urllib.parse.unquote(self.path.split("?")[0].split("#")[0])
        if any(part.startswith(".") for part in path.replace("\\", "/").split("/")):
            self.send_error(404)
            return None
        return super().send_head()

    def list_directory(self, path: Any) -> Any:
        self.send_error(404)
        return None

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy",
                         "default-src 'none'; style-src 'self'; img-src 'self'; "
                         "base-uri 'none'; form-action 'none'")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the operator's terminal shows the orchestrator's output


class SiteServer:
    """The site's folder served from a daemon thread until :meth:`stop`."""

    def __init__(self, directory: Path, *, host: str = HOST, port: int = PORT) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        handler = partial(_Handler, directory=str(directory))
        try:
            self._server = http.server.ThreadingHTTPServer((host, port), handler)
        except OSError:
            self._server = http.server.ThreadingHTTPServer((host, 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="imrf-site", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._server.shutdown()
            self._server.server_close()
