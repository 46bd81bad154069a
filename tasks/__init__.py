"""Prefect tasks: each wraps one call into the domain (`imrf`), batched, never one per e-mail."""
