"""flowops benchmark suite: `make bench` (or `python -m bench --help`).

Every figure is reported next to a baseline measured in the same run on the same
machine, so the ratios mean something on a laptop, a CI runner or a shared box.
"""
