"""Benchmarks: commands that measure a stage against known truth and print a table."""
