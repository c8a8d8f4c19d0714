"""The offline tools behind the `pedal` command: render, the benchmarks, warm-up, plots."""
