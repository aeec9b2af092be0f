"""RIS metrics and evaluation."""
