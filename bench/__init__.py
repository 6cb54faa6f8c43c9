"""Benchmarks: each module prints a table and measures against a baseline in the same run."""
