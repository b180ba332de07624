"""Windows over a benchmark's coordinates: hand-made plans, and `gbhub build --windows-bp` on the synthetic genome."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pandas as pd
import pytest

from gbhub.builders.hub_layout import SPLITS, read_provenance
from gbhub.builders.windows import WindowError, build_windows, window_plan
from gbhub.cli import main

_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _plan(rows):
    frame = pd.DataFrame(rows, columns=["split", "label", "id", "region", "start", "end", "strand"])
    return frame.assign(row=np.arange(1, len(frame) + 1), table="t.csv", genome="g")


def test_window_plan_on_hand_made_coordinates():
    plan = _plan([
        ("train", 1, "long+", "chr1", 100, 150, "+"),  # 50 bp, W 20, stride 10: offsets 0, 10, 20, 30
        ("train", 1, "long-", "chr1", 100, 150, "-"),  # the same windows read from the 3' end of the + strand
        ("test", 0, "short", "chr2", 12, 22, "+"),  # 10 bp: windows overlapping it at offsets -19, -9, 1, 9
    ])
    windows, stats = window_plan(plan, [1000, 1000, 1000], width=20, stride=10)
    plus = windows[windows.id.str.startswith("long+")]
    assert plus[["start", "end"]].values.tolist() == [[100, 120], [110, 130], [120, 140], [130, 150]]
    minus = windows[windows.id.str.startswith("long-")]
    assert minus.start.tolist() == [130, 120, 110, 100] and (minus.strand == "-").all()
    short = windows[windows.id.str.startswith("short")]
    assert short.start.tolist() == [12 - 9, 12 + 1, 12 + 9]  # 12 - 19 < 0: past the contig's start, dropped
    assert short.id.tolist() == ["short@w1", "short@w2", "short@w3"]  # ids keep the window's index
    assert (windows.split == windows.id.str.startswith("short").map({True: "test", False: "train"})).all()
    assert stats == {"regions": 3, "windows": 11, "dropped_windows": 1, "dropped_regions": 0}
    capped, stats = window_plan(plan, [1000, 1000, 16], width=20, stride=10, max_windows=2, short="center")
    assert capped.id.tolist() == ["long+@w0", "long+@w1", "long-@w0", "long-@w1"]
    assert capped.start.tolist()[:2] == [100, 130] and stats["dropped_regions"] == 1  # chr2 is 16 bp: no window


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """synthetic (200 bp regions on both strands) and its 150 bp windows: stride 10, at most 3 per region."""
    root = tmp_path_factory.mktemp("windows")
    out, cache = root / "hub", root / "cache"
    assert main(["build", "synthetic", "--out", str(out), "--cache-dir", str(cache), "--no-progress",
                 "--windows-bp", "150", "--window-stride-bp", "10", "--max-windows-per-region", "3"]) == 0
    return out, cache


def test_windows_keep_their_regions_split_label_and_sequence(built):
    out, _ = built
    parent = datasets.load_dataset(str(out), "synthetic")
    windows = datasets.load_dataset(str(out), "synthetic_w150")
    for split in SPLITS:
        regions = parent[split].to_pandas().set_index("id")
        rows = windows[split].to_pandas()
        assert len(rows) == 3 * len(regions)  # 200 bp -> offsets 0..50 every 10 = 6, capped to 3
        region = rows.id.str.rsplit("@w", n=1).str[0]
        assert set(region) == set(regions.index)  # a region's windows are all in its split
        assert (rows.label.values == regions.loc[region, "label"].values).all()
        assert rows.id.str.endswith(("@w0", "@w1", "@w2")).all() and (rows.end - rows.start == 150).all()
        for _, row in rows.head(40).iterrows():  # the window = the region's sequence at its offset, on its strand
            parent_row = regions.loc[row.id.rsplit("@w", 1)[0]]
            offset = {"0": 0, "1": 30, "2": 50}[row.id[-1]]  # 3 of 0, 10, ..., 50: evenly, rounded half up
            assert row.sequence == parent_row.sequence[offset : offset + 150], row.id
            expected_start = parent_row.start + offset if row.strand == "+" else parent_row.end - offset - 150
            assert row.start == expected_start


def test_windowed_config_records_its_windows_and_the_card_says_so(built):
    out, _ = built
    prov = read_provenance(out, "synthetic_w150")
    assert prov["parent"] == "synthetic" and prov["windows"]["stride_bp"] == 10
    assert prov["windows"]["max_windows_per_region"] == 3 and prov["windows"]["short_regions"] == "overlap"
    assert prov["windows"]["windows"] == 3 * prov["windows"]["regions"] == 3 * 1800
    assert prov["splits"]["test"]["num_examples"] == 1200
    card = (out / "README.md").read_text()
    assert "Variant of [`synthetic`]" in card and "150 bp window of a region" in card


def test_short_regions_reach_into_the_flanks_and_errors_are_one_line(built, tmp_path, capsys):
    out, cache = built
    target = build_windows("synthetic", out, width=250, stride=100, short="contain", cache_dir=cache, progress=False)
    rows = pd.read_parquet(target / "test-00000-of-00001.parquet")  # the card (its config list) is the command's
    parent = datasets.load_dataset(str(out), "synthetic", split="test").to_pandas().set_index("id")
    first = rows.iloc[0]
    region = parent.loc[first.id.rsplit("@w", 1)[0]]
    assert region.sequence in first.sequence and len(first.sequence) == 250  # the region, with 50 bp of flanks
    with pytest.raises(WindowError, match="between 1 and the window width"):
        build_windows("synthetic", out, width=100, stride=101, cache_dir=cache, progress=False)
    with pytest.raises(SystemExit) as exit_:  # a usage error: argparse exits with status 2
        main(["build", "synthetic", "--out", str(tmp_path / "x"), "--windows-bp", "0"])
    assert exit_.value.code == 2
    assert "expected a whole number >= 1" in capsys.readouterr().err
    with pytest.raises(Exception, match="build the config first"):
        build_windows("synthetic", tmp_path / "empty", width=100, cache_dir=cache, progress=False)
    assert json.loads((out / "provenance" / "synthetic_w250.json").read_text())["windows"]["short_regions"] == "contain"
