"""`haris app`: a web page to try a model on one's own picture (Gradio, the `ui` extra).

Everything the page shows is drawn from one JSON answer (runtime/segment_response.py): a
Predictor in this process gives it, or a `haris serve` service does (`--server URL`), so both
modes share one drawing path. Gradio is imported only by the modules that build and run the page.
"""
