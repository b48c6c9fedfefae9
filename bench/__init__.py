"""Baseline benchmarks of the platform's physical limits on this machine.

Run with `python -m bench [all|raw|pipeline|http]`; see `bench/README.md`.
Benchmarks are not tests: nothing here asserts a timing.
"""
