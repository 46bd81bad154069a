"""`imrf site`: (being built)."""
