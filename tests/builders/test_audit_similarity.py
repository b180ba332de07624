"""Near-duplicates on simulated mutated copies: what is detected at which divergence, measured (seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from gbhub.builders.audit.common import from_plan
from gbhub.builders.audit.duplicates import sequence_codes
from gbhub.builders.audit.similarity import SimilarityParams, audit_similarity, find_near_duplicates, sketch

ACGT = np.frombuffer(b"ACGT", np.uint8)
_RC = str.maketrans("ACGT", "TGCA")


def _random(rng, n: int) -> np.ndarray:
    return rng.integers(0, 4, n).astype(np.uint8)


def _mutate(rng, seq: np.ndarray, divergence: float, indel_share: float = 0.0) -> np.ndarray:
    """Change each base with probability `divergence`: a substitution, or (a share `indel_share` of the changes)
    a 1 bp deletion or insertion."""
    changed = rng.random(len(seq)) < divergence
    indel = changed & (rng.random(len(seq)) < indel_share)
    out = seq.copy()
    sub = changed & ~indel
    out[sub] = (out[sub] + rng.integers(1, 4, int(sub.sum()))) % 4
    parts, last = [], 0
    for i in np.flatnonzero(indel):
        parts.append(out[last:i])
        if rng.random() < 0.5:
            parts.append(out[i : i + 1])
            parts.append(_random(rng, 1))  # insertion after i
        last = i + 1  # (else: deletion of i)
    parts.append(out[last:])
    return np.concatenate(parts)


def _text(codes: np.ndarray) -> str:
    return ACGT[codes].tobytes().decode()


def _detected(train: list[str], test: list[str], kinds: list[str], params=SimilarityParams()) -> dict[str, float]:
    """Share of the test rows of each kind flagged as a near-duplicate of a train row."""
    seqs = train + test
    n = len(seqs)
    frame = pd.DataFrame({"split": ["train"] * len(train) + ["test"] * len(test), "label": np.arange(n) % 2,
                          "id": [str(i) for i in range(n)], "region": "", "start": 0, "end": 0, "strand": "+"})
    inp = from_plan("sim", frame, ("a", "b"), {"a": "GRCh38_ensembl100", "b": "GRCh38_ensembl100"},
                    pa.array(seqs, pa.large_string()))
    found = find_near_duplicates(inp, inp.split_mask("test"), inp.split_mask("train"), params,
                                 sketch(inp.sequences, params), sequence_codes(inp.sequences))
    flagged = found.flagged[len(train):]
    return pd.Series(flagged).groupby(pd.Series(kinds)).mean().round(3).to_dict()


def test_mutated_copies_detected_as_documented():
    """The figures the README and the report state: 251 bp copies (the promoter sets' length) with point
    substitutions, 100 and 1,000 bp ones, copies with a fifth of the changes as 1 bp indels, and unrelated rows."""
    rng = np.random.default_rng(11)
    train, test, kinds = [], [], []
    for length, copies in ((251, 150), (100, 150), (1000, 60)):
        for divergence in (0.02, 0.05, 0.10, 0.15):
            for _ in range(copies):
                original = _random(rng, length)
                train.append(_text(original))
                test.append(_text(_mutate(rng, original, divergence)))
                kinds.append(f"{length} bp, {divergence:.0%}")
    for divergence in (0.02, 0.05, 0.10):
        for _ in range(150):
            original = _random(rng, 251)
            train.append(_text(original))
            test.append(_text(_mutate(rng, original, divergence, indel_share=0.2)))
            kinds.append(f"251 bp with indels, {divergence:.0%}")
    for _ in range(300):
        train.append(_text(_random(rng, 251)))
        test.append(_text(_random(rng, 251)))
        kinds.append("unrelated")
    rates = _detected(train, test, kinds)
    assert rates == {
        "100 bp, 2%": 1.0, "100 bp, 5%": 1.0, "100 bp, 10%": 0.94, "100 bp, 15%": 0.447,
        "251 bp, 2%": 1.0, "251 bp, 5%": 1.0, "251 bp, 10%": 1.0, "251 bp, 15%": 0.56,
        "1000 bp, 2%": 1.0, "1000 bp, 5%": 1.0, "1000 bp, 10%": 1.0, "1000 bp, 15%": 0.417,
        "251 bp with indels, 2%": 1.0, "251 bp with indels, 5%": 0.993, "251 bp with indels, 10%": 0.753,
        "unrelated": 0.0,
    }


def test_contained_reverse_and_short_sequences():
    """A 200 bp piece of a 1,000 bp train row (Jaccard 0.19: MinHash missed it) is a near-duplicate, on either
    strand and with 5% changes; a 200 bp piece only half inside is not; rows under k bp are compared exactly."""
    rng = np.random.default_rng(12)
    train, test, kinds = [], [], []
    for _ in range(100):
        long = _random(rng, 1000)
        train.append(_text(long))
        start = int(rng.integers(0, 800))
        piece = long[start : start + 200]
        test.append(_text(piece))
        kinds.append("contained")
        test.append(_text(piece).translate(_RC)[::-1])
        kinds.append("contained, reverse strand")
        test.append(_text(_mutate(rng, piece, 0.05)))
        kinds.append("contained, 5% changed")
        test.append(_text(np.concatenate([long[900:], _random(rng, 100)])))
        kinds.append("half inside")
    short = ["ACGTACGTAC", "GGGTTTAAAC", "TTGCA"]
    train += short
    test += ["ACGTACGTAC", "GTTTAAACCC", "CCCCA", "TGCAA"]  # same, RC of #2, other, RC of #3 (TTGCA)
    kinds += ["short: identical", "short: reverse complement", "short: different", "short: reverse complement"]
    rates = _detected(train, test, kinds)
    assert rates == {"contained": 1.0, "contained, reverse strand": 1.0, "contained, 5% changed": 1.0,
                     "half inside": 0.0, "short: identical": 1.0, "short: reverse complement": 1.0,
                     "short: different": 0.0}


def test_report_section_on_a_tiny_planted_split():
    rng = np.random.default_rng(13)
    base = [_random(rng, 300) for _ in range(6)]
    train = [_text(b) for b in base]
    test = [_text(_mutate(rng, base[0], 0.03)), _text(base[1][50:250]), _text(_random(rng, 300)), "ACGT"]
    seqs = train + test
    frame = pd.DataFrame({"split": ["train"] * 6 + ["test"] * 4, "label": [0, 1, 0, 1, 0, 1, 1, 1, 0, 0],
                          "id": [f"tr{i}" for i in range(6)] + [f"te{i}" for i in range(4)], "region": "", "start": 0,
                          "end": 0, "strand": "+"})
    inp = from_plan("tiny", frame, ("a", "b"), {"a": "GRCh38_ensembl100", "b": "GRCh38_ensembl100"},
                    pa.array(seqs, pa.large_string()))
    report = audit_similarity(inp)
    head = report["pairs"]["test_vs_train_validation"]
    assert (head["rows"], head["near_duplicates"], head["beyond_exact_and_rc"], head["label_conflicts"]) == (4, 2, 2, 1)
    assert report["compared_exactly"] == {"rows": 1, "shorter_than_k": 1}
    assert [(e["query"]["id"], e["reference"]["id"], e["coverage"]) for e in head["examples"]] == [
        ("te1", "tr1", 1.0), ("te0", "tr0", 1.0)]
    assert head["examples"][1]["identity"] < 1.0 and head["examples"][0]["identity"] == 1.0
    assert head["similarity_histogram"]["no_candidate"] == 2 and sum(head["similarity_histogram"]["counts"]) == 2
    assert report["params"]["scale_used"] == 1 and report["masked_kmers"] == 0
