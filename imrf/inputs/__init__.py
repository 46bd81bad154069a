"""The inputs to each forum (OP10-14, OP24, OP39): their registry, intake and chasing."""
