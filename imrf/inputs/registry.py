"""The registry of inputs to each forum (OP13): validated intake, review of held inputs.

An input from a known contact is accepted at once; from anyone else it is ``held`` until an
operator accepts or rejects it, and only accepted inputs are ever published (OP14). A stored
document is content-addressed: its bytes go to ``<data_dir>/inputs/<sha256>`` (written to a
temporary file and renamed, so never half-written) before its row is committed; a failure in
between leaves at most an unreferenced blob, never a row without its document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import pendulum
from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from imrf import reference
from imrf.inputs.config import InputsConfig, load_inputs_config
from imrf.inputs.intake import NewInput
from imrf.inputs.models import Document, Level, Status, Submission
from imrf.inputs.tracker import Tracker, compute
from imrf.inputs.validation import InputRefused, check_document, check_size, sanitise_filename
from imrf.store import Store
from imrf.store.tables import contact_audiences, contacts
from imrf.store.tables_inputs import inputs
from imrf.vocabulary import Audience

NEW_YORK = "America/New_York"
ID_ATTEMPTS = 5
NOT_GIVEN = "not given"  # the organisation of an unknown submitter who named none


class DuplicateInput(InputRefused):
    """The same document (or link) is already an input to this edition."""

    def __init__(self, message: str, existing: str) -> None:
        super().__init__(message)
        self.existing = existing


class UnknownInput(LookupError):
    def __str__(self) -> str:
        return f"no input {self.args[0]!r}"


class InputStateError(ValueError):
    """The input is not in a state that allows the change asked for."""


class InputRecord(NamedTuple):
    """A submission with what the operator sees beside it: why it is held or rejected."""

    submission: Submission
    reason: str | None
    decided_by: str | None


def _today() -> dt.date:
    now = pendulum.now(NEW_YORK)
    return dt.date(now.year, now.month, now.day)


class InputRegistry:
    """The inputs in the store, their documents under ``data_dir``; each method one
    transaction."""

    def __init__(self, store: Store, *, data_dir: Path | None = None,
                 config: InputsConfig | None = None, config_dir: Path | None = None) -> None:
        self._store = store
        self._data_dir = data_dir
        self._config = config
        self._config_dir = config_dir

    @property
    def store(self) -> Store:
        return self._store

    @property
    def data_dir(self) -> Path:
        """Where documents are stored; the settings' data directory unless given."""
        if self._data_dir is None:
            from imrf.settings import load_settings

            self._data_dir = load_settings().data_dir
        return self._data_dir

    @property
    def config(self) -> InputsConfig:
        if self._config is None:
            self._config = load_inputs_config(self._config_dir)
        return self._config

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "inputs"

    # --- intake ---------------------------------------------------------------------------

    def add_file(self, meta: NewInput, path: Path, *, filename: str | None = None) -> Submission:
        """Register the file at ``path`` (its size checked before it is read)."""
        name = sanitise_filename(filename or path.name)
        try:
            size = path.stat().st_size
            check_size(size, self.config, where=name)
            content = path.read_bytes()
        except FileNotFoundError:
            raise InputRefused(f"{path}: no such file") from None
        except IsADirectoryError:
            raise InputRefused(f"{path}: is a directory, not a file") from None
        except OSError as exc:
            raise InputRefused(f"{path}: cannot read: {exc.strerror or exc}") from None
        return self.add(meta, content=content, filename=name)

    def add(self, meta: NewInput, *, content: bytes | None = None,
            filename: str | None = None, recorded_by: str | None = None,
            check_duplicates: bool = True) -> Submission:
        """Validate and register one input: a file (``content`` and ``filename``) or
        ``meta.link``. Raises InputRefused (DuplicateInput for a document already in).

        ``recorded_by`` names the operator who recorded it (e.g. a regional review's outcome
        answered in a human step): it is accepted whoever the submitter is. Only such an
        operator may turn ``check_duplicates`` off (one outcome document of two commissions
        is an input of each)."""
        if not check_duplicates and not recorded_by:
            raise ValueError("only an operator's record may skip the duplicate check")
        self._check_metadata(meta)
        if (content is None) == (meta.link is None):
            raise InputRefused("give either a file or a link, not both and not neither")
        document: Document
        if content is not None:
            name = sanitise_filename(filename or "document")
            accepted = check_document(content, name, self.config)
            digest = hashlib.sha256(content).hexdigest()
            document = Document(filename=name, media_type=accepted.media_type,
                                size=len(content), sha256=digest)
        else:
            document = Document(link=meta.link)
        if check_duplicates:
            with self._store.unit_of_work(read_only=True) as uow:
                self._refuse_duplicate(uow.connection, meta.edition, document)
        if content is not None:
            self._write_blob(content, document.sha256 or "")
        for _ in range(ID_ATTEMPTS):
            try:
                return self._insert(meta, document, recorded_by, check_duplicates)
            except IntegrityError:
                continue  # another writer took the same id: count again
        raise InputRefused("could not allocate an input id: too many concurrent submissions")

    def _check_metadata(self, meta: NewInput) -> None:
        _check_edition(meta.edition, self._config_dir)
        known = reference.states(self._config_dir)
        if meta.state is not None and meta.state not in known:
            raise InputRefused(f"state: {meta.state} is not a known Member or observer State")
        if meta.level is Level.NATIONAL and meta.state is None:
            raise InputRefused("state: a national input names its Member State (ISO alpha-3)")
        if meta.level is Level.REGIONAL and meta.commission is None and meta.state is None:
            raise InputRefused("commission: a regional input names its commission "
                               "(eca, ece, eclac, escap, escwa)")

    def _refuse_duplicate(self, conn: Connection, edition: int, document: Document) -> None:
        column = inputs.c.sha256 if document.sha256 else inputs.c.link
        value = document.sha256 or document.link
        row = conn.execute(
            select(inputs.c.id, inputs.c.title, inputs.c.status)
            .where(column == value, inputs.c.edition == edition,
                   inputs.c.status != Status.REJECTED.value)
            .order_by(inputs.c.created_at)
        ).first()
        if row is not None:
            what = "document" if document.sha256 else "link"
            raise DuplicateInput(
                f"the same {what} is already input {row.id} ({row.status}) of the {edition} "
                f"edition: {row.title!r}", existing=row.id)

    def _write_blob(self, content: bytes, digest: str) -> None:
        target = self.blobs_dir / digest
        if target.exists() and target.stat().st_size == len(content):
            return  # content-addressed: the same bytes are there already
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.blobs_dir / f".tmp-{uuid.uuid4().hex}"
        try:
            with temporary.open("xb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)

    def _insert(self, meta: NewInput, document: Document, recorded_by: str | None,
                check_duplicates: bool) -> Submission:
        with self._store.unit_of_work() as uow:
            conn = uow.connection
            if check_duplicates:  # again, inside the write
                self._refuse_duplicate(conn, meta.edition, document)
            contact = _contact(conn, meta.submitter)
            status, reason = ((Status.ACCEPTED, None) if recorded_by
                              else _status_for(meta, contact))
            prefix = f"{meta.edition}-{_slug(meta)}-"
            taken = conn.execute(select(func.count()).select_from(inputs)
                                 .where(inputs.c.id.like(f"{prefix}%"))).scalar_one()
            submission = Submission(
                id=f"{prefix}{taken + 1}", edition=meta.edition, level=meta.level,
                submitter_email=meta.submitter,
                submitter_name=meta.submitter_name
                or (contact["name"] if contact else meta.submitter),
                organization=meta.organization
                or (contact["organization"] if contact and contact["organization"]
                    else NOT_GIVEN),
                state=meta.state, commission=meta.commission, objectives=meta.objectives,
                title=meta.title, language=meta.language,
                received_on=meta.received_on or _today(), document=document, status=status)
            now = dt.datetime.now(dt.UTC)
            conn.execute(inputs.insert().values(
                **_row(submission), reason=reason, created_at=now, updated_at=now,
                decided_by=recorded_by[:200] if recorded_by else None))
            uow.commit()
        return submission

    # --- review ---------------------------------------------------------------------------

    def accept(self, input_id: str, *, actor: str = "operator") -> Submission:
        """Accept a held input (accepting an accepted one changes nothing)."""
        return self._decide(input_id, Status.ACCEPTED, None, actor)

    def reject(self, input_id: str, reason: str, *, actor: str = "operator") -> Submission:
        """Reject a held or accepted input; it is no longer published. Needs a reason."""
        reason = " ".join(reason.split())
        if not reason:
            raise InputStateError("a rejection needs a reason (it is told to the operator "
                                  "and kept with the input)")
        return self._decide(input_id, Status.REJECTED, reason, actor)

    def _decide(self, input_id: str, status: Status, reason: str | None,
                actor: str) -> Submission:
        allowed = {Status.ACCEPTED: {Status.HELD},
                   Status.REJECTED: {Status.HELD, Status.ACCEPTED}}[status]
        with self._store.unit_of_work() as uow:
            record = _record(_fetch(uow.connection, input_id))
            current = record.submission.status
            if current is status:
                return record.submission
            if current not in allowed:
                raise InputStateError(f"input {input_id} is {current}: only "
                                      f"{' or '.join(sorted(allowed))} inputs can be {status}")
            uow.connection.execute(
                update(inputs).where(inputs.c.id == input_id, inputs.c.status == current.value)
                .values(status=status.value, reason=reason, decided_by=actor[:200],
                        updated_at=dt.datetime.now(dt.UTC)))
            uow.commit()
        return record.submission.model_copy(update={"status": status})

    # --- reading --------------------------------------------------------------------------

    def get(self, input_id: str) -> Submission:
        return self.record(input_id).submission

    def record(self, input_id: str) -> InputRecord:
        with self._store.unit_of_work(read_only=True) as uow:
            return _record(_fetch(uow.connection, input_id))

    def records(self, edition: int, status: Status | None = None) -> list[InputRecord]:
        """The edition's inputs (with reasons), oldest first."""
        query = select(inputs).where(inputs.c.edition == edition)
        if status is not None:
            query = query.where(inputs.c.status == Status(status).value)
        with self._store.unit_of_work(read_only=True) as uow:
            rows = uow.connection.execute(
                query.order_by(inputs.c.created_at, inputs.c.id)).mappings().all()
        return [_record(row) for row in rows]

    def accepted(self, edition: int) -> list[Submission]:
        """The inputs that may be published (OP14): accepted ones only."""
        return self.list(edition, Status.ACCEPTED)

    def document_path(self, submission: Submission) -> Path | None:
        """Where the stored file of ``submission`` is (None for a link or a missing blob)."""
        digest = submission.document.sha256
        if digest is None:
            return None
        path = self.blobs_dir / digest
        return path if path.is_file() else None

    def tracker(self, edition: int) -> Tracker:
        """Who has submitted for ``edition`` and who has not (see :mod:`imrf.inputs.tracker`)."""

        return compute(edition, self.list(edition), config_dir=self._config_dir)

    def list(self, edition: int, status: Status | None = None) -> list[Submission]:
        """The edition's inputs, oldest first; ``status`` filters them."""
        return [record.submission for record in self.records(edition, status)]


# --- helpers --------------------------------------------------------------------------------

_CALENDAR_CHECKED: set[tuple[int, Path | None]] = set()


def _check_edition(edition: int, config_dir: Path | None) -> None:
    """Refuse a year that is not a forum edition (OP2: every four years from 2022)."""
    if (edition, config_dir) in _CALENDAR_CHECKED:
        return
    from imrf.calendar import build_calendar

    try:
        build_calendar(edition, config_dir=config_dir)
    except ValueError as exc:
        raise InputRefused(f"edition: {exc}") from None
    _CALENDAR_CHECKED.add((edition, config_dir))


def _contact(conn: Connection, email: str) -> RowMapping | None:
    row = conn.execute(select(contacts).where(contacts.c.email == email)).mappings().first()
    if row is None:
        return None
    audiences = set(conn.execute(select(contact_audiences.c.audience).where(
        contact_audiences.c.contact_id == row["id"])).scalars())
    return {**row, "audiences": audiences}  # type: ignore[return-value]


def _status_for(meta: NewInput, contact: RowMapping | None) -> tuple[Status, str | None]:
    """Accepted from a known contact; held (with the reason) for an operator otherwise."""
    if contact is None:
        return Status.HELD, (f"submitter {meta.submitter} is not in the contact registry: "
                             "an operator must accept or reject this input")
    if (meta.level is Level.NATIONAL and Audience.MEMBER_STATES.value in contact["audiences"]
            and contact["country"] and contact["country"] != meta.state):
        return Status.HELD, (f"submitter {meta.submitter} is a contact of {contact['country']}"
                             f", the input is for {meta.state}: an operator must confirm it")
    return Status.ACCEPTED, None


def _slug(meta: NewInput) -> str:
    if meta.level is Level.NATIONAL and meta.state:
        return meta.state.lower()
    if meta.level is Level.REGIONAL and meta.commission:
        return meta.commission.value
    return meta.level.value


def _row(s: Submission) -> dict[str, Any]:
    d = s.document
    return {"id": s.id, "edition": s.edition, "level": s.level.value,
            "submitter_email": s.submitter_email, "submitter_name": s.submitter_name,
            "organization": s.organization, "state": s.state,
            "commission": s.commission.value if s.commission else None,
            "objectives": ",".join(map(str, s.objectives)), "title": s.title,
            "language": s.language, "received_on": s.received_on, "filename": d.filename,
            "media_type": d.media_type, "size": d.size, "sha256": d.sha256, "link": d.link,
            "status": s.status.value}


def _fetch(conn: Connection, input_id: str) -> RowMapping:
    row = conn.execute(select(inputs).where(inputs.c.id == input_id)).mappings().first()
    if row is None:
        raise UnknownInput(input_id)
    return row


def _record(row: RowMapping) -> InputRecord:
    document = Document(filename=row["filename"], media_type=row["media_type"],
                        size=row["size"], sha256=row["sha256"], link=row["link"])
    submission = Submission(
        id=row["id"], edition=row["edition"], level=row["level"],
        submitter_email=row["submitter_email"], submitter_name=row["submitter_name"],
        organization=row["organization"], state=row["state"], commission=row["commission"],
        objectives=tuple(int(n) for n in row["objectives"].split(",")), title=row["title"],
        language=row["language"], received_on=row["received_on"], document=document,
        status=row["status"])
    return InputRecord(submission, row["reason"], row["decided_by"])
