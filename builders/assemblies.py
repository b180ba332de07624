"""Contig naming (Ensembl vs UCSC spellings) and the known contig lengths of each assembly."""

from __future__ import annotations

import re

_MITO = {"M", "MT", "MTDNA", "MITOCHONDRION_GENOME"}
_TRANSCRIPT_VERSION = re.compile(r"^(ENS[A-Z]*T\d+)\.\d+$")


def canonical_contig(name: str) -> str:
    """The spelling-independent key of a contig or transcript name.

    `chr1` and `1` give `1`; `chrM`, `MT`, `MtDNA` and `mitochondrion_genome` give `MT`; a versioned
    Ensembl transcript id `ENST00000217185.6` gives `ENST00000217185`.
    """
    match = _TRANSCRIPT_VERSION.match(name)
    if match:
        return match.group(1)
    if name[:3].lower() == "chr":
        name = name[3:]
    return "MT" if name.upper() in _MITO else name


# Primary-assembly contig lengths (bp), Ensembl spelling. A FASTA whose contig of the same canonical
# name has another length is of another assembly and is refused.
_GRCH38 = {
    "1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "5": 181538259,
    "6": 170805979, "7": 159345973, "8": 145138636, "9": 138394717, "10": 133797422,
    "11": 135086622, "12": 133275309, "13": 114364328, "14": 107043718, "15": 101991189,
    "16": 90338345, "17": 83257441, "18": 80373285, "19": 58617616, "20": 64444167,
    "21": 46709983, "22": 50818468, "X": 156040895, "Y": 57227415, "MT": 16569,
}
_GRCM38 = {
    "1": 195471971, "2": 182113224, "3": 160039680, "4": 156508116, "5": 151834684,
    "6": 149736546, "7": 145441459, "8": 129401213, "9": 124595110, "10": 130694993,
    "11": 122082543, "12": 120129022, "13": 120421639, "14": 124902244, "15": 104043685,
    "16": 98207768, "17": 94987271, "18": 90702639, "19": 61431566, "X": 171031299,
    "Y": 91744698, "MT": 16299,
}
_BDGP6 = {
    "2L": 23513712, "2R": 25286936, "3L": 28110227, "3R": 32079331, "4": 1348131,
    "X": 23542271, "Y": 3667352, "MT": 19524,
}
_WBCEL235 = {
    "I": 15072434, "II": 15279421, "III": 13783801, "IV": 17493829, "V": 20924180,
    "X": 17718942, "MT": 13794,
}

KNOWN_LENGTHS: dict[str, dict[str, int]] = {
    "GRCh38": _GRCH38,
    "GRCm38": _GRCM38,
    "BDGP6.28": _BDGP6,
    "WBcel235": _WBCEL235,
}


def assembly_size(assembly: str) -> int | None:
    """Total length in bp of the assembly's primary contigs, or None when not known."""
    lengths = KNOWN_LENGTHS.get(assembly)
    return sum(lengths.values()) if lengths else None
