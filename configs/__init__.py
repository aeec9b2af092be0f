"""Model presets as YAML data; `haris.config.load_preset` reads them by name."""
