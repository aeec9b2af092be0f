"""The synthetic default dataset, written in the refer format."""

from haris.data.synthetic.synthetic_writer import write_synthetic_dataset

__all__ = ["write_synthetic_dataset"]
