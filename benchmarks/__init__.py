"""haris.benchmarks: speed, memory and parity measurements; run each module with `python -m`."""
