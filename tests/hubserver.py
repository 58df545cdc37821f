"""A local HTTP server speaking the Hugging Face Hub's download protocol, for tests and benches.

It answers what the real `huggingface_hub` client (and rbee) sends (see
../shared/notes/hf-hub-protocol.md):

- `GET /api/models/{org}/{name}` and `.../revision/{rev}`: `{"id", "sha", "siblings"}`;
- `GET /api/models/{org}/{name}/tree/{rev}?recursive=...`: the file list with `oid`, `size` and,
  for LFS files, `lfs: {oid, size, pointerSize}`;
- `HEAD`/`GET /{org}/{name}/resolve/{rev}/{path}` with `X-Repo-Commit`, `ETag` and
  `X-Linked-Etag`/`X-Linked-Size`, `Accept-Ranges`, and `Range: bytes=N-` answered by 206;
- errors as the Hub sends them: 404 with `X-Error-Code: RepoNotFound | RevisionNotFound |
  EntryNotFound`, 401 with `GatedRepo` for a gated repo asked without its token.

Faults for tests: a file can be `corrupt` (served bytes differ from the advertised digest),
`declared_size` (the listing claims another size), `drop_after` (the connection is cut after N
bytes, `drop_times` times), `pause_after` (the server stops sending after N bytes until
`release()`), and `rate` (bytes per second). Every request is logged (`requests`) with the
bytes of content sent, so tests can assert what a resume transferred.

Run it by hand: `python -m tests.hubserver DIR` serves every folder `DIR/org/name` as a repo.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx", ".h5", ".msgpack")
CHUNK = 1 << 20


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HubFile:
    """One file of a fake repo: its bytes come from `source` (a file on disk) or `data`."""

    def __init__(
        self,
        path: str,
        *,
        data: bytes | None = None,
        source: Path | None = None,
        lfs: bool | None = None,
    ) -> None:
        assert (data is None) != (source is None)
        self.path = path
        self.data = data
        self.source = source
        self.size = len(data) if data is not None else os.path.getsize(source)  # type: ignore[arg-type]
        self.lfs = path.endswith(LFS_SUFFIXES) if lfs is None else lfs
        self.sha256 = hashlib.sha256(data).hexdigest() if data is not None else None
        self._blob: str | None = None
        # Faults
        self.corrupt = False
        self.declared_size: int | None = None
        self.drop_after: int | None = None
        self.drop_times = 1
        self.pause_after: int | None = None
        self.released = threading.Event()
        self.paused = threading.Event()
        self.paused_count = 0
        """Requests that reached `pause_after` (all of them wait for `release`)."""

    def content_sha256(self) -> str:
        if self.sha256 is None:
            assert self.source is not None
            self.sha256 = sha256_of_file(self.source)
        return self.sha256

    def blob_id(self) -> str:
        if self._blob is None:
            if self.lfs:
                # The git blob of an LFS file is its pointer file.
                pointer = (
                    "version https://git-lfs.github.com/spec/v1\n"
                    f"oid sha256:{self.content_sha256()}\nsize {self.size}\n"
                ).encode()
                self._blob = git_blob_sha1(pointer)
            else:
                self._blob = git_blob_sha1(self.read_all())
        return self._blob

    def read_all(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.source is not None
        return self.source.read_bytes()

    @property
    def advertised_size(self) -> int:
        return self.size if self.declared_size is None else self.declared_size

    def etag(self) -> str:
        return self.content_sha256() if self.lfs else self.blob_id()

    def tree_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "file",
            "path": self.path,
            "size": self.advertised_size,
            "oid": self.blob_id(),
        }
        if self.lfs:
            entry["lfs"] = {
                "oid": self.content_sha256(),
                "size": self.advertised_size,
                "pointerSize": 134,
            }
        return entry

    def chunks(self, start: int) -> Iterator[bytes]:
        """The served bytes from `start` (corrupted when asked: one byte flipped mid-file)."""
        flip = self.size // 2 if self.corrupt else -1
        if self.data is not None:
            blocks: Iterator[bytes] = iter(
                [self.data[i : i + CHUNK] for i in range(start, self.size, CHUNK)]
            )
        else:
            blocks = _file_blocks(self.source, start)  # type: ignore[arg-type]
        position = start
        for block in blocks:
            served = block
            if position <= flip < position + len(block):
                mutable = bytearray(block)
                mutable[flip - position] ^= 0xFF
                served = bytes(mutable)
            position += len(served)
            yield served


def _file_blocks(path: Path, start: int) -> Iterator[bytes]:
    with open(path, "rb") as file:
        file.seek(start)
        while block := file.read(CHUNK):
            yield block


class HubRepo:
    def __init__(self, repo_id: str, commit: str | None = None) -> None:
        self.repo_id = repo_id
        self.commit = commit or hashlib.sha1(repo_id.encode()).hexdigest()
        self.branches: dict[str, str] = {"main": self.commit}
        self.files: dict[str, HubFile] = {}
        self.gated_token: str | None = None
        """When set, every request needs `Authorization: Bearer <gated_token>`, else 401."""

    def add(self, path: str, **options: Any) -> HubFile:
        hub_file = HubFile(path, **options)
        self.files[path] = hub_file
        return hub_file

    def add_folder(self, folder: Path) -> None:
        for item in sorted(folder.rglob("*")):
            if item.is_file():
                self.add(item.relative_to(folder).as_posix(), source=item)

    def resolve(self, revision: str) -> str | None:
        if revision in self.branches:
            return self.branches[revision]
        if revision == self.commit:
            return self.commit
        return None


class RequestLog:
    __slots__ = ("body_bytes", "headers", "method", "path", "status")

    def __init__(self, method: str, path: str, headers: dict[str, str]) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.status = 0
        self.body_bytes = 0

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} {self.status} {self.body_bytes}B>"


class FakeHub:
    """The server: `with FakeHub() as hub: hub.repo("org/name").add(...)`; `hub.url`."""

    def __init__(self, rate: int | None = None) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[RequestLog] = []
        self.rate = rate
        self._lock = threading.Lock()
        hub = self

        class Handler(_Handler):
            owner = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def repo(self, repo_id: str, commit: str | None = None) -> HubRepo:
        if repo_id not in self.repos:
            self.repos[repo_id] = HubRepo(repo_id, commit)
        return self.repos[repo_id]

    def start(self) -> FakeHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        for repo in self.repos.values():
            for hub_file in repo.files.values():
                hub_file.released.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self, entry: RequestLog) -> None:
        with self._lock:
            self.requests.append(entry)

    def downloads(self, path_suffix: str = "") -> list[RequestLog]:
        """The GETs of file contents (resolve URLs), optionally of one file."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "GET" and "/resolve/" in r.path and r.path.endswith(path_suffix)
            ]

    def bytes_sent(self, path_suffix: str = "") -> int:
        return sum(r.body_bytes for r in self.downloads(path_suffix))

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_API = re.compile(
    r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/(?P<kind>revision|tree)/(?P<rev>[^/?]+)(?P<rest>/.*)?)?$"
)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    # -- plumbing -------------------------------------------------------------------------

    def _start(self) -> RequestLog:
        entry = RequestLog(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        self.owner.log(entry)
        return entry

    def _send(
        self,
        entry: RequestLog,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        entry.status = status
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(
        self, entry: RequestLog, document: Any, headers: dict[str, str] | None = None
    ) -> None:
        self._send(
            entry,
            200,
            json.dumps(document).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    def _error(self, entry: RequestLog, status: int, code: str, message: str) -> None:
        self._send(
            entry,
            status,
            json.dumps({"error": message}).encode(),
            {"Content-Type": "application/json", "X-Error-Code": code, "X-Error-Message": message},
        )

    def _repo(self, entry: RequestLog, repo_id: str) -> HubRepo | None:
        repo = self.owner.repos.get(urllib.parse.unquote(repo_id))
        if repo is None:
            self._error(entry, 404, "RepoNotFound", "Repository not found")
            return None
        if repo.gated_token is not None and (
            self.headers.get("Authorization") != f"Bearer {repo.gated_token}"
        ):
            self._error(entry, 401, "GatedRepo", f"Access to model {repo_id} is restricted.")
            return None
        return repo

    # -- methods ----------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        entry = self._start()
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        api = _API.match(path)
        if api:
            self._api(entry, api, parsed.query)
            return
        resolve = _RESOLVE.match(path)
        if resolve:
            self._resolve(entry, resolve)
            return
        self._send(entry, 404, b"not found", {"Content-Type": "text/plain"})

    def _api(self, entry: RequestLog, match: re.Match[str], query: str) -> None:
        repo = self._repo(entry, match.group("repo"))
        if repo is None:
            return
        kind = match.group("kind")
        revision = urllib.parse.unquote(match.group("rev") or "main")
        commit = repo.resolve(revision)
        if commit is None:
            self._error(entry, 404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        files = sorted(repo.files.values(), key=lambda f: f.path)
        if kind == "tree":
            self._json(entry, [f.tree_entry() for f in files])
            return
        self._json(
            entry,
            {
                "_id": repo.repo_id,
                "id": repo.repo_id,
                "modelId": repo.repo_id,
                "sha": commit,
                "private": False,
                "gated": repo.gated_token is not None,
                "siblings": [{"rfilename": f.path} for f in files],
                "tags": [],
                "downloads": 0,
                "likes": 0,
            },
        )

    def _resolve(self, entry: RequestLog, match: re.Match[str]) -> None:
        repo = self._repo(entry, match.group("repo"))
        if repo is None:
            return
        revision = urllib.parse.unquote(match.group("rev"))
        commit = repo.resolve(revision)
        if commit is None:
            self._error(entry, 404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return
        file_path = urllib.parse.unquote(match.group("path"))
        hub_file = repo.files.get(file_path)
        if hub_file is None:
            self._error(entry, 404, "EntryNotFound", f"{file_path} does not exist")
            return
        etag = f'"{hub_file.etag()}"'
        headers = {
            "X-Repo-Commit": commit,
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        if hub_file.lfs:
            headers["X-Linked-Etag"] = etag
            headers["X-Linked-Size"] = str(hub_file.advertised_size)
        start = 0
        status = 200
        range_header = self.headers.get("Range")
        if range_header:
            found = re.fullmatch(r"bytes=(\d+)-", range_header.strip())
            if found:
                start = int(found.group(1))
                if start >= hub_file.size:
                    headers["Content-Range"] = f"bytes */{hub_file.size}"
                    self._send(entry, 416, b"", headers)
                    return
                status = 206
                headers["Content-Range"] = f"bytes {start}-{hub_file.size - 1}/{hub_file.size}"
        length = hub_file.size - start
        entry.status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD":
            return
        self._body(entry, hub_file, start)

    def _body(self, entry: RequestLog, hub_file: HubFile, start: int) -> None:
        position = start
        rate = self.owner.rate
        began = time.monotonic()
        try:
            for block in hub_file.chunks(start):
                if (
                    hub_file.pause_after is not None
                    and position + len(block) > hub_file.pause_after
                ):
                    cut = max(0, hub_file.pause_after - position)
                    if cut:
                        self.wfile.write(block[:cut])
                        self.wfile.flush()
                        entry.body_bytes += cut
                        position += cut
                    with self.owner._lock:
                        hub_file.paused_count += 1
                    hub_file.paused.set()
                    hub_file.released.wait()
                    hub_file.pause_after = None
                    # A paused transfer is only ever ended by the client going away.
                    self.close_connection = True
                    return
                if hub_file.drop_after is not None and position + len(block) > hub_file.drop_after:
                    cut = max(0, hub_file.drop_after - position)
                    self.wfile.write(block[:cut])
                    self.wfile.flush()
                    entry.body_bytes += cut
                    hub_file.drop_times -= 1
                    if hub_file.drop_times <= 0:
                        hub_file.drop_after = None
                    self.close_connection = True
                    return
                self.wfile.write(block)
                entry.body_bytes += len(block)
                position += len(block)
                if rate:
                    ahead = (position - start) / rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def main() -> None:  # pragma: no cover - a manual tool
    import sys

    root = Path(sys.argv[1])
    hub = FakeHub()
    for org in sorted(root.iterdir()):
        for name in sorted(org.iterdir()):
            hub.repo(f"{org.name}/{name.name}").add_folder(name)
    hub.start()
    print(f"HF_ENDPOINT={hub.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
