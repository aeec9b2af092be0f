"""`haris app`: a web page to try a model on one's own picture (Gradio, the `ui` extra).

What answers is a Predictor in this process or a RemotePredictor for a `haris serve` service
(`--server URL`): one interface, so both modes share one path. The page draws the predictions'
masks and offers their answer JSON (runtime/answer_json.py) for download. Gradio is imported only
by the modules that build and run the page.
"""
