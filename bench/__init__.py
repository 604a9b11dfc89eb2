"""Benchmarks (run as modules, e.g. ``python -m bench.emulator_bench``)."""
