"""Benchmarks of wxwork_demo under gunicorn, MariaDB and the upstream simulator: `make bench`.

Every figure is a ratio against a baseline measured in the same run, so a noisy machine moves both sides.
See `bench/run.py` for what is measured and `bench/RESULTS.md` for the latest figures.
"""
