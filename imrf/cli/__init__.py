"""The `imrf` command line: parsing, messages and exit codes; the library does the work."""
