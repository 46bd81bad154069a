"""The public inputs website (OP14): a static site generated from the accepted inputs.

Pure and Prefect-free: :func:`build_site` takes the submissions, the edition's calendar and
an output folder; :mod:`imrf.site.publish` reads them from the registry; the flow
``flows/site.py`` calls that after each accepted input; ``imrf run`` serves the folder.
"""

from imrf.site.build import PAGE_SIZE, SiteReport, build_site
from imrf.site.writer import SiteError

__all__ = ["PAGE_SIZE", "SiteError", "SiteReport", "build_site"]
