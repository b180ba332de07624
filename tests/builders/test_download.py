"""Tests of builders.download against loopback HTTP and FTP servers started by the tests (no network)."""

from __future__ import annotations

import hashlib
import logging
import random
import re
import shutil
import socket
import socketserver
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gbhub.builders import download as dl
from gbhub.builders.errors import ChecksumError, DownloadError

PAYLOAD = random.Random(20230101).randbytes(300_000)
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
NAME = "Toy_genome.dna.toplevel.fa.gz"


def _python_bsd_line(data: bytes, name: str) -> str:
    """A CHECKSUMS line computed here independently of the module (literal algorithm)."""
    checksum = 0
    for byte in data:
        checksum = (checksum >> 1) + ((checksum & 1) << 15)
        checksum = (checksum + byte) & 0xFFFF
    return f"{checksum:05d} {-(-len(data) // 1024):>6} {name}"


# ---------------------------------------------------------------------------------------------- HTTP server


class _Handler(BaseHTTPRequestHandler):
    """Serves `server.files`; honours Range unless `server.ignore_range`; can drop after N bytes."""

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and not srv.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        drop = srv.drop_after.pop(self.path, None)  # one-shot
        self.wfile.write(body if drop is None else body[:drop])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.requests, srv.drop_after, srv.ignore_range = {}, [], {}, False
    srv.files[f"/pub/{NAME}"] = PAYLOAD
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture
def dest(tmp_path) -> Path:
    return tmp_path / "cache" / NAME


def _url(server) -> str:
    return f"{server.base}/pub/{NAME}"


# ------------------------------------------------------------------------------------------------- HTTP


def test_plain_download_returns_sha256_and_leaves_no_part(server, dest):
    digest = dl.download(_url(server), dest, sha256=PAYLOAD_SHA256, progress=True, chunk_size=8192)
    assert digest == PAYLOAD_SHA256
    assert dest.read_bytes() == PAYLOAD
    assert not dl.part_path(dest).exists()
    assert server.requests == [(f"/pub/{NAME}", None)]


def test_interrupted_download_keeps_part_and_resumes_with_range(server, dest):
    server.drop_after[f"/pub/{NAME}"] = 100_000
    with pytest.raises(DownloadError) as err:
        dl.download(_url(server), dest, sha256=PAYLOAD_SHA256, progress=False, chunk_size=4096)
    message = str(err.value)
    assert "100,000 of 300,000 bytes" in message
    assert str(dl.part_path(dest)) in message and "resume" in message
    assert not dest.exists()
    assert dl.part_path(dest).stat().st_size == 100_000

    assert dl.download(_url(server), dest, sha256=PAYLOAD_SHA256, progress=False) == PAYLOAD_SHA256
    assert server.requests[-1] == (f"/pub/{NAME}", "bytes=100000-")
    assert dest.read_bytes() == PAYLOAD
    assert not dl.part_path(dest).exists()


def test_server_ignoring_range_restarts_from_zero(server, dest):
    server.ignore_range = True
    dl.part_path(dest).parent.mkdir(parents=True)
    dl.part_path(dest).write_bytes(b"stale bytes that must not survive")
    assert dl.download(_url(server), dest, sha256=PAYLOAD_SHA256, progress=False) == PAYLOAD_SHA256
    assert server.requests[-1][1] == "bytes=33-"
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_is_finished_after_416(server, dest):
    dest.parent.mkdir(parents=True)
    dl.part_path(dest).write_bytes(PAYLOAD)
    assert dl.download(_url(server), dest, sha256=PAYLOAD_SHA256, progress=False) == PAYLOAD_SHA256
    assert dest.read_bytes() == PAYLOAD


def test_sha256_mismatch_raises_and_deletes_part(server, dest):
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as err:
        dl.download(_url(server), dest, sha256=wrong, progress=False)
    message = str(err.value)
    assert wrong in message and PAYLOAD_SHA256 in message and _url(server) in message
    assert not dest.exists()
    assert not dl.part_path(dest).exists()


def test_malformed_pin_is_rejected(server, dest):
    with pytest.raises(ChecksumError, match="not 64 hex digits"):
        dl.download(_url(server), dest, sha256="abc", progress=False)
    assert server.requests == []


def test_checksums_good(server, dest):
    server.files["/pub/CHECKSUMS"] = (
        f"12345 7 other.fa.gz\n{_python_bsd_line(PAYLOAD, NAME)}\n".encode()
    )
    digest = dl.download(_url(server), dest, checksums_url=f"{server.base}/pub/CHECKSUMS", progress=False)
    assert digest == PAYLOAD_SHA256 and dest.exists()


def test_checksums_bsd_mismatch_raises(server, dest):
    line = _python_bsd_line(PAYLOAD, NAME)
    good_sum = int(line.split()[0])
    server.files["/pub/CHECKSUMS"] = f"{(good_sum + 1) % 65536} {line.split()[1]} {NAME}\n".encode()
    with pytest.raises(ChecksumError) as err:
        dl.download(_url(server), dest, checksums_url=f"{server.base}/pub/CHECKSUMS", progress=False)
    assert "CHECKSUMS" in str(err.value) and NAME in str(err.value)
    assert not dest.exists() and not dl.part_path(dest).exists()


def test_checksums_block_count_mismatch_raises(server, dest):
    good_sum, blocks = _python_bsd_line(PAYLOAD, NAME).split()[:2]
    server.files["/pub/CHECKSUMS"] = f"{good_sum} {int(blocks) + 1} {NAME}\n".encode()
    with pytest.raises(ChecksumError):
        dl.download(_url(server), dest, checksums_url=f"{server.base}/pub/CHECKSUMS", progress=False)


def test_checksums_without_the_line_warns_and_succeeds(server, dest, caplog):
    server.files["/pub/CHECKSUMS"] = b"12345 7 other.fa.gz\n"
    with caplog.at_level(logging.WARNING, logger="gbhub.builders.download"):
        digest = dl.download(_url(server), dest, checksums_url=f"{server.base}/pub/CHECKSUMS", progress=False)
    assert digest == PAYLOAD_SHA256 and dest.exists()
    assert any("no line for" in r.getMessage() and NAME in r.getMessage() for r in caplog.records)


def test_checksums_unreachable_warns_and_succeeds(server, dest, caplog):
    with caplog.at_level(logging.WARNING, logger="gbhub.builders.download"):
        dl.download(_url(server), dest, checksums_url=f"{server.base}/pub/MISSING", progress=False)
    assert dest.exists()
    assert any("could not fetch the checksum list" in r.getMessage() for r in caplog.records)


def test_md5sum_style_list_is_understood(server, dest):
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    server.files["/md5sum.txt"] = f"{'f' * 32}  other.fa.gz\n{md5}  {NAME}\n".encode()
    dl.download(_url(server), dest, checksums_url=f"{server.base}/md5sum.txt", progress=False)
    assert dest.exists()
    server.files["/bad.txt"] = f"{'f' * 32} *{NAME}\n".encode()
    other = dest.with_name("copy.fa.gz")
    with pytest.raises(ChecksumError):
        dl.download(_url(server), other, checksums_url=f"{server.base}/bad.txt", progress=False)


def test_existing_dest_is_verified_not_downloaded(server, dest):
    dest.parent.mkdir(parents=True)
    dest.write_bytes(PAYLOAD)
    assert dl.download(_url(server), dest, sha256=PAYLOAD_SHA256, progress=False) == PAYLOAD_SHA256
    assert dl.download(_url(server), dest, progress=False) == PAYLOAD_SHA256
    assert server.requests == []
    with pytest.raises(ChecksumError, match="delete"):
        dl.download(_url(server), dest, sha256="1" * 64, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_404_names_the_url(server, dest):
    url = f"{server.base}/pub/nope.fa.gz"
    with pytest.raises(DownloadError, match=re.escape(url)) as err:
        dl.download(url, dest, progress=False)
    assert "404" in str(err.value)
    assert not dest.exists()


def test_unreachable_host_names_the_url(dest):
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.fa.gz"
    with pytest.raises(DownloadError, match=re.escape(url)):
        dl.download(url, dest, progress=False, timeout=5)


def test_credentials_are_never_shown(server, dest):
    url = f"http://alice:s3cret@127.0.0.1:{server.server_address[1]}/pub/nope.fa.gz?token=abc&x=1"
    with pytest.raises(DownloadError) as err:
        dl.download(url, dest, progress=False)
    message = str(err.value)
    assert "s3cret" not in message and "alice" not in message and "abc" not in message
    assert "token=***" in message and "x=1" in message


# ---------------------------------------------------------------------------------------- file:// and paths


def test_file_url_and_plain_path(tmp_path):
    source = tmp_path / "src" / NAME
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    checksums = source.with_name("CHECKSUMS")
    checksums.write_text(_python_bsd_line(PAYLOAD, NAME) + "\n")
    a = tmp_path / "a" / NAME
    assert dl.download(source.as_uri(), a, sha256=PAYLOAD_SHA256, checksums_url=checksums.as_uri(),
                       progress=False) == PAYLOAD_SHA256
    b = tmp_path / "b" / NAME
    assert dl.download(str(source), b, checksums_url=str(checksums), progress=False) == PAYLOAD_SHA256
    assert a.read_bytes() == b.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match="does not exist"):
        dl.download(str(tmp_path / "missing.fa"), tmp_path / "c.fa", progress=False)


# --------------------------------------------------------------------------------------------- BSD sum


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 70_001])
def test_bsd_sum_fallback_matches_literal_algorithm(tmp_path, size):
    data = random.Random(size).randbytes(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected_sum, expected_blocks = _python_bsd_line(data, "f").split()[:2]
    assert dl._bsd_sum_python(path, chunk_size=1000) == (int(expected_sum), int(expected_blocks))
    assert dl.bsd_sum(path) == (int(expected_sum), int(expected_blocks))


@pytest.mark.skipif(shutil.which("sum") is None, reason="no `sum` command on PATH")
@pytest.mark.parametrize("size", [0, 5, 1024, 4097, 200_003])
def test_bsd_sum_agrees_with_sum_r(tmp_path, size):
    path = tmp_path / "f.bin"
    path.write_bytes(random.Random(size + 7).randbytes(size))
    out = subprocess.run(["sum", "-r", str(path)], capture_output=True, text=True, check=True).stdout.split()
    expected = (int(out[0]), int(out[1]))
    assert dl._bsd_sum_command(path) == expected
    assert dl._bsd_sum_python(path) == expected
    assert dl.bsd_sum(path) == expected


def test_bsd_sum_without_sum_command_uses_fallback(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD[:5000])
    monkeypatch.setattr(dl.shutil, "which", lambda name: None)
    assert dl.bsd_sum(path) == dl._bsd_sum_python(path)


def test_sha256_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    assert dl.sha256_file(path, chunk_size=777) == PAYLOAD_SHA256


# ----------------------------------------------------------------------------------------------- cache root


def test_cache_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("GBHUB_CACHE", str(tmp_path / "env"))
    assert dl.cache_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert dl.cache_root() == tmp_path / "env"
    monkeypatch.delenv("GBHUB_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert dl.cache_root() == tmp_path / "home" / ".cache" / "gbhub"
    assert dl.cache_root("~/x") == tmp_path / "home" / "x"
    assert not (tmp_path / "home").exists()


# ------------------------------------------------------------------------------------------------------ FTP


class _FTPHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 959 for ftplib: USER PASS TYPE SIZE PASV REST RETR QUIT (passive, binary)."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        srv, rest, data_listener = self.server, 0, None
        self.reply("220 toy ftp")
        for raw in self.rfile:
            cmd, _, arg = raw.decode().strip().partition(" ")
            cmd = cmd.upper()
            srv.commands.append(f"{cmd} {arg}".strip())
            if cmd == "USER":
                self.reply("331 password please")
            elif cmd in ("PASS", "TYPE"):
                self.reply("230 ok" if cmd == "PASS" else "200 binary")
            elif cmd == "SIZE":
                self.reply(f"213 {len(srv.files[arg])}" if arg in srv.files else "550 no such file")
            elif cmd == "PASV":
                data_listener = socket.create_server(("127.0.0.1", 0))
                port = data_listener.getsockname()[1]
                self.reply(f"227 Entering Passive Mode (127,0,0,1,{port >> 8},{port & 255})")
            elif cmd == "REST" and not srv.refuse_rest:
                rest = int(arg)
                self.reply(f"350 restarting at {rest}")
            elif cmd == "RETR":
                self.retrieve(arg, rest, data_listener)
                rest, data_listener = 0, None
            elif cmd == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def retrieve(self, path: str, rest: int, listener: socket.socket) -> None:
        srv = self.server
        with listener:
            if path not in srv.files:
                self.reply("550 no such file")
                return
            self.reply("150 opening data connection")
            connection, _ = listener.accept()
            body = srv.files[path][rest:]
            drop = srv.drop_after.pop(path, None)
            with connection:
                connection.sendall(body if drop is None else body[:drop])
        self.reply("226 done" if drop is None else "426 connection closed; transfer aborted")


@pytest.fixture
def ftp_server():
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FTPHandler)
    srv.daemon_threads = True
    srv.files, srv.commands, srv.drop_after, srv.refuse_rest = {f"/pub/{NAME}": PAYLOAD}, [], {}, False
    srv.files["/pub/CHECKSUMS"] = (_python_bsd_line(PAYLOAD, NAME) + "\n").encode()
    srv.base = f"ftp://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def test_ftp_download_resume_and_checksums(ftp_server, dest):
    url = f"{ftp_server.base}/pub/{NAME}"
    ftp_server.drop_after[f"/pub/{NAME}"] = 123_456
    with pytest.raises(DownloadError, match=r"123,456 of 300,000 bytes"):
        dl.download(url, dest, progress=False, timeout=10)
    assert dl.part_path(dest).stat().st_size == 123_456 and not dest.exists()
    digest = dl.download(url, dest, sha256=PAYLOAD_SHA256, checksums_url=f"{ftp_server.base}/pub/CHECKSUMS",
                         progress=False, timeout=10)
    assert digest == PAYLOAD_SHA256 and dest.read_bytes() == PAYLOAD
    assert "REST 123456" in ftp_server.commands
    assert "USER anonymous" in ftp_server.commands


def test_ftp_refused_rest_restarts(ftp_server, dest):
    ftp_server.refuse_rest = True
    dest.parent.mkdir(parents=True)
    dl.part_path(dest).write_bytes(b"junk")
    url = f"{ftp_server.base}/pub/{NAME}"
    assert dl.download(url, dest, sha256=PAYLOAD_SHA256, progress=False, timeout=10) == PAYLOAD_SHA256


def test_ftp_missing_file_names_the_url(ftp_server, dest):
    url = f"{ftp_server.base}/pub/nope.fa.gz"
    with pytest.raises(DownloadError, match=re.escape(url)):
        dl.download(url, dest, progress=False, timeout=10)
