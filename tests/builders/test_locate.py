"""`gbhub locate`: exact mapping on both strands; ambiguous, absent and unsearchable reported; every input kind."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from nontata_genome import build_nontata_genome

from gbhub.builders.genome import Genome, prepare
from gbhub.builders.hub_layout import write_hub_folder
from gbhub.builders.locate import _equal_to_queries, locate_sequences, read_queries, table_text, write_locations
from gbhub.cli import main

_COMP = str.maketrans("ACGTN", "TGCAN")


def _rc(seq: str) -> str:
    return seq.translate(_COMP)[::-1]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A random genome (Ensembl names) with sequences planted on both strands, one of them twice."""
    root = tmp_path_factory.mktemp("locate")
    rng = np.random.default_rng(4)
    contigs = {name: "".join(rng.choice(list("ACGT"), size=n)) for name, n in
               {"1": 300_000, "2": 120_000, "X": 60_000, "MT": 16_000}.items()}
    twice = contigs["1"][1000:1300]  # copied onto contig 2: two loci, reported as ambiguous
    contigs["2"] = contigs["2"][:50_000] + twice + contigs["2"][50_300:]
    palindrome = "ACGTTGCA" * 3 + "TGCAACGT" * 3  # its own reverse complement: one locus, not two
    contigs["X"] = contigs["X"][:7000] + palindrome + contigs["X"][7048:]
    with_n = contigs["MT"][500:700]
    contigs["MT"] = contigs["MT"][:600] + "N" + contigs["MT"][601:]
    queries, truth = [], []
    for i in range(400):
        name = ["1", "2", "X", "MT"][i % 4]
        length = int(rng.integers(40, 600))
        start = int(rng.integers(0, len(contigs[name]) - length))
        seq = contigs[name][start: start + length]
        minus = i % 3 == 0
        queries.append(_rc(seq) if minus else seq)
        truth.append((name, start, start + length, "-" if minus else "+"))
    fasta = root / "genome.fa.gz"
    with gzip.open(fasta, "wt") as handle:
        for name, seq in contigs.items():
            handle.write(f">{name} test\n" + "\n".join(seq[i: i + 70] for i in range(0, len(seq), 70)) + "\n")
    genome = Genome(prepare(fasta, root / "prepared", progress=False))
    special = {
        "twice": twice,
        "palindrome": palindrome,
        "with_n": contigs["MT"][500:700],  # holds the N, as the genome does now
        "absent": "".join(rng.choice(list("ACGT"), size=150)),
        "too_short": "ACGTAC",
        "all_n": "N" * 100,
        "lower": contigs["X"][20_000:20_150].lower(),
    }
    assert with_n != special["with_n"]
    return root, fasta, genome, queries, truth, special, contigs


def test_planted_sequences_map_back_on_both_strands(planted):
    _, _, genome, queries, truth, _, contigs = planted
    result = locate_sequences(genome, queries, progress=False)
    table = result.table
    rows = table[["region", "start", "end", "strand"]].astype(object).where(table.notna(), None)
    ok = [tuple(r) == t for r, t in zip(rows.itertuples(index=False, name=None), truth)]
    # a random 40+ bp query could occur twice by chance only with vanishing probability; the copy of
    # contig 1 [1000, 1300) onto contig 2 [50000, 50300) makes any query inside either ambiguous
    inside_copy = [(t[0] == "1" and t[1] >= 1000 and t[2] <= 1300) or (t[0] == "2" and t[1] >= 50_000 and
                   t[2] <= 50_300) for t in truth]
    assert all(o or c for o, c in zip(ok, inside_copy))
    assert (table["status"] == "unique").sum() == len(queries) - sum(inside_copy)
    assert set(table["strand"].dropna()) == {"+", "-"}
    assert result.params["k"] == 32 and result.params["stride"] == 9  # shortest query 40 bp: 32 + 9 - 1


def test_ambiguous_absent_and_unsearchable_are_reported_not_guessed(planted):
    _, _, genome, _, _, special, contigs = planted
    names = list(special)
    result = locate_sequences(genome, list(special.values()), progress=False)
    table = result.table.assign(name=names).set_index("name")
    assert table.loc["twice", "status"] == "ambiguous" and table.loc["twice", "hits"] == 2
    assert pd.isna(table.loc["twice", "region"]) and pd.isna(table.loc["twice", "start"])
    hits = result.hits[result.hits["query"] == names.index("twice")]
    assert sorted(zip(hits["region"], hits["start"])) == [("1", 1000), ("2", 50_000)]
    assert table.loc["palindrome", "status"] == "unique"  # both strands at one position: one locus
    assert (table.loc["palindrome", "region"], table.loc["palindrome", "start"]) == ("X", 7000)
    assert table.loc["palindrome", "strand"] == "+"
    assert (table.loc["with_n", "status"], table.loc["with_n", "start"]) == ("unique", 500)  # N matches N
    assert table.loc["absent", "status"] == "unmapped" and table.loc["absent", "hits"] == 0
    assert table.loc["too_short", "status"] == "unsearchable" and pd.isna(table.loc["too_short", "hits"])
    assert table.loc["all_n", "status"] == "unsearchable"
    assert (table.loc["lower", "status"], table.loc["lower", "start"]) == ("unique", 20_000)  # case ignored
    assert result.counts() == {"unique": 3, "ambiguous": 1, "unmapped": 1, "unsearchable": 2}


def test_every_input_kind_through_the_command(planted, tmp_path, capsys):
    root, fasta, _, queries, truth, _, _ = planted
    seqs, expected = queries[:60], truth[:60]
    fa = tmp_path / "queries.fa"
    fa.write_text("".join(f">q{i} some description\n{s[:30]}\n{s[30:]}\n" for i, s in enumerate(seqs)))
    frame = pd.DataFrame({"name": [f"q{i}" for i in range(60)], "seq": seqs})
    frame.to_csv(tmp_path / "queries.csv", index=False)
    frame.to_parquet(tmp_path / "queries.parquet")
    write_hub_folder(tmp_path / "hub", "cfg", {"test": {"sequence": seqs, "label": [0] * 60,
                                                        "id": [f"q{i}" for i in range(60)]}}, ["a"])
    cases = [
        [str(fa)],
        [str(tmp_path / "queries.csv"), "--column", "seq", "--id-column", "name"],
        [str(tmp_path / "queries.parquet"), "--column", "seq", "--id-column", "name"],
        [str(tmp_path / "hub"), "--config", "cfg", "--split", "test"],  # datasets.load_dataset, offline
    ]
    for i, case in enumerate(cases):
        out = tmp_path / f"located{i}.tsv"
        assert main(["locate", *case, "--reference", f"test={fasta}", "--out", str(out), "--no-progress",
                     "--cache-dir", str(root / "cache")]) == 0
        got = pd.read_csv(out, sep="\t")
        assert got["id"].tolist() == [f"q{i}" for i in range(60)]
        assert list(zip(got["region"].astype(str), got["start"], got["end"], got["strand"])) == expected
    assert "located 60 sequences" in capsys.readouterr().out
    assert main(["locate", *cases[1], "--reference", f"test={fasta}", "--no-progress", "--cache-dir",
                 str(root / "cache")]) == 0  # no --out: the ids and locations on stdout, as the FASTA's file
    assert capsys.readouterr().out == (tmp_path / "located0.tsv").read_text()
    hits = tmp_path / "hits.csv"
    assert main(["locate", str(fa), "--reference", f"test={fasta}", "--out", str(tmp_path / "o.parquet"),
                 "--all-hits", str(hits), "--no-progress", "--cache-dir", str(root / "cache")]) == 0
    assert pd.read_parquet(tmp_path / "o.parquet")["status"].eq("unique").all()
    assert pd.read_csv(hits)[["id", "start"]].values.tolist()[:2] == [["q0", expected[0][1]], ["q1", expected[1][1]]]


def test_bad_inputs_are_one_line_errors(planted, tmp_path, capsys):
    root, fasta, *_ = planted
    table = tmp_path / "t.csv"
    pd.DataFrame({"dna": ["ACGT"]}).to_csv(table, index=False)
    assert main(["locate", str(table), "--reference", f"test={fasta}", "--cache-dir", str(root / "cache")]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no column 'sequence' (columns: dna); pass --column NAME" in err and "\n" not in err
    assert main(["locate", str(tmp_path / "nothing-here"), "--reference", f"test={fasta}", "--cache-dir",
                 str(root / "cache")]) == 2
    assert "not a file and not a dataset" in capsys.readouterr().err


def test_read_queries_ids_of_a_dataset_with_several_splits(tmp_path):
    write_hub_folder(tmp_path / "hub", "c", {"train": {"sequence": ["ACGT", "GGGG"], "label": [0, 1]},
                                             "test": {"sequence": ["TTTT"], "label": [0]}}, ["a", "b"])
    ids, seqs = read_queries(str(tmp_path / "hub"), config="c")
    assert ids.tolist() == ["train/train_0", "train/train_1", "test/test_0"]
    assert seqs.to_pylist() == ["ACGT", "GGGG", "TTTT"]


def test_published_nontata_test_sequences_map_back_to_their_upstream_coordinates(upstream, tmp_path):
    """The 9,034 published `human_nontata_promoters` test sequences, on a genome holding them at their upstream
    coordinates (see `nontata_genome`): each maps back exactly, or is reported ambiguous exactly when the genome
    holds it twice."""
    made = build_nontata_genome(upstream, tmp_path)
    genome = Genome(prepare(made.fasta, tmp_path / "prepared", progress=False))
    result = locate_sequences(genome, made.sequences, progress=False)
    table = result.table
    assert len(table) == 9034 and (table["status"] != "unmapped").all() and (table["status"] != "unsearchable").all()
    unique = table["status"] == "unique"
    located = [("chr" + r, made.to_upstream(r, int(s)), made.to_upstream(r, int(s)) + 251, st)
               for r, s, st in zip(table["region"][unique], table["start"][unique], table["strand"][unique])]
    expected = list(made.expected[unique].itertuples(index=False, name=None))
    assert located == expected
    text = {name: "".join(lines) for name, lines in open_fasta_records(made.fasta).items()}
    for i in np.flatnonzero(~unique.to_numpy()):  # ambiguous: the genome really holds it twice
        seq = made.sequences[i]
        count = sum(t.count(seq) + (t.count(_rc(seq)) if _rc(seq) != seq else 0) for t in text.values())
        assert table.at[i, "status"] == "ambiguous" and table.at[i, "hits"] == count >= 2
    assert unique.sum() >= 9030


def open_fasta_records(path) -> dict[str, list[str]]:
    records: dict[str, list[str]] = {}
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                name = line[1:].split()[0]
                records[name] = []
            else:
                records[name].append(line.strip())
    return records


def test_located_bed_feeds_create_and_the_benchmark_holds_the_queries(planted, tmp_path, capsys):
    """A sequence-only dataset -> `locate --out .bed` per class -> `create`: the created rows are the queries."""
    root, fasta, _, queries, truth, special, _ = planted
    by_class = {"a": queries[0:200:2] + [special["absent"], special["twice"]], "b": queries[1:200:2]}
    beds = {}
    for cls, seqs in by_class.items():
        fa = tmp_path / f"{cls}.fa"
        fa.write_text("".join(f">{cls} {i}\n{s}\n" for i, s in enumerate(seqs)))  # ids with spaces
        beds[cls] = tmp_path / f"{cls}.bed"
        assert main(["locate", str(fa), "--reference", f"test={fasta}", "--out", str(beds[cls]), "--no-progress",
                     "--cache-dir", str(root / "cache")]) == 0
    out = capsys.readouterr().out
    assert "the other 2 have no single locus and are left out" in out
    rows = [line.split("\t") for line in beds["a"].read_text().splitlines()]
    assert all(len(r) == 6 and " " not in r[3] and r[4] == "0" and r[5] in "+-" for r in rows)
    assert [(r[0], int(r[1])) for r in rows] == sorted((r[0], int(r[1])) for r in rows)  # sorted for create
    hub = tmp_path / "hub"
    assert main(["create", "located", "--class", f"a={beds['a']}", "--class", f"b={beds['b']}", "--reference",
                 f"test={fasta}", "--split", "random", "--no-audit", "--out", str(hub), "--cache-dir",
                 str(root / "cache"), "--no-progress"]) == 0
    frame = pd.concat([pd.read_parquet(p) for p in sorted((hub / "located").glob("*.parquet"))])
    unique = {cls: {s.upper() for s in seqs} - {special["absent"], special["twice"]} for cls, seqs in by_class.items()}
    inside_copy = {q for q, t in zip(queries[:200], truth[:200]) if (t[0] == "1" and t[1] >= 1000 and t[2] <= 1300)
                   or (t[0] == "2" and t[1] >= 50_000 and t[2] <= 50_300)}
    for label, cls in enumerate(["a", "b"]):
        assert set(frame.loc[frame["label"] == label, "sequence"]) == unique[cls] - inside_copy


def test_usage_errors_exit_2_in_one_line(planted, tmp_path, capsys):
    root, fasta, *_ = planted
    with pytest.raises(SystemExit) as exit_:
        main(["locate", str(fasta), "--reference", "test="])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "gbhub locate: error: --reference 'test=': expected KEY or KEY=FASTA, e.g. GRCh38=/data/hg38.fa.gz"
    with pytest.raises(SystemExit) as exit_:
        main(["create", "x", "--class", "a", "--reference", f"test={fasta}", "--out", str(tmp_path / "hub")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == "gbhub create: error: --class 'a': expected NAME=BED"
    assert not (tmp_path / "hub").exists()


def test_a_located_sequence_only_dataset_is_audited_on_its_coordinates(planted, tmp_path, capsys):
    """`gbhub locate DATASET --out located.parquet` keeps label and split and adds the coordinates the audit reads:
    `gbhub audit located.parquet` then finds a test sequence planted inside a train sequence's locus."""
    root, fasta, _, queries, truth, _, _ = planted
    def apart(i):  # a query whose locus touches no train locus (random loci on small contigs may)
        c, s, e, _ = truth[i]
        return all(c != tc or e <= ts or te <= s for tc, ts, te, _ in truth[:40])

    inside = queries[0][10:-10]  # a piece of train row 0: another sequence, an overlapping locus
    others = [queries[i] for i in range(40, len(queries)) if apart(i)][:19]
    train = {"sequence": queries[:40], "label": [i % 2 for i in range(40)]}
    test = {"sequence": others + [inside, "ACGTTTGCAAGCTAGCTAGGATCCATCGATCGTAGCTAGCTAG"],
            "label": [i % 2 for i in range(21)]}
    write_hub_folder(tmp_path / "hub", "seqonly", {"train": train, "test": test}, ["a", "b"])
    located = tmp_path / "located.parquet"
    assert main(["locate", str(tmp_path / "hub"), "--config", "seqonly", "--reference", f"test={fasta}",
                 "--out", str(located), "--no-progress", "--cache-dir", str(root / "cache")]) == 0
    table = pd.read_parquet(located)
    assert {"id", "sequence", "label", "split", "status", "region", "start", "end", "strand"} <= set(table.columns)
    assert table["split"].tolist() == ["train"] * 40 + ["test"] * 21
    assert table["label"].tolist()[:3] == ["a", "b", "a"]  # class names, not ids
    assert tuple(table.loc[0, ["region", "start", "end", "strand"]]) == truth[0]
    assert table["status"].iloc[-1] == "unmapped" and pd.isna(table["start"].iloc[-1])
    capsys.readouterr()
    assert main(["audit", str(located), "--parts", "overlap", "contigs", "--json", "--no-report",
                 "--out", str(tmp_path / "audit"), "--no-progress"]) == 0
    report = next(iter(json.loads(capsys.readouterr().out).values()))
    assert report["inputs"]["coordinates"] == {"status": "present", "rows": 60,
                                               "reason": "1 rows without a region are left out"}  # the unmapped one
    assert report["rows"]["test"] == {"a": 11, "b": 10}
    pairs = report["overlap"]["pairs"]["test_vs_train_validation"]
    assert pairs["overlapping"] == 1 and pairs["by_class"]["b"]["overlapping"] == 1  # the planted piece (row 19)
    assert report["contigs"]["by_class"]["a"]["applicable"]


def test_text_written_without_pandas_is_the_bytes_pandas_writes(planted, tmp_path):
    """A FASTA's table and BED are written through `csv` (the command then never imports pandas): the bytes are
    those `DataFrame.to_csv` writes, ids that need quoting and every status included."""
    _, _, genome, queries, _, special, _ = planted
    seqs = queries[:30] + list(special.values())
    ids = np.array([f"q{i}" for i in range(len(seqs))], dtype=object)
    ids[:5] = ["with,comma", 'with"quote', "with\ttab", "two  spaces and\ta tab", "ünïcode"]
    result = locate_sequences(genome, seqs, progress=False)
    assert set(result.counts().values()) != {0} and all(result.counts().values())  # every status present
    for name in ("t.tsv", "t.csv"):
        fast = write_locations(result, ids, tmp_path / f"fast-{name}")
        slow = write_locations(result, ids, tmp_path / f"pandas-{name}", pd.DataFrame(index=range(len(seqs))))
        assert fast.read_bytes() == slow.read_bytes()
        back = pd.read_csv(fast, sep="\t" if name.endswith("tsv") else ",", dtype=str, keep_default_na=False)
        assert back["id"].tolist() == ids.tolist()
    # the BED as the pandas version wrote it: unique rows sorted by region, start, end; whitespace runs -> "_"
    frame = result.table.copy()
    frame.insert(0, "id", ids)
    rows = frame[frame["status"] == "unique"]
    rows = rows.assign(id=rows["id"].astype(str).str.replace(r"\s+", "_", regex=True), score=0)
    rows = rows.sort_values(["region", "start", "end"], kind="stable")
    want = rows[["region", "start", "end", "id", "score", "strand"]].astype(str).to_csv(
        sep="\t", header=False, index=False, lineterminator="\n")
    assert write_locations(result, ids, tmp_path / "t.bed").read_text() == want
    assert table_text(result, ids) == (tmp_path / "fast-t.tsv").read_text()


def test_locate_on_a_fasta_imports_no_pandas(planted, tmp_path):
    """Start-up is most of the command's time on one chromosome: FASTA in, text out, no bars, imports neither
    pandas nor `pyarrow.compute` nor tqdm."""
    root, fasta, _, queries, _, _, _ = planted
    fa = tmp_path / "q.fa"
    fa.write_text("".join(f">q{i}\n{s}\n" for i, s in enumerate(queries[:20])))
    code = ("import sys; from gbhub.cli import main; "
            f"code = main(['locate', {str(fa)!r}, '--reference', 'test={fasta}', '--out', {str(tmp_path / 'o.tsv')!r}, "
            f"'--cache-dir', {str(root / 'cache')!r}, '--no-progress']); "
            "loaded = [m for m in ('pandas', 'pyarrow.compute', 'tqdm', 'datasets') if m in sys.modules]; "
            "print(loaded); sys.exit(code or 10 * bool(loaded))")
    assert main(["locate", str(fa), "--reference", f"test={fasta}", "--out", str(tmp_path / "first.tsv"),
                 "--cache-dir", str(root / "cache"), "--no-progress"]) == 0  # the reference prepared once
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"{done.stderr}\n(exit 10: imported {done.stdout.strip()})"
    assert (tmp_path / "o.tsv").read_text().count("\tunique\t") == 20


def test_fasta_bytes_outside_ascii_read_as_replacement_characters(tmp_path):
    fa = tmp_path / "q.fa"
    fa.write_bytes(b">a\nACGT\n>b\nAC\xffGT\n>c\n\n")
    ids, seqs = read_queries(str(fa))
    assert ids.tolist() == ["a", "b", "c"] and seqs.to_pylist() == ["ACGT", "AC\ufffdGT", ""]
    fa.write_bytes(b">a\nACGT\n>b\nacgtn\n")
    assert read_queries(str(fa))[1].to_pylist() == ["ACGT", "acgtn"]


def test_verification_reads_the_genome_bytes_of_both_strands_and_compares_every_one(planted):
    """`Genome.iter_bytes` gives what `Genome.fetch` gives, piece by piece; `_equal_to_queries` finds a single
    changed base anywhere in a sequence."""
    _, _, genome, _, _, _, contigs = planted
    rng = np.random.default_rng(0)
    names = np.array(list(genome.contigs), dtype=object)
    region = names[rng.integers(0, len(names), size=500)]
    lengths = rng.integers(1, 400, size=500)
    starts = np.array([rng.integers(0, genome.contigs[r].length - n) for r, n in zip(region, lengths)])
    minus = rng.random(500) < 0.5
    want = genome.fetch(region, starts, starts + lengths, minus).to_pylist()
    absolute = np.array([genome.contigs[r].offset for r in region]) + starts
    for piece in (1, 1000, 1 << 23):
        got = [None] * 500
        for rows, data, bounds in genome.iter_bytes(absolute, lengths, minus, piece=piece):
            for i, row in enumerate(rows):
                got[row] = data[bounds[i]: bounds[i + 1]].tobytes().decode()
        assert got == want
    seqs = want[:200]
    changed = list(seqs)
    for i in range(0, 200, 3):  # one base changed: first, last or inside
        j = [0, len(seqs[i]) - 1, len(seqs[i]) // 2][(i // 3) % 3]
        changed[i] = seqs[i][:j] + ("A" if seqs[i][j] != "A" else "C") + seqs[i][j + 1:]
    data = np.frombuffer("".join(changed).encode(), dtype=np.uint8)
    bounds = np.concatenate([[0], np.cumsum([len(s) for s in changed])])
    order = rng.permutation(200)  # queries in another order than the genome bytes
    q = pa.array([seqs[i] for i in order], pa.large_string())
    q_off = np.frombuffer(q.buffers()[1], dtype=np.int64)
    q_data = np.frombuffer(q.buffers()[2], dtype=np.uint8)
    same = _equal_to_queries(data, bounds, q_data, q_off, np.argsort(order))
    assert same.tolist() == [i % 3 != 0 for i in range(200)]


def test_arrow_inputs_of_every_string_layout_give_the_same_result(planted):
    """Lists, `string` (int32 offsets, widened by hand), sliced arrays, `large_string`, `string_view` and chunked
    arrays are read alike."""
    _, _, genome, queries, _, _, _ = planted
    seqs = queries[:50]
    want = locate_sequences(genome, seqs[10:40], progress=False).table
    for given in (pa.array(seqs, pa.string()).slice(10, 30), pa.array(seqs[10:40], pa.large_string()),
                  pa.array(seqs[10:40], pa.string_view()), pa.chunked_array([seqs[10:25], seqs[25:40]])):
        got = locate_sequences(genome, given, progress=False).table
        pd.testing.assert_frame_equal(got, want)
    for missing in (pa.array([seqs[0], None], pa.string()), [seqs[0], None]):
        with pytest.raises(ValueError, match="1 of the sequences are missing"):
            locate_sequences(genome, missing, progress=False)
    text = locate_sequences(genome, [seqs[0], seqs[1] + "Ä"], progress=False).table  # not ASCII: never a locus
    assert text["status"].tolist() == ["unique", "unmapped"]


def test_the_result_does_not_depend_on_the_scan_threads_or_block_size(planted, monkeypatch):
    """Blocks are scanned by several threads and taken in genome order: 1 or 3 threads, small or large blocks
    (k-mers straddling block ends), the same table and the same hits."""
    import gbhub.builders.locate as locate

    _, _, genome, queries, _, special, _ = planted
    seqs = queries[:120] + list(special.values())
    want = locate_sequences(genome, seqs, progress=False)
    for threads, block in ((1, 1 << 12), (3, 1 << 12), (3, 1 << 14)):
        monkeypatch.setattr(locate, "_scan_threads", lambda threads=threads: threads)
        monkeypatch.setattr(locate, "_BLOCK", block)
        got = locate_sequences(genome, seqs, progress=False)
        pd.testing.assert_frame_equal(got.table, want.table)
        pd.testing.assert_frame_equal(got.hits, want.hits)
        assert got.params == want.params
