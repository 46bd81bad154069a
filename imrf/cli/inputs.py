"""`imrf inputs`: (being built)."""
