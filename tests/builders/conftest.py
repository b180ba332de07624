"""Fixtures for the builders tests: tiny FASTA files and a loopback static file server."""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
from pathlib import Path

import pytest

# chr1 has a soft-masked stretch and Ns; MT is named the Ensembl way. 0-based positions:
#          0         1         2         3
#          0123456789012345678901234567890123456789
CHR1 = "ACGTTGCAacgtNNGGCCATATCGCGTTAACCGGTTAAGC"
MT = "GATTACAGATTACA"
TINY_FASTA = f">1 dna:chromosome\n{CHR1[:25]}\n{CHR1[25:]}\n>MT mitochondrion\n{MT}\n"


@pytest.fixture
def tiny_fasta(tmp_path) -> Path:
    path = tmp_path / "tiny.fa"
    path.write_text(TINY_FASTA)
    return path


@pytest.fixture
def tiny_fasta_gz(tmp_path) -> Path:
    path = tmp_path / "tiny.fa.gz"
    path.write_bytes(gzip.compress(TINY_FASTA.encode(), mtime=0))
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def serve_dir():
    """`serve_dir(folder)` -> base URL of a loopback HTTP server serving `folder` (stopped after the test)."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
