"""gbhub.training.outputs: atomic run-folder writes, strict JSON, card dataset ids."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gbhub.builders.hub_layout import atomic_path
from gbhub.training.data import hub_dataset_id
from gbhub.training.outputs import better, json_safe, write_json


def test_atomic_path_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"accuracy": 0.5})
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text('{"accur')  # interrupted half-way
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_json_safe_is_strict():
    assert json_safe({"a": math.nan, "b": (np.float32(0.5), np.int64(3)), 1: math.inf}) == {
        "a": None, "b": [0.5, 3], "1": None}


def test_hub_dataset_id_is_a_real_hub_id_or_none(tmp_path, monkeypatch):
    (tmp_path / "mydata" / "provenance").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "mydata")
    assert hub_dataset_id(".", None, "toy") is None  # a folder's name is no Hub id
    assert hub_dataset_id("../mydata/", "org/given", "toy") == "org/given"
    assert hub_dataset_id("org/name", None, "toy") == "org/name"
    (tmp_path / "mydata" / "provenance" / "toy.json").write_text(json.dumps({"hub_repo_id": "org/pushed"}))
    assert hub_dataset_id(".", None, "toy") == "org/pushed"  # recorded by `gbhub push`


def test_better_treats_zero_as_a_value_and_none_as_worst():
    assert better(0.0, -0.2, "mcc") and not better(-0.2, 0.0, "mcc")
    assert better(0.0, 0.1, "loss") and not better(0.1, 0.0, "loss")
    assert better(0.1, None, "auroc") and not better(None, 0.1, "auroc") and not better(None, None, "auroc")
