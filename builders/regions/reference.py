"""The reference of `gbhub create` and `gbhub locate`: a registry key, an assembly or a name of one's own, prepared.

Kept apart from `create` so that `gbhub locate` does not import the build path (and `datasets` with it).
"""

from __future__ import annotations

import os
from pathlib import Path

from gbhub.builders.assemblies import KNOWN_LENGTHS, canonical_contig
from gbhub.builders.errors import GBHubError
from gbhub.builders.genome import Genome
from gbhub.builders.references import REFERENCES, Reference, ResolvedReference, resolve_reference


def resolve_named_reference(key: str, fasta: str | os.PathLike | None, *, cache_dir=None,
                            progress: bool = True) -> tuple[ResolvedReference, str]:
    """A reference named by registry key, assembly or a name of one's own, prepared; and its assembly.

    The assembly is the registry's, the given assembly name, or the one whose contig lengths the FASTA
    has (`KNOWN_LENGTHS`); otherwise the key itself.
    """
    if key in REFERENCES:
        ref = REFERENCES[key]
    else:
        if fasta is None:
            raise GBHubError(f"--reference {key}: not a reference key ({', '.join(REFERENCES)}); "
                             f"give its FASTA as --reference {key}=PATH")
        ref = Reference(key, key, "genome", f"local:{key}", f"Local FASTA given as {key}", None)
    if fasta is not None and not Path(fasta).is_file():
        raise GBHubError(f"--reference {key}={fasta}: {fasta} not found; give a FASTA (.fa, .fa.gz or bgzip) file")
    resolved = resolve_reference(ref, local_path=Path(fasta) if fasta else None, cache_dir=cache_dir,
                                 progress=progress)
    assembly = ref.assembly if ref.assembly in KNOWN_LENGTHS else detect_assembly(resolved.genome) or key
    return resolved, assembly


def detect_assembly(genome: Genome) -> str | None:
    """The assembly of `KNOWN_LENGTHS` whose contigs the reference has (at least half, every one at its length)."""
    lengths = {canonical_contig(c.name): c.length for c in genome.contigs.values()}
    for assembly, known in KNOWN_LENGTHS.items():
        shared = [c for c in known if c in lengths]
        if len(shared) * 2 >= len(known) and all(lengths[c] == known[c] for c in shared):
            return assembly
    return None
