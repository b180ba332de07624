"""LICENSE and CITATION.cff at the repository root agree with the package metadata and the cards."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> str:
    return (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_license_file_is_the_declared_apache_2_0():
    assert re.search(r'^license = "Apache-2.0"$', _pyproject(), re.M)
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text


def test_citation_cff_is_valid_and_matches_the_package():
    from gbhub import __version__
    from gbhub.builders.citations import GENOMIC_BENCHMARKS, GENOMIC_BENCHMARKS_HUB

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors", "type", "version", "license"):
        assert cff.get(key), key
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and all("name" in a for a in cff["authors"])
    assert str(cff["version"]) == __version__ and cff["license"] == "Apache-2.0"
    # the software citation the synthetic config's card shows is the same work
    assert f"title   = {{{cff['title']}}}" in GENOMIC_BENCHMARKS_HUB
    paper = cff["references"][0]
    assert paper["doi"] in GENOMIC_BENCHMARKS and str(paper["year"]) in GENOMIC_BENCHMARKS
