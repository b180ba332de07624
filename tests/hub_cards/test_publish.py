"""Tests of the one-commit Hub upload against a recording stand-in for `HfApi` (no network)."""

from __future__ import annotations

import argparse
import re
import types

import pytest
from huggingface_hub import CommitInfo, CommitOperationAdd, CommitOperationDelete
from huggingface_hub import errors as hf_errors

from gbhub.commands import cards as commands
from gbhub.hub_cards.publish import NoTokenError, PushError, push_folder, scrub, stale_remote_files

TOKEN = "hf_TestTokenAbcdefghijklmnop0123"


def _response(status: int):
    return types.SimpleNamespace(status_code=status, headers={}, request=None)


class RecordingApi:
    """Stands in for `HfApi`: records every call; the remote holds `remote_files` unless told otherwise."""

    def __init__(self, token=TOKEN, remote_files=(), missing=False, fail_commit=None):
        self.token = token
        self.remote_files = list(remote_files)
        self.missing = missing
        self.fail_commit = fail_commit
        self.calls = []

    def create_repo(self, repo_id, *, repo_type=None, private=None, exist_ok=False, **kwargs):
        self.calls.append(("create_repo", repo_id, {"repo_type": repo_type, "private": private,
                                                    "exist_ok": exist_ok}))
        self.missing = False

    def create_branch(self, repo_id, *, branch, repo_type=None, exist_ok=False, **kwargs):
        self.calls.append(("create_branch", repo_id, {"branch": branch, "repo_type": repo_type,
                                                      "exist_ok": exist_ok}))

    def repo_info(self, repo_id, *, repo_type=None, revision=None, **kwargs):
        self.calls.append(("repo_info", repo_id, {"repo_type": repo_type, "revision": revision}))
        if self.missing:
            raise hf_errors.RepositoryNotFoundError("404 Client Error: repo not found", response=_response(404))
        return types.SimpleNamespace(sha="a" * 40)

    def list_repo_files(self, repo_id, *, repo_type=None, revision=None, **kwargs):
        self.calls.append(("list_repo_files", repo_id, {"repo_type": repo_type, "revision": revision}))
        return list(self.remote_files)

    def create_commit(self, repo_id, operations, *, commit_message, repo_type=None, revision=None,
                      parent_commit=None, **kwargs):
        operations = list(operations)
        self.calls.append(("create_commit", repo_id, {"operations": operations, "repo_type": repo_type,
                                                      "revision": revision, "parent_commit": parent_commit,
                                                      "commit_message": commit_message}))
        if self.fail_commit is not None:
            raise self.fail_commit
        return CommitInfo(commit_url=f"https://huggingface.co/datasets/{repo_id}/commit/{'b' * 40}",
                          commit_message=commit_message, commit_description="", oid="b" * 40)

    def names(self):
        return [c[0] for c in self.calls]

    def commits(self):
        return [c for c in self.calls if c[0] == "create_commit"]


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "hub"
    files = {
        "README.md": "---\nlicense: apache-2.0\n---\n# card\n",
        "cfg_a/train-00000-of-00001.parquet": "x" * 100,
        "cfg_a/test-00000-of-00001.parquet": "y" * 50,
        "images/cfg_a_length.png": "png",
        "provenance/cfg_a.json": "{}",
        ".cache/huggingface/upload.lock": "",
        "cfg_a/.train-00000-of-00001.parquet.tmp": "partial",
        "download.fa.gz.part": "partial",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


EXPECTED_ADDS = ["README.md", "cfg_a/test-00000-of-00001.parquet", "cfg_a/train-00000-of-00001.parquet",
                 "images/cfg_a_length.png", "provenance/cfg_a.json"]
REMOTE = ["README.md", ".gitattributes", "cfg_a/train-00000-of-00002.parquet", "cfg_a/train-00001-of-00002.parquet",
          "cfg_a/test-00000-of-00001.parquet", "cfg_b/train-00000-of-00001.parquet", "images/cfg_b_gc.png"]


def _ops(call):
    ops = call[2]["operations"]
    adds = [op.path_in_repo for op in ops if isinstance(op, CommitOperationAdd)]
    deletes = [op.path_in_repo for op in ops if isinstance(op, CommitOperationDelete)]
    return adds, deletes


def test_one_commit_adds_every_file_and_deletes_stale_parquet(folder):
    api = RecordingApi(remote_files=REMOTE)
    info = push_folder(folder, "acme/gb", api=api, private=True)
    assert info.oid == "b" * 40
    assert api.names() == ["create_repo", "repo_info", "list_repo_files", "create_commit"]
    assert api.calls[0][2] == {"repo_type": "dataset", "private": True, "exist_ok": True}
    (commit,) = api.commits()
    adds, deletes = _ops(commit)
    assert adds == EXPECTED_ADDS
    assert deletes == ["cfg_a/train-00000-of-00002.parquet", "cfg_a/train-00001-of-00002.parquet"]
    assert commit[2]["parent_commit"] == "a" * 40 and commit[2]["repo_type"] == "dataset"


def test_new_repo_and_branch_are_created(folder):
    api = RecordingApi(missing=True)
    push_folder(folder, "acme/new", api=api, revision="v0.1")
    assert api.names() == ["create_repo", "create_branch", "repo_info", "list_repo_files", "create_commit"]
    assert api.calls[1][2] == {"branch": "v0.1", "repo_type": "dataset", "exist_ok": True}
    (commit,) = api.commits()
    assert commit[2]["revision"] == "v0.1"
    assert _ops(commit) == (EXPECTED_ADDS, [])


def test_missing_remote_repo_is_an_empty_remote(folder):
    class MissingUntilCommit(RecordingApi):
        def create_repo(self, repo_id, **kwargs):
            self.calls.append(("create_repo", repo_id, {}))  # e.g. lagging replica: still reported missing

    api = MissingUntilCommit(missing=True)
    push_folder(folder, "acme/new", api=api)
    (commit,) = api.commits()
    assert commit[2]["parent_commit"] is None and _ops(commit) == (EXPECTED_ADDS, [])


def test_no_token_is_a_one_line_error_and_nothing_is_called(folder, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    api = RecordingApi(token=None)
    with pytest.raises(NoTokenError, match=r"^no Hugging Face token found: run `hf auth login` or set HF_TOKEN"):
        push_folder(folder, "acme/gb", api=api)
    assert api.calls == []


def test_failing_commit_does_nothing_else_and_hides_the_token(folder):
    err = hf_errors.HfHubHTTPError(f"403 Forbidden: token {TOKEN} cannot write\nRequest ID: 1",
                                   response=_response(403))
    api = RecordingApi(remote_files=REMOTE, fail_commit=err)
    with pytest.raises(PushError) as caught:
        push_folder(folder, "acme/gb", api=api)
    message = str(caught.value)
    assert TOKEN not in message and "\n" not in message
    assert "no write access" in message and "HTTP 403" in message
    assert api.names()[-1] == "create_commit" and len(api.commits()) == 1
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("error, expected", [
    (ConnectionError("[Errno 111] Connection refused"), "the Hub is unreachable"),
    (hf_errors.OfflineModeIsEnabled("offline"), "HF_HUB_OFFLINE is set"),
    (hf_errors.HfHubHTTPError(f"500 Server Error for {TOKEN}", response=_response(500)), "HTTP 500"),
])
def test_hub_failures_are_one_line_errors(folder, error, expected):
    api = RecordingApi(fail_commit=error)
    with pytest.raises(PushError, match=expected) as caught:
        push_folder(folder, "acme/gb", api=api)
    assert TOKEN not in str(caught.value)


def test_unexpected_exceptions_propagate(folder):
    api = RecordingApi(fail_commit=KeyError("bug"))
    with pytest.raises(KeyError):
        push_folder(folder, "acme/gb", api=api)


def test_dry_run_plans_without_writing(folder, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    api = RecordingApi(token=None, remote_files=REMOTE)
    ops = push_folder(folder, "acme/gb", api=api, dry_run=True)
    assert api.names() == ["repo_info", "list_repo_files"]
    assert [op.path_in_repo for op in ops if isinstance(op, CommitOperationAdd)] == EXPECTED_ADDS
    assert len([op for op in ops if isinstance(op, CommitOperationDelete)]) == 2


def test_dry_run_command_prints_operations_sizes_and_total(folder, capsys):
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["push", str(folder), "--repo-id", "acme/gb", "--dry-run"])
    (folder / "provenance").rename(folder / "provenance_off")  # not a built folder: no card re-render
    api = RecordingApi(remote_files=REMOTE)
    assert commands.run_push(args, api=api) == 0
    out = capsys.readouterr().out
    assert re.search(r"^add +100 B  cfg_a/train-00000-of-00001\.parquet$", out, flags=re.M)
    assert re.search(r"^delete +-  cfg_a/train-00001-of-00002\.parquet$", out, flags=re.M)
    assert "total: 5 file(s) to upload (190 B)" in out and ", 2 to delete, in one commit to dataset acme/gb@main" in out
    assert TOKEN not in out and api.commits() == []


def test_dry_run_with_the_real_client_offline(folder, capsys):
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["push", str(folder), "--repo-id", "acme/gb", "--dry-run"])
    (folder / "provenance").rename(folder / "provenance_off")
    assert args.func(args) == 0  # HF_HUB_OFFLINE=1: the remote is unreadable, the plan is still printed
    assert "total: 5 file(s) to upload" in capsys.readouterr().out


def test_push_model_skips_checkpoints(tmp_path):
    run = tmp_path / "run"
    for rel in ("config.json", "model.safetensors", "README.md", "checkpoint-500/optimizer.pt", "runs/events"):
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / rel).write_text("x")
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["push-model", str(run), "--repo-id", "acme/cnn", "--revision", "exp1"])
    api = RecordingApi()
    assert commands.run_push_model(args, api=api) == 0
    (commit,) = api.commits()
    assert _ops(commit) == (["README.md", "config.json", "model.safetensors"], [])
    assert commit[2]["repo_type"] == "model" and commit[2]["revision"] == "exp1"


@pytest.mark.parametrize("dataset_id", [None, "acme/gb"])
def test_push_model_says_when_the_card_names_no_hub_dataset(tmp_path, capsys, dataset_id):
    import json

    run = tmp_path / "run"
    run.mkdir()
    (run / "README.md").write_text("x")
    (run / "metrics.json").write_text(json.dumps({"card_dataset_id": dataset_id}))
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["push-model", str(run), "--repo-id", "acme/cnn"])
    assert commands.run_push_model(args, api=RecordingApi()) == 0
    err = capsys.readouterr().err
    assert ("names no Hub dataset" in err and "--card-dataset-id ORG/NAME" in err) == (dataset_id is None)


def test_stale_remote_files_only_touch_rebuilt_configs():
    local = ["cfg_a/train-00000-of-00001.parquet", "README.md"]
    remote = ["cfg_a/train-00000-of-00002.parquet", "cfg_a/notes.txt", "cfg_b/train-00000-of-00001.parquet",
              "cfg_a/train-00000-of-00001.parquet", "top.parquet"]
    assert stale_remote_files(local, remote) == ["cfg_a/train-00000-of-00002.parquet"]


def test_scrub_removes_tokens_and_newlines():
    assert scrub(f"bad {TOKEN}\nline two", []) == "bad hf_*** line two"
    assert scrub("secret=abc123 x", ["abc123"]) == "secret=*** x"


def test_empty_or_missing_folder_is_an_error(tmp_path):
    with pytest.raises(PushError, match="is not a folder"):
        push_folder(tmp_path / "absent", "acme/gb", api=RecordingApi())
    with pytest.raises(PushError, match="has no file to upload"):
        push_folder(tmp_path, "acme/gb", api=RecordingApi())


def test_real_client_permission_error_from_a_loopback_hub(folder, monkeypatch):
    """The real `HfApi` against a local stand-in server answering 403: one line, no token, no commit."""
    import http.server
    import json
    import threading

    import huggingface_hub.constants
    from huggingface_hub import HfApi

    requests = []

    class Forbidden(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            requests.append((self.command, self.path))
            body = json.dumps({"error": "You don't have the rights to create a dataset under 'acme'"}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # loopback only
    try:
        api = HfApi(endpoint=f"http://127.0.0.1:{server.server_port}", token=TOKEN)
        with pytest.raises(PushError, match=r"no write access to it \(HTTP 403\)") as caught:
            push_folder(folder, "acme/gb", api=api)
    finally:
        server.shutdown()
        server.server_close()
    assert TOKEN not in str(caught.value) and "\n" not in str(caught.value)
    assert requests[0] == ("POST", "/api/repos/create")
    assert not any("/commit/" in path or "/preupload/" in path for _, path in requests)


def test_model_runs_leave_every_checkpoint_local_including_per_seed_ones():
    from gbhub.commands.cards import MODEL_RUN_IGNORE
    from gbhub.hub_cards.publish import is_uploadable

    for path in ("checkpoint-best/model.safetensors", "seed-2/checkpoint-last/optimizer.bin",
                 "runs/events.out", "seed-1/runs/x"):
        assert not is_uploadable(path, MODEL_RUN_IGNORE), path
    for path in ("model.safetensors", "seed-2/model.safetensors", "seed-2/metrics.json", "README.md"):
        assert is_uploadable(path, MODEL_RUN_IGNORE), path


def test_dry_run_of_a_built_folder_changes_no_local_file(tmp_path, capsys):
    from gbhub.cli import main

    out = tmp_path / "hub"
    assert main(["build", "synthetic", "--out", str(out), "--no-progress"]) == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}
    capsys.readouterr()
    assert main(["push", str(out), "--repo-id", "acme/genomic-benchmarks", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before  # byte-identical, not even rewritten
    assert "acme/genomic-benchmarks" not in (out / "README.md").read_text()
    card = re.search(r"^add +(\S+ \S+)  README\.md$", printed, flags=re.M)
    assert card and "dry run: nothing was uploaded" in printed


def test_push_records_the_repository_in_provenance_for_model_cards(tmp_path, capsys):
    from gbhub.builders.hub_layout import provenance_path
    from gbhub.cli import main
    from gbhub.training.data import hub_dataset_id

    out = tmp_path / "hub"
    assert main(["build", "synthetic", "--out", str(out), "--no-progress", "--cache-dir", str(tmp_path / "c")]) == 0
    assert hub_dataset_id(str(out), None, "synthetic") is None  # not pushed: a model card names no dataset
    before = provenance_path(out, "synthetic").read_bytes()
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["push", str(out), "--repo-id", "acme/gb"])
    with pytest.raises(PushError):  # a failed upload leaves the provenance as it was
        commands.run_push(args, api=RecordingApi(fail_commit=hf_errors.HfHubHTTPError("500", response=_response(500))))
    assert provenance_path(out, "synthetic").read_bytes() == before
    api = RecordingApi()
    assert commands.run_push(args, api=api) == 0
    assert hub_dataset_id(str(out), None, "synthetic") == "acme/gb"
    assert hub_dataset_id(str(out), "other/x", "synthetic") == "other/x"  # --card-dataset-id still wins
    (commit,) = api.commits()
    assert "provenance/synthetic.json" in _ops(commit)[0]  # the Hub copy names its repository too


@pytest.mark.parametrize("command", ["push", "push-model", "card"])
@pytest.mark.parametrize("repo", ["a/b/c", "org/na--me", "x y/z"])
def test_invalid_repo_ids_are_refused_as_huggingface_hub_does(tmp_path, capsys, command, repo):
    from gbhub.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([command, str(tmp_path), f"--repo-id={repo}"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --repo-id: " in err and repr(repo) in err and "Traceback" not in err


def test_references_lists_the_synthetic_reference_as_cached_after_a_build(tmp_path, capsys):
    import json

    from gbhub.cli import main

    cache = tmp_path / "cache"
    assert main(["references", "--json", "--cache-dir", str(cache)]) == 0
    assert {r["key"]: r["cached"] for r in json.loads(capsys.readouterr().out)}["synthetic"] is None
    assert main(["build", "synthetic", "--out", str(tmp_path / "hub"), "--cache-dir", str(cache), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["references", "--json", "--cache-dir", str(cache)]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["synthetic"]["cached"] == str(cache / "builtin" / "synthetic" / "reference.fa")
    assert rows["GRCh38_ensembl100"]["cached"] is None
