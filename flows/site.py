"""The public inputs website (OP14), rebuilt after each accepted input."""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from imrf.site.publish import publish_edition, site_dir
from tasks import context


@task(name="imrf-build-site")
def build_edition_site(edition: int) -> dict[str, Any]:
    report = publish_edition(context.app(), edition)
    print(report.line())
    return report.model_dump(mode="json")


@flow(name="imrf-rebuild-site", log_prints=True)
def rebuild_site(edition: int) -> dict[str, Any]:
    """Rebuild the public website of an edition's inputs (OP14) after an input was accepted.

    Publishes every accepted input of the edition (never a held or rejected one): an index,
    pages filtered by level, regional group, commission and objective, one page per input
    with its document, the 23 objectives, the edition's calendar and an Atom feed. Only the
    pages whose content changed are rewritten, so a rebuild after one input takes about a
    second. The site is written to `<IMRF_DATA_DIR>/site/<edition>/`, which `imrf run`
    serves on 127.0.0.1 (its address is printed at start). Safe to run again at any time.
    """
    print(f"Rebuilding the inputs website of IMRF {edition} in "
          f"{site_dir(context.app().settings.data_dir)}")
    return build_edition_site(edition)
