"""Every card's code runs verbatim: model cards of each recipe and the dataset card's `Trainer` example.

Each snippet is taken from a written card; only Hub ids are replaced (the repo placeholder by the local run or
dataset folder, the base checkpoint by a tiny random one). It runs in a fresh interpreter, offline, where
`gbhub` cannot be imported unless the card's install line installs this package.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_checkpoints import save_char_bert, save_tiny_dnabert, write_tiny_dataset  # noqa: E402

from gbhub.cli import main  # noqa: E402

CONFIG = "tiny"
PLACEHOLDER = '"<this repo or folder>"'
# Imports of `gbhub` fail, as in a fresh environment that ran only a `pip install transformers torch` line.
NO_GBHUB = """import importlib.abc, sys
class _Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "gbhub" or name.startswith("gbhub."):
            raise ModuleNotFoundError(f"No module named {name!r} (not installed by the card's install line)")
sys.meta_path.insert(0, _Absent())
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("snippets")
    write_tiny_dataset(root / "data", CONFIG, card=True)
    save_tiny_dnabert(root / "tiny-dnabert")
    save_char_bert(root / "char")
    return root


@pytest.fixture(scope="module")
def runs(workspace):
    common = ["--dataset", str(workspace / "data"), "--config", CONFIG, "--cpu", "--no-progress",
              "--torch-threads", "1", "--max-steps", "2", "--batch-size", "16"]
    runs = {"cnn": [], "deeplncloc": ["--word2vec-epochs", "1", "--slices", "4"], "dnabert": ["--model", str(workspace / "tiny-dnabert"), "--max-tokens", "34"],
            "lm": ["--model", str(workspace / "char"), "--max-tokens", "34"]}
    out = {}
    for recipe, extra in runs.items():
        out[recipe] = workspace / "runs" / recipe
        assert main(["train", recipe, "--out", str(out[recipe]), *common, *extra]) == 0
    return out


def run_snippets(snippets: dict[str, str], install: str, cwd: Path, timeout: int = 540) -> dict[str, str]:
    """Run each snippet in its own namespace of one fresh offline interpreter (imports cost most of the time);
    `gbhub` is importable only when `install` installs it. Returns what each printed."""
    guard = "" if "genomic-benchmarks-hub" in install else NO_GBHUB
    runner = guard + "import contextlib, io, json, sys\nout = {}\n" + "".join(
        f"buf = io.StringIO()\nwith contextlib.redirect_stdout(buf):\n"
        f"    exec(compile({code!r}, {name!r}, 'exec'), {{'__name__': '__main__'}})\nout[{name!r}] = buf.getvalue()\n"
        for name, code in snippets.items()) + "print(json.dumps(out))\n"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_EVALUATE_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", runner], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def usage(card: str) -> tuple[str, str]:
    """The `## Usage` section's install line and Python snippet of a model card."""
    section = card.split("## Usage", 1)[1].split("\n## ", 1)[0]
    install = re.search(r"```bash\n(.*?)\n```", section, re.S)[1].strip()
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    return install, code


def probabilities(stdout: str) -> list[list[float]]:
    """The rows of the `tensor([[...]])` a snippet prints."""
    body = re.search(r"tensor\((\[\[.*?\]\])", stdout, re.S)[1]
    return ast.literal_eval(re.sub(r"\s+", "", body))


def test_model_card_snippets_run_verbatim_after_their_install_line(runs, tmp_path):
    groups: dict[str, dict[str, str]] = {}
    for recipe, run in runs.items():
        card = (run / "README.md").read_text()
        meta = yaml.safe_load(card.split("---\n")[1])
        install, code = usage(card)
        assert code.count(PLACEHOLDER) >= 1 and "trust_remote_code" not in code and "classes: negative, positive" in code
        if recipe in ("cnn", "deeplncloc"):  # transformers' Auto classes do not know their model types: this package
            assert install == 'pip install "genomic-benchmarks-hub[train]"'
            assert meta["library_name"] == "genomic-benchmarks-hub"
        else:
            assert install == "pip install transformers torch" and "gbhub" not in code
            assert meta["library_name"] == "transformers"
        groups.setdefault(install, {})[recipe] = code.replace(PLACEHOLDER, repr(str(run)))
    printed = {}
    for install, snippets in groups.items():
        printed.update(run_snippets(snippets, install, tmp_path))
    assert set(printed) == set(runs)
    for recipe, stdout in printed.items():
        rows = probabilities(stdout)
        assert len(rows) == 1 and len(rows[0]) == 2 and abs(sum(rows[0]) - 1) < 1e-4, (recipe, stdout)


def test_snippet_guard_blocks_gbhub_without_its_install_line(tmp_path):
    """The check above would catch a transformers-only card whose snippet needs this package."""
    with pytest.raises(AssertionError, match="not installed by the card's install line"):
        run_snippets({"x": "import gbhub.training.models.cnn"}, "pip install transformers torch", tmp_path)


def test_cnn_library_name_is_not_transformers_because_transformers_alone_cannot_load_it(runs):
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    config = json.loads((runs["cnn"] / "config.json").read_text())
    assert config["model_type"] == "genomic_benchmarks_cnn" and config["model_type"] not in CONFIG_MAPPING_NAMES
    assert "auto_map" not in config  # no remote code either: the card's install line provides the class


def test_model_cards_have_no_empty_rows_or_double_parentheses(runs):
    for recipe, run in runs.items():
        prose = re.sub(r"```.*?```", "", (run / "README.md").read_text(), flags=re.S)
        assert "None" not in prose, recipe
        assert not re.search(r"\)\s*\(|\(\s*\(|\)\s*\)", prose), (recipe, re.findall(r".{30}\)\s*[()].{10}", prose))


def test_dataset_card_trainer_snippet_runs_verbatim(workspace, tmp_path):
    """The card's `Trainer` example: the project's DNATokenizer, DataCollatorWithPadding and compute_metrics."""
    from gbhub.hub_cards.dataset_card import DEFAULT_REPO_ID

    card = (workspace / "data" / "README.md").read_text()
    code = re.search(r"## Usage\n.*?```python\n(.*?)```", card, re.S)[1]
    assert f'load_dataset("{DEFAULT_REPO_ID}", "{CONFIG}")' in code and '"zhihan1996/DNA_bert_6"' in code
    code = code.replace(f'"{DEFAULT_REPO_ID}"', repr(str(workspace / "data")))
    code = code.replace('"zhihan1996/DNA_bert_6"', repr(str(workspace / "tiny-dnabert")))
    stdout = run_snippets({"trainer": code}, 'pip install "genomic-benchmarks-hub[train]"', tmp_path)["trainer"]
    metrics = ast.literal_eval(stdout.strip().splitlines()[-1])
    for key in ("test_loss", "test_accuracy", "test_f1", "test_mcc", "test_auroc", "test_auprc"):
        assert isinstance(metrics[key], float), (key, metrics)
    assert 0 <= metrics["test_auroc"] <= 1
    saved = tmp_path / f"dnabert6-{CONFIG}"
    assert any(saved.glob("checkpoint-*/tokenizer_config.json"))  # processing_class saved the tokenizer
