"""`imrf programme`: (being built)."""
