"""Tools for tests, benchmarks and offline demos; nothing here is used in production paths."""
