"""Datasets: the refer format (RefCOCO, RefCOCO+, G-Ref), PhraseCut, and the synthetic default."""
