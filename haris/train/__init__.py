"""Training: config, loop, distributed helpers."""
