"""Review-cycle orchestrator for the International Migration Review Forum (IMRF)."""
