"""Downloads that resume, retry and fall back to mirrors, each copy checksum-verified —
against loopback HTTP servers."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from bench import download as downloads
from bench.datafiles import Archive
from bench.download import download, partial_path
from bench.errors import UserError


class RangeServer:
    """A loopback server of one file that honours `Range: bytes=N-` (206), and whose first
    `drop_first` responses stop half-way (a connection that dies mid-transfer)."""

    def __init__(self, payload: bytes, drop_first: int = 0):
        self.payload, self.drops, self.requests = payload, drop_first, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                start = int(self.headers.get("Range", "bytes=0-")[6:].rstrip("-") or 0)
                server.requests.append(start)
                body = server.payload[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                self.end_headers()
                if server.drops:
                    server.drops -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/file.bin"

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def payload():
    return bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(downloads, "BACKOFF_S", 0.0)


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path, payload):
    server = RangeServer(payload, drop_first=1)
    try:
        path = download(server.url, tmp_path / "file.bin", algorithm="md5", expected=hashlib.md5(payload).hexdigest(),
                        progress=False)
    finally:
        server.close()
    assert path.read_bytes() == payload and not partial_path(path).exists()
    assert server.requests == [0, len(payload) // 2]  # the retry asked for the second half only


def test_a_download_cut_in_one_fetch_resumes_in_the_next(tmp_path, payload):
    server = RangeServer(payload, drop_first=1)
    destination = tmp_path / "file.bin"
    md5 = hashlib.md5(payload).hexdigest()
    try:
        with pytest.raises(UserError, match="the partial file is kept: the next try resumes it"):
            download(server.url, destination, algorithm="md5", expected=md5, progress=False, retries=1)
        assert partial_path(destination).stat().st_size == len(payload) // 2 and not destination.exists()
        download(server.url, destination, algorithm="md5", expected=md5, progress=False)  # `bench data fetch` again
    finally:
        server.close()
    assert destination.read_bytes() == payload and server.requests == [0, len(payload) // 2]


def test_a_mirror_is_used_when_the_first_url_fails_and_each_copy_is_verified(tmp_path, http_root, payload):
    served, base = http_root
    (served / "wrong").mkdir()
    (served / "wrong" / "data.tar").write_bytes(b"another version")  # a mirror with the wrong file
    (served / "good").mkdir()
    (served / "good" / "data.tar").write_bytes(payload)
    archive = Archive(f"{base}/gone/data.tar", md5=hashlib.md5(payload).hexdigest(), destination="data",
                      mirrors=(f"{base}/wrong/data.tar", f"{base}/good/data.tar"))
    path = download([archive.url, *archive.mirrors], tmp_path / "data.tar", algorithm="md5", expected=archive.md5,
                    progress=False)
    assert path.read_bytes() == payload

    with pytest.raises(UserError) as error:
        download([archive.url, f"{base}/wrong/data.tar"], tmp_path / "again.tar", algorithm="md5", expected=archive.md5,
                 progress=False)
    message = str(error.value)
    assert "\n" not in message and f"{base}/gone/data.tar: File not found" in message
    assert f"{base}/wrong/data.tar: md5 is" in message and not (tmp_path / "again.tar").exists()
