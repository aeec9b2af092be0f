"""`haris label`: referring-expression labels for a whole image collection, on a Ray cluster (Ray Data),
written as sharded COCO annotation files, resumable (docs/labelling.md).

Importing this package loads no Ray: only `label_pipeline.py` and `batch_labeller.py` use it, when a run starts.
"""
