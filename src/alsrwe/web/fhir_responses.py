"""FHIR answers: the ``application/fhir+json`` content type, errors as OperationOutcome, and
what each POSTed resource became (:class:`StoredRows`).

The app renders its errors once, in :mod:`alsrwe.web.app`, as HTML pages or ``/api/`` JSON; a
FHIR client expects neither. :class:`FhirRoute` is the route class of the ``/fhir/R4`` router:
it catches the error tree (including what the app's own dependencies raise, the session and
the CSRF check) and answers an OperationOutcome whose issues carry the rule in
``diagnostics``, the FHIR element in ``expression`` and the rule's code in ``details``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from alsrwe.domain.errors import Conflict, InvalidInput, MissingExtra, NotFound, Problem
from alsrwe.domain.records import entry_key
from alsrwe.domain.tidy_format import restore_formula
from alsrwe.interop.codes import alsrwe_system
from alsrwe.interop.fhir import resources_for
from alsrwe.interop.tidy_csv.rows import TextRow, batch_of_rows
from alsrwe.web.errors import NotAuthenticated, WebError

FHIR_JSON = "application/fhir+json"
RULE_SYSTEM = alsrwe_system("rule")
"""alsrwe's own code system for rule codes (``dose.not_label_dose`` …, docs/domain-rules.md
§11): an issue's ``details`` names the broken rule by it."""
RETRY_AFTER_S = 30
Tables = dict[str, list[dict[str, str]]]
logger = logging.getLogger(__name__)


class FhirJSON(JSONResponse):
    """JSON with FHIR's media type (``application/fhir+json``)."""

    media_type = FHIR_JSON


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome issue: FHIR's issue type ``code`` (``invalid``, ``business-rule``,
    ``forbidden``, ``not-found`` …), the rule in words, the FHIR element it concerns."""

    code: str
    diagnostics: str
    expression: str | None = None
    rule: str = ""
    severity: str = "error"

    def as_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code,
                                 "diagnostics": self.diagnostics}
        if self.rule:
            issue["details"] = {"coding": [{"system": RULE_SYSTEM, "code": self.rule}]}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in issues]}


class FhirError(Exception):
    """An answer that is an OperationOutcome: the status and its issues."""

    def __init__(self, status: int, issues: Sequence[Issue],
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.issues = tuple(issues)
        self.headers = headers or {}
        super().__init__("; ".join(i.diagnostics for i in self.issues))


def invalid(diagnostics: str, expression: str | None = None) -> FhirError:
    """400: the body is not JSON, not a FHIR resource, or not the resource the URL names."""
    return FhirError(400, [Issue("invalid", diagnostics, expression)])


def outcome_response(error: FhirError) -> FhirJSON:
    return FhirJSON(operation_outcome(error.issues), status_code=error.status,
                    headers=error.headers)


def problem_text(problem: Problem) -> str:
    """The rule as the pages word it; a warning says it needs a confirmation."""
    return f"confirm: {problem.rule}" if problem.soft else problem.rule


def issue_of(code: str, problem: Problem, *, file: str, bundle: bool) -> Issue:
    """An issue at the FHIR element of a problem placed in ``file`` (its resources' label)
    by :func:`alsrwe.interop.fhir.locate`; a problem of a part that was read from the
    registry with the POST (no entry number) says so."""
    where = problem.file or ""
    text = problem_text(problem)
    if where.startswith(f"{file} ") and problem.row is None:
        text = f"the registered {where.removeprefix(f'{file} ')}: {text}"
    return Issue(code, text, expression(problem, file=file, bundle=bundle), problem.code)


def expression(problem: Problem, *, file: str, bundle: bool) -> str | None:
    """The element of a problem as a FHIRPath-like expression: ``Observation.valueQuantity
    .value``; in a Bundle ``Bundle.entry[3].resource.valueQuantity.value`` (entries count
    from 0 here, from 1 in the problem's row)."""
    where, element = problem.file or "", problem.field
    if element and element[0].isupper():  # an element of a resource that was not sent
        return re.sub(r" \([^)]*\)", "", element)
    if where == file and bundle and problem.row is not None:
        return f"Bundle.entry[{problem.row - 1}].{(element or '').removeprefix('entry.')}"
    if not where.startswith(f"{file} "):
        return element
    kind = re.split(r"[/ ]", where.removeprefix(f"{file} "))[0]
    base = f"Bundle.entry[{problem.row - 1}].resource" if bundle and problem.row else kind
    return f"{base}.{element}" if element else base


def rule_issues(problems: Iterable[Problem],
                element: Callable[[Problem], str | None] = lambda p: p.field) -> list[Issue]:
    """Broken rules as ``business-rule`` issues (warnings left unconfirmed included: they too
    stopped the write), each at the FHIR element ``element`` places it in."""
    return [Issue("business-rule", problem_text(p), element(p), p.code) for p in problems]


def _as_fhir_error(error: Exception) -> FhirError | None:
    """The OperationOutcome answer of an error of alsrwe's tree, or ``None`` (a bug)."""
    if isinstance(error, FhirError):
        return error
    if isinstance(error, NotAuthenticated):
        return FhirError(401, [Issue("login", "sign in first: POST /login, then send the "
                                              "session cookie (and X-CSRF-Token on writes)")])
    if isinstance(error, WebError):
        code = "forbidden" if error.status_code == 403 else "exception"
        return FhirError(error.status_code, [Issue(code, error.message)])
    if isinstance(error, NotFound):
        return FhirError(404, [Issue("not-found", error.message)])
    if isinstance(error, InvalidInput):
        return FhirError(422, rule_issues(error.problems))
    if isinstance(error, Conflict):
        return FhirError(409, [Issue("conflict", error.message)])
    if isinstance(error, MissingExtra):
        return FhirError(501, [Issue("not-supported", error.message)])
    if isinstance(error, RequestValidationError):
        return FhirError(400, [Issue("invalid", str(e.get("msg", "")),
                                     ".".join(str(p) for p in e.get("loc", ())))
                               for e in error.errors()])
    if isinstance(error, StarletteHTTPException):
        return FhirError(error.status_code, [Issue("exception", str(error.detail))])
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        logger.warning("database unavailable: %s", str(error).splitlines()[0])
        return FhirError(503, [Issue("transient", "the registry's database is unavailable "
                                                  "just now; nothing was saved")],
                         {"Retry-After": str(RETRY_AFTER_S)})
    return None


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one POSTed resource: its stored form (``created`` when it was not in
    the registry before), or, when nothing was stored from it, why (``note``)."""

    resource: dict[str, Any] | None
    created: bool = False
    note: str = ""

    @property
    def location(self) -> str | None:
        """``Type/id`` of the stored resource."""
        if self.resource is None:
            return None
        return f"{self.resource['resourceType']}/{self.resource['id']}"

    def outcome(self) -> dict[str, Any]:
        return operation_outcome([Issue("informational", self.note, severity="information")])

    def entry(self) -> dict[str, Any]:
        """The entry of a transaction-response (or batch-response) Bundle."""
        if self.resource is None:
            return {"response": {"status": "200 OK", "outcome": self.outcome()}}
        return {"resource": self.resource, "response": {
            "status": "201 Created" if self.created else "200 OK", "location": self.location}}


class StoredRows:
    """What the registry holds, before and after a write, for the answer of each entry.

    A POSTed resource is found again by the natural key of the rows it gave cells to (built
    by the tidy reader, as the write path keys them), so the answer is the resource as stored,
    with alsrwe's id, whatever id the client sent.
    """

    def __init__(self, today: date, before: Tables, after: Tables) -> None:
        self.today, self.before, self.after = today, before, after
        self._index: dict[tuple[int, str], dict[tuple[Any, ...], dict[str, str]]] = {}
        self._resources: dict[tuple[str, str], dict[str, Any]] | None = None

    def key(self, table: str, row: TextRow) -> tuple[Any, ...] | None:
        if table == "patients":
            return (restore_formula(row.values.get("patient_id", "")).strip(),)
        batch, _ = batch_of_rows({table: [row]}, self.today)
        built = batch.records.get(table, [])
        return (built[0].pseudonym, *entry_key(built[0].entry)) if built else None

    def find(self, tables: Tables, table: str, row: TextRow) -> dict[str, str] | None:
        """The row of ``tables`` with the same natural key as ``row``."""
        index = self._index.get((id(tables), table))
        if index is None:
            index = {}
            for stored in tables.get(table, []):
                key = self.key(table, TextRow("", None, stored))
                if key is not None:
                    index[key] = stored
            self._index[(id(tables), table)] = index
        key = self.key(table, row)
        return index.get(key) if key is not None else None

    def resources(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every resource of the rows after the write, by type and id (built once)."""
        if self._resources is None:
            self._resources = {(r["resourceType"], r["id"]): r
                               for r in resources_for(self.after)}
        return self._resources

    def answer(self, number: int | None, kind: str, rows: Mapping[str, list[TextRow]],
               ignored: Mapping[str, int]) -> Answer:
        """The answer for entry ``number`` (a ``kind`` resource) of the rows read."""
        mine = contributed(number, rows)
        if not mine:
            derived = [name for name in ignored if name.split(" ")[0] == kind]
            why = (f"{', '.join(derived)}: alsrwe derives it from the record it belongs to"
                   if derived else f"a {kind} is read with the resources that refer to it")
            return Answer(None, note=f"nothing stored from this {kind} ({why})")
        stored: Tables = {}
        created = False
        for table, row in mine:
            found = self.find(self.after, table, row)
            created = created or self.find(self.before, table, row) is None
            if found is not None and found not in stored.setdefault(table, []):
                stored[table].append(found)
        for patient in stored.get("patients", []):  # the Patient shows its death
            milestones = stored.setdefault("milestones", [])
            milestones += [r for r in self.after.get("milestones", []) if r["kind"] == "death"
                           and r["patient_id"] == patient["patient_id"] and r not in milestones]
        resources = [r for r in resources_for(stored) if r["resourceType"] == kind]
        if not resources:
            return Answer(None, note=f"this {kind} is stored as part of its patient's record")
        # from the whole record: with what it refers to (an adverse event's dose)
        return Answer(self.resources().get((kind, resources[0]["id"]), resources[0]), created)


def contributed(number: int | None, rows: Mapping[str, list[TextRow]],
                ) -> list[tuple[str, TextRow]]:
    """The rows entry ``number`` gave cells to: its own, or its patient's (a Condition)."""
    if number is None:
        return []
    origins = getattr(rows, "origins", {})
    found = []
    for table, table_rows in rows.items():
        for row in table_rows:
            origin = origins.get((row.file, row.line))
            places = origin.columns.values() if origin is not None else ()
            if row.line == number or any(entry == number for _, entry, _ in places):
                found.append((table, row))
    return found


class FhirRoute(APIRoute):
    """A route whose errors, its dependencies' included, are OperationOutcome resources.

    The error is answered inside the route, so a ``Db`` unit of work of the route ends as if
    it had succeeded: routes that write use their own units of work, never ``Db``.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                answer = _as_fhir_error(error)
                if answer is None:
                    raise
                return outcome_response(answer)

        return route


__all__ = ["FHIR_JSON", "Answer", "FhirError", "FhirJSON", "FhirRoute", "Issue", "StoredRows",
           "contributed", "expression", "invalid", "issue_of", "operation_outcome",
           "outcome_response", "problem_text", "rule_issues"]
