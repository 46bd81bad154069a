"""`imrf forum`: (being built)."""
