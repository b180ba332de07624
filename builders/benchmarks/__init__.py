"""One short declarative module per benchmark; each defines `SPEC`, a `BenchmarkSpec`."""
