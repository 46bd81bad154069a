"""How the flows are served (embedded default) or deployed to a work pool (prefect.yaml)."""
