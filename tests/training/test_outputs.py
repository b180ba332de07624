"""gbhub.training.outputs: atomic run-folder writes, strict JSON, card dataset ids."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gbhub.builders.hub_layout import atomic_path
from gbhub.training.outputs import better, card_dataset_id, json_safe, write_json


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


def test_card_dataset_id_names_relative_folders(tmp_path, monkeypatch):
    (tmp_path / "mydata").mkdir()
    monkeypatch.chdir(tmp_path / "mydata")
    assert card_dataset_id(".") == "mydata"
    assert card_dataset_id("../mydata/") == "mydata"
    assert card_dataset_id("org/name") == "org/name"


def test_better_treats_zero_as_a_value_and_none_as_worst():
    assert better(0.0, -0.2, "mcc") and not better(-0.2, 0.0, "mcc")
    assert better(0.0, 0.1, "loss") and not better(0.1, 0.0, "loss")
    assert better(0.1, None, "auroc") and not better(None, 0.1, "auroc") and not better(None, None, "auroc")
