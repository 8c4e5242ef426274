"""A stand-in for the few Hugging Face Hub endpoints a snapshot download asks, served on 127.0.0.1.

It answers what huggingface_hub needs and nothing more: the repository's commit (`/api/models/R/revision/main`),
its file list (`/api/models/R/tree/SHA`), and each file (`/R/resolve/SHA/NAME`, HEAD and GET), sent at a
set rate so that a test can watch a download's progress and pause it half-way. Nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

COMMIT = "a" * 40
CHUNK = 64 * 1024


class FakeHub:
    def __init__(self, repo_id: str, files: dict[str, bytes], *, bytes_per_second: int) -> None:
        self.repo_id, self.files, self.rate = repo_id, files, bytes_per_second
        self.searches: list[dict[str, list[str]]] = []  # the query of each model search, as received
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: the test's output is the assertions
                pass

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
                hub.answer(self, send_body=False)

            def do_GET(self) -> None:  # noqa: N802
                hub.answer(self, send_body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: BaseHTTPRequestHandler, *, send_body: bool) -> None:
        path, _, query = request.path.partition("?")
        api = f"/api/models/{self.repo_id}"
        if path == "/api/models":  # a search: this one repository, described as the Hub describes it
            self.searches.append(parse_qs(query))
            found = {"id": self.repo_id, "modelId": self.repo_id, "pipeline_tag": "fill-mask", "downloads": 1234, "likes": 5,
                     "gated": False, "cardData": {"license": "apache-2.0"}, "safetensors": {"parameters": {"F32": 4096 * 1024}, "total": 4096 * 1024}}
            return self._json(request, [found], send_body)
        if path in (f"{api}/revision/main", f"{api}/revision/{COMMIT}"):
            siblings = [{"rfilename": name} for name in self.files]
            return self._json(request, {"id": self.repo_id, "sha": COMMIT, "siblings": siblings}, send_body)
        if path.startswith(f"{api}/tree/"):
            listing = [{"type": "file", "path": name, "size": len(data), "oid": _etag(data)} for name, data in self.files.items()]
            return self._json(request, listing, send_body)
        prefix = f"/{self.repo_id}/resolve/{COMMIT}/"
        if path.startswith(prefix) and path[len(prefix):] in self.files:
            data = self.files[path[len(prefix):]]
            request.send_response(200)
            request.send_header("X-Repo-Commit", COMMIT)
            request.send_header("ETag", f'"{_etag(data)}"')
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            if send_body:
                try:
                    for start in range(0, len(data), CHUNK):
                        request.wfile.write(data[start : start + CHUNK])
                        time.sleep(CHUNK / self.rate)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the download process was stopped (paused) mid-file
            return None
        request.send_response(404)
        request.send_header("Content-Length", "0")
        request.end_headers()
        return None

    @staticmethod
    def _json(request: BaseHTTPRequestHandler, value: object, send_body: bool) -> None:
        data = json.dumps(value).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if send_body:
            request.wfile.write(data)


def _etag(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()
