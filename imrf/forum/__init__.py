"""The forum itself (OP4-8, OP19-41): participants, round tables, plenary, the declaration."""
