"""Test-wide isolation: no network, no user cache, no GPU; shared fixtures for the real upstream data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Set before any test module imports datasets / huggingface_hub / evaluate: they read these at import.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="gbhub-tests-"))
atexit.register(shutil.rmtree, _SESSION_HOME, ignore_errors=True)
os.environ["HF_HOME"] = str(_SESSION_HOME / "hf")
os.environ["HF_DATASETS_CACHE"] = str(_SESSION_HOME / "hf" / "datasets")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["GBHUB_CACHE"] = str(_SESSION_HOME / "gbhub")
os.environ.pop("HF_TOKEN", None)

import pytest  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
UPSTREAM = PROJECT_ROOT.parent / "shared" / "upstream"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Point the gbhub cache of every test at a fresh temporary folder."""
    monkeypatch.setenv("GBHUB_CACHE", str(tmp_path_factory.mktemp("gbhub-cache")))


@pytest.fixture(scope="session")
def upstream() -> Path:
    """`../shared/upstream` (real upstream data); skips the test when the folder is absent."""
    if not UPSTREAM.is_dir():
        pytest.skip(f"real upstream data not found at {UPSTREAM} (a user's clone has no ../shared)")
    return UPSTREAM
