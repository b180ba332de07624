"""BibTeX entries cited by more than one benchmark, declared once."""

GENOMIC_BENCHMARKS = """@article{gresova2023genomic,
  title   = {Genomic benchmarks: a collection of datasets for genomic sequence classification},
  author  = {Gre{\\v{s}}ov{\\'a}, Katar{\\'\\i}na and Martinek, Vlastimil and {\\v{C}}ech{\\'a}k, David and
             {\\v{S}}ime{\\v{c}}ek, Petr and Alexiou, Panagiotis},
  journal = {BMC Genomic Data},
  volume  = {24},
  number  = {1},
  pages   = {25},
  year    = {2023},
  doi     = {10.1186/s12863-023-01123-8}
}"""

ENSEMBL_2021 = r"""@article{howe2021ensembl,
  title   = {Ensembl 2021},
  author  = {Howe, Kevin L and Achuthan, Premanand and Allen, James and others},
  journal = {Nucleic Acids Research},
  volume  = {49},
  number  = {D1},
  pages   = {D884--D891},
  year    = {2021},
  doi     = {10.1093/nar/gkaa942}
}"""

ENSEMBL_REGULATORY_BUILD = r"""@article{zerbino2015ensembl,
  title   = {The Ensembl Regulatory Build},
  author  = {Zerbino, Daniel R and Wilder, Steven P and Johnson, Nathan and Juettemann, Thomas and Flicek, Paul R},
  journal = {Genome Biology},
  volume  = {16},
  number  = {1},
  pages   = {56},
  year    = {2015},
  doi     = {10.1186/s13059-015-0621-5}
}"""

GENOMIC_BENCHMARKS_HUB = """@software{genomic_benchmarks_hub,
  title   = {genomic-benchmarks-hub: genomic sequence-classification benchmarks as Hugging Face datasets},
  author  = {{The genomic-benchmarks-hub authors}},
  year    = {2026},
  license = {Apache-2.0}
}"""  # the project itself (CITATION.cff); cited by configs generated in code, which no paper describes
