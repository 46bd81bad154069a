"""Reminders that chase: only those who still owe something for a milestone get them.

Some milestones ask each recipient to do something the orchestrator can see: submit an input
before ``inputs-due`` (OP13, OP24), register before ``stakeholder-registration`` (OP6). Their
reminders go only to whoever has not done it yet, and stop the moment they have. Each such
milestone names the function that says who is done; the notifier asks it before every reminder.

A function takes the store and the edition and returns the lower-cased e-mail addresses that
must not be reminded. It is named by dotted path and imported on first use, so that the
notifier does not depend on the areas (inputs, participation) that own the answers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache

from imrf.store import Store

Done = Callable[[Store, int], set[str]]

# milestone id -> "module:function" returning who is done for an edition.
CHASED: dict[str, str] = {
    "inputs-due": "imrf.inputs.chasing:submitted",
    "stakeholder-registration": "imrf.forum.participation:registered",
}


@cache
def _function(path: str) -> Done | None:
    module_name, _, name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None  # the area is not installed: nobody is excluded
        raise
    function: Done = getattr(module, name)
    return function


def done(store: Store, edition: int, milestone_id: str) -> set[str]:
    """Addresses not to remind of ``milestone_id`` in ``edition`` (empty if it is not chased)."""
    path = CHASED.get(milestone_id)
    if path is None:
        return set()
    function = _function(path)
    return set() if function is None else function(store, edition)
