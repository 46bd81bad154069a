"""Synthetic accepted inputs, for the benchmark and for trying the site without a registry.

Fictional titles and organisations; the Member States are the real reference list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random

from imrf import reference
from imrf.inputs.models import Document, Level, Status, Submission
from imrf.vocabulary import Commission

_TOPICS = ("labour mobility", "return and reintegration", "migrant data", "climate and "
           "displacement", "regular pathways", "border governance", "inclusion in cities",
           "remittances", "consular protection", "skills recognition")
_KINDS = ("Voluntary national review", "Regional review outcome", "Stakeholder submission",
          "Progress report", "Contribution")


def sample_submissions(count: int, *, edition: int, seed: int = 0,
                       start: dt.date | None = None) -> list[Submission]:
    """``count`` accepted inputs of every level, spread over the months before the forum."""
    rng = random.Random(seed)
    states = sorted(s.iso3 for s in reference.member_states())
    start = start or dt.date(edition - 1, 6, 1)
    levels = list(Level)
    result = []
    for n in range(count):
        level = levels[n % len(levels)]
        state = rng.choice(states) if level is Level.NATIONAL else None
        commission = rng.choice(list(Commission)) if level is Level.REGIONAL else None
        objectives = tuple(sorted(rng.sample(range(1, 24), rng.randint(1, 4))))
        if n % 3 == 0:
            sha = hashlib.sha256(f"{seed}-{n}".encode()).hexdigest()
            document = Document(filename=f"input-{n}.pdf", media_type="application/pdf",
                                size=1000 + n, sha256=sha)
        else:
            document = Document(link=f"https://example.org/inputs/{edition}/{n}.pdf")
        result.append(Submission(
            id=f"input-{seed}-{n}", edition=edition, level=level,
            submitter_email=f"focal.point{n}@example.org", submitter_name=f"Focal point {n}",
            organization=f"{state or (commission.value.upper() if commission else 'Network')}"
                         f" office {n % 97}",
            state=state, commission=commission, objectives=objectives,
            title=f"{rng.choice(_KINDS)} on {rng.choice(_TOPICS)} ({n})",
            language=rng.choice(("en", "fr", "es", "ar")),
            received_on=start + dt.timedelta(days=n % 300), document=document,
            status=Status.ACCEPTED,
        ))
    return result
