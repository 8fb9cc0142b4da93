"""Benchmarks of perception against peer tools, measured in the same run (not tests)."""
