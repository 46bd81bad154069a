"""Human steps: the operator answers in a form on the run's page in the Prefect UI.

The flow suspends (`suspend_flow_run(wait_for_input=...)`), which frees its worker; resuming
re-runs the flow from the start, and the suspension with the same key returns the answer. The
form enforces only the JSON schema, so the answer is validated here; a wrong answer (one
co-chair where two are needed, an objection from a non-Member) is shown back to the operator
with the problems, under a new key, instead of failing the stage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from prefect import get_run_logger
from prefect.flow_runs import suspend_flow_run
from prefect.input.run_input import run_input_subclass_from_type
from pydantic import BaseModel, ValidationError

from imrf.human_steps import INPUTS, check_answer
from imrf.modalities import load_modalities
from imrf.reference import states

MAX_ATTEMPTS = 50  # a bound on re-asking; each attempt is a distinct suspension key


class ScriptedAnswerError(ValueError):
    """A scripted answer (simulation, manual trigger) that does not pass the checks."""


ExtraCheck = Callable[[BaseModel], list[str]]


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def validation_problems(exc: ValidationError) -> list[str]:
    """One line per error. A location holds the keys the answer gave, which are the
    operator's (or an attacker's) text: anything but a plain key is quoted, so a key with a
    line break cannot add lines (and Markdown) to the run page."""
    def part(key: object) -> str:
        text = str(key)
        return text if _PLAIN_KEY.match(text) else ascii(text)

    return [f"{'.'.join(map(part, e['loc'])) or 'answer'}: {' '.join(e['msg'].split())}"
            for e in exc.errors(include_url=False)]


def problems_of(step_input: str, raw: dict[str, Any] | BaseModel, modalities_id: str,
                extra_check: ExtraCheck | None = None) -> tuple[BaseModel | None, list[str]]:
    model = INPUTS[step_input]
    try:
        answer = raw if isinstance(raw, model) else model.model_validate(
            raw.model_dump() if isinstance(raw, BaseModel) else raw)
    except ValidationError as exc:
        return None, validation_problems(exc)
    problems = check_answer(step_input, answer, load_modalities(modalities_id), states())
    if extra_check is not None:  # the area's checks against the store (imrf.human_steps)
        problems += [p for p in extra_check(answer) if p not in problems]
    return answer, problems


def ask(*, step_input: str, title: str, context: str, modalities_id: str,
        scripted: dict[str, Any] | None, on_problems: Any,
        extra_check: ExtraCheck | None = None) -> BaseModel:
    """The operator's validated answer; `scripted` answers instead of asking (simulation)."""
    if scripted is not None:
        given, refused = problems_of(step_input, scripted, modalities_id, extra_check)
        if refused or given is None:
            raise ScriptedAnswerError(f"{title}: " + "; ".join(refused))
        return given
    logger = get_run_logger()
    form: Any = run_input_subclass_from_type(INPUTS[step_input])
    problems: list[str] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        description = f"## {title}\n\n{context}"
        if problems:
            description += "\n\n**The previous answer was not accepted:**\n" + "\n".join(
                f"- {' '.join(p.split())}" for p in problems)  # one list item each
        try:
            raw = suspend_flow_run(wait_for_input=form.with_initial_data(
                description=description), key=f"{step_input}-{attempt}")
        except ValidationError as exc:
            problems = validation_problems(exc)
        else:
            answer, problems = problems_of(step_input, raw, modalities_id, extra_check)
            if not problems and answer is not None:
                return answer
        logger.warning("Answer to %r not accepted: %s", title, "; ".join(problems))
        on_problems(problems)
    raise RuntimeError(f"{title}: no acceptable answer after {MAX_ATTEMPTS} attempts")
