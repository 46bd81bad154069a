"""Benchmarks (`make bench`): figures and ratios against a named baseline measured in the same run.

Targets live here, never in timed tests: the machines are shared and noisy. Each benchmark
prints its median over several repeats and the ratio to its baseline.
"""
