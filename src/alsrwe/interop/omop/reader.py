"""An OMOP CDM v5.4 instance as the tidy tables of an alsrwe cohort, computed in the engine.

Every table is an Ibis expression over the CDM tables (filters, pivots, joins and casts run
in DuckDB, PostgreSQL or Spark; nothing comes back to Python until an analysis asks), so the
evidence engine runs unchanged on an OMOP instance. The persons read are those with an ALS
condition (condition_concept_id 373182, or an ALS source value), an SOD1 variant observation
or alsrwe's registry status; what else the reader needs, and where it falls back to source
values, is listed in docs/interop.md ("OMOP: what the reader needs").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import ibis
from ibis.backends import BaseBackend
from ibis.expr.types import StringValue, Value

from alsrwe.analytics.cohort import SCHEMAS, Cohort
from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.biomarkers import KIND_SPECS, MeasurementKind
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.safety import AeTerm
from alsrwe.interop.codes import (
    OMOP_ALS_CONDITION,
    OMOP_ALSFRS_ITEMS,
    OMOP_GENDER,
    OMOP_TYPE_SELF_REPORT,
)
from alsrwe.interop.omop import sources as src
from alsrwe.interop.omop.cdm import Cdm

EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {"patients": ("site_name", "sod1_input")}
"""Columns beyond the analytic schema that an import needs (the site's name, the variant as
entered); every table also has ``omop_table`` and ``omop_id``, the row it was read from."""
SOURCE_COLUMNS = ("omop_table", "omop_id")

_KINDS = [kind.value for kind in MeasurementKind]
_TERMS = [term.value for term in AeTerm]
_PROCEDURE_MILESTONES = [k.value for k in MilestoneKind if k is not MilestoneKind.DEATH]


def _trim(value: StringValue) -> StringValue:
    """Without surrounding white space. (A regular expression, not ``strip()``: Ibis 12
    compiles that for Spark with a character set that also drops 'v' and 'f'.)"""
    return value.re_replace(r"^\s+|\s+$", "")


def _key(value: StringValue) -> StringValue:
    """A source value as compared: trimmed, lower case."""
    return _trim(value).lower()


def _null(kind: str) -> Value:
    return ibis.null().cast(kind)


def _sourced(obs: ibis.Table, sources: list[str], *, linked: bool = False) -> ibis.Table:
    """The observations whose source value is one of ``sources`` (as ``key``); ``linked``:
    only those that describe another row (observation_event_id set)."""
    rows = obs.mutate(key=_key(obs.observation_source_value))
    wanted = rows.key.isin(sources)
    return rows.filter(wanted & rows.observation_event_id.notnull() if linked else wanted)


def _links(obs: ibis.Table, **values: tuple[str, str]) -> ibis.Table:
    """Per described row (event, pid): ``name=(source, column)`` → that observation's value,
    in one pass over the observations."""
    rows = _sourced(obs, [source for source, _ in values.values()], linked=True)
    return rows.group_by(event=rows.observation_event_id, pid=rows.person_id).aggregate(
        **{name: rows[column].max(where=rows.key == source)
           for name, (source, column) in values.items()})


def drug_code(value: StringValue) -> StringValue:
    """alsrwe's drug code of a drug_source_value (codes, brand names, synonyms), or NULL."""
    key = value.lower().replace("\u00ae", " ").replace("\u2122", " ")
    key = key.re_replace(r"[\s,/+_-]+", "_").re_replace(r"^_+|_+$", "")
    return ibis.cases(*((key == name, code) for name, code in src.DRUG_KEYS.items()),
                      else_=_null("string"))


# --- patients -------------------------------------------------------------------------------


_PERSON_SOURCES = [src.REGISTRY_STATUS, src.SOD1_VARIANT, src.ZYGOSITY, src.ONSET_REGION,
                   src.DIAGNOSIS]


def _attributes(obs: ibis.Table) -> ibis.Table:
    """Per person (pid), in one pass: alsrwe's person-level observations (the first of each
    by observation_id): status, variant (HGVS, legacy, as entered), zygosity, region,
    diagnosis date."""
    rows = _sourced(obs, _PERSON_SOURCES)
    rank = ibis.row_number().over(group_by=[rows.person_id, rows.key],
                                  order_by=rows.observation_id)
    rows = rows.mutate(rank_=rank)
    first = rows.filter(rows.rank_ == 0)

    def value(source: str, column: str = "value_as_string") -> ibis.Value:
        return first[column].max(where=first.key == source)

    return first.group_by(pid=first.person_id).aggregate(
        status=value(src.REGISTRY_STATUS), variant=value(src.SOD1_VARIANT),
        legacy=value(src.SOD1_VARIANT, "qualifier_source_value"),
        entered=value(src.SOD1_VARIANT, "value_source_value"), zygosity=value(src.ZYGOSITY),
        region=value(src.ONSET_REGION), diagnosis=value(src.DIAGNOSIS, "observation_date"))


def persons(cdm: Cdm, require_variant: bool = False) -> ibis.Table:
    """The patients table (plus person_id and the extras) of the persons the reader takes."""
    p, obs, cond = cdm["person"], cdm["observation"], cdm["condition_occurrence"]
    site = cdm["care_site"]
    als = cond.filter((cond.condition_concept_id == OMOP_ALS_CONDITION)
                      | _key(cond.condition_source_value).isin(list(src.ALS_SOURCE_VALUES)))
    onset = als.group_by(pid=als.person_id).aggregate(onset=als.condition_start_date.min())
    attributes = _attributes(obs)
    joined = (p.left_join(onset, p.person_id == onset.pid)
              .left_join(attributes, p.person_id == attributes.pid)
              .left_join(site, p.care_site_id == site.care_site_id))
    a = attributes
    stated = _key(a.status)
    has_variant = a.variant.notnull()
    state = ibis.cases((stated.isin(["patient", "carrier"]), stated),
                       (onset.onset.notnull(), "patient"), (has_variant, "carrier"),
                       else_=_null("string"))
    gender = _key(p.gender_source_value)
    sex = ibis.cases((p.gender_concept_id == OMOP_GENDER["M"], "M"),
                     (p.gender_concept_id == OMOP_GENDER["F"], "F"),
                     (gender.isin(["m", "male"]), "M"), (gender.isin(["f", "female"]), "F"),
                     else_=_null("string"))
    patient = state == "patient"
    table = joined.select(
        person_id=p.person_id,
        patient_id=ibis.coalesce(p.person_source_value, p.person_id.cast("string")),
        site=ibis.coalesce(site.care_site_source_value, p.care_site_id.cast("string")),
        sex=sex, birth_year=p.year_of_birth, status=state,
        sod1_variant=a.variant, sod1_legacy=a.legacy, zygosity=_key(a.zygosity),
        onset_date=ibis.ifelse(patient, onset.onset, _null("date")),
        onset_region=ibis.ifelse(patient, _key(a.region), _null("string")),
        diagnosis_date=ibis.ifelse(patient, a.diagnosis, _null("date")),
        site_name=site.care_site_name, sod1_input=ibis.coalesce(a.entered, a.variant),
        has_variant=has_variant,
        omop_table=ibis.literal("person"), omop_id=p.person_id,
    )
    chosen = table.status.notnull()
    if require_variant:
        chosen &= table.has_variant
    return table.filter(chosen).drop("has_variant")


# --- ALSFRS-R -------------------------------------------------------------------------------


def _item_rows(table: ibis.Table, prefix: str, id_column: str) -> ibis.Table:
    concept = table[f"{prefix}_concept_id"]
    rows = table.filter(concept.isin(list(src.ITEM_BY_CONCEPT)))
    return rows.select(person_id=rows.person_id, when=rows[f"{prefix}_date"],
                       concept=rows[f"{prefix}_concept_id"],
                       self_report=rows[f"{prefix}_type_concept_id"] == OMOP_TYPE_SELF_REPORT,
                       value=rows.value_as_number, omop_table=ibis.literal(prefix),
                       omop_id=rows[id_column])


def alsfrs_assessments(cdm: Cdm) -> ibis.Table:
    """One row per (person, date, rater): the items by concept id (OBSERVATION, as ALS TDI
    stores them, or MEASUREMENT), q5 from 5a or 5b, and whether all 12 items are there."""
    rows = ibis.union(_item_rows(cdm["observation"], "observation", "observation_id"),
                      _item_rows(cdm["measurement"], "measurement", "measurement_id"))
    rows = rows.mutate(source=ibis.ifelse(rows.self_report, "self", "clinic"))
    items = {code: rows.value.max(where=rows.concept == concept)
             for code, concept in OMOP_ALSFRS_ITEMS.items()}
    g = rows.group_by(["person_id", "when", "source"]).aggregate(
        **items, omop_table=rows.omop_table.min(), omop_id=rows.omop_id.min())
    scores = {q: (ibis.coalesce(g.q5a, g.q5b) if q == "q5" else g[q]) for q in ITEM_COLUMNS}
    complete = ibis.and_(*(score.notnull() for score in scores.values()))
    return g.select(
        person_id=g.person_id, date=g.when, **{q: s.cast("int64") for q, s in scores.items()},
        gastrostomy=g.q5a.isnull() & g.q5b.notnull(), source=g.source, complete=complete,
        omop_table=g.omop_table, omop_id=g.omop_id)


# --- measurements, drugs, events ------------------------------------------------------------


def measurements(cdm: Cdm) -> ibis.Table:
    m, obs = cdm["measurement"], cdm["observation"]
    m = m.mutate(kind=_key(m.measurement_source_value))
    m = m.filter(m.kind.isin(_KINDS))
    links = _links(obs, assay=(src.ASSAY, "value_as_string"),
                   lab=(src.LAB, "value_as_string"))
    return (m.left_join(links, [m.measurement_id == links.event, m.person_id == links.pid])
            .select(person_id=m.person_id, date=m.measurement_date, kind=m.kind,
                    value=m.value_as_number, unit=_trim(m.unit_source_value),
                    assay=links.assay, lab=links.lab, omop_table=ibis.literal("measurement"),
                    omop_id=m.measurement_id))


def _drugs(cdm: Cdm) -> ibis.Table:
    d = cdm["drug_exposure"]
    d = d.mutate(drug=drug_code(d.drug_source_value))
    d = d.filter(d.drug.notnull())
    single = d.drug_exposure_start_date == ibis.coalesce(d.drug_exposure_end_date,
                                                          d.drug_exposure_start_date)
    dose = d.drug.isin(list(src.ADMINISTERED)) & single & (
        d.quantity.notnull() | d.route_source_value.notnull())
    return d.mutate(is_dose=dose)


def administrations(cdm: Cdm) -> ibis.Table:
    """Given doses (DRUG_EXPOSURE rows of a single day) and doses not given (OBSERVATION)."""
    d, obs = _drugs(cdm), cdm["observation"]
    d = d.filter(d.is_dose)
    csf = _links(obs, value=(src.CSF_REMOVED, "value_as_number"))
    unit = d.dose_unit_source_value
    in_mg = unit.isnull() | (_key(unit) == src.DOSE_UNIT)
    given = d.left_join(csf, [d.drug_exposure_id == csf.event, d.person_id == csf.pid]).select(
        person_id=d.person_id, date=d.drug_exposure_start_date, drug=d.drug,
        dose_mg=ibis.ifelse(in_mg, d.quantity, _null("float64")), status=ibis.literal("given"),
        lot=d.lot_number, csf_removed_ml=csf.value.cast("float64"),
        omop_table=ibis.literal("drug_exposure"), omop_id=d.drug_exposure_id)
    n = _sourced(obs, [src.DOSE_NOT_GIVEN])
    not_given = n.select(
        person_id=n.person_id, date=n.observation_date, drug=drug_code(n.qualifier_source_value),
        dose_mg=_null("float64"), status=_key(n.value_as_string), lot=_null("string"),
        csf_removed_ml=_null("float64"), omop_table=ibis.literal("observation"),
        omop_id=n.observation_id)
    return ibis.union(given, not_given)


def medications(cdm: Cdm) -> ibis.Table:
    """Drug periods; one that ends at the end of the person's observation period without a
    verbatim end date is ongoing (alsrwe writes ongoing medications so)."""
    d = _drugs(cdm)
    d = d.filter(~d.is_dose)
    op = cdm["observation_period"]
    ends = op.group_by(pid=op.person_id).aggregate(last=op.observation_period_end_date.max())
    j = d.left_join(ends, d.person_id == ends.pid)
    end = d.drug_exposure_end_date
    open_ended = ends.last.notnull() & (end >= ends.last)
    stop = ibis.coalesce(d.verbatim_end_date, ibis.ifelse(open_ended, _null("date"), end))
    return j.select(person_id=d.person_id, drug=d.drug, start_date=d.drug_exposure_start_date,
                    stop_date=stop, omop_table=ibis.literal("drug_exposure"),
                    omop_id=d.drug_exposure_id)


def adverse_events(cdm: Cdm) -> ibis.Table:
    """Conditions whose source value is an alsrwe adverse-event term, with their linked
    grade, seriousness, relatedness, outcome, action and free text."""
    c, obs = cdm["condition_occurrence"], cdm["observation"]
    c = c.mutate(term=_key(c.condition_source_value))
    c = c.filter(c.term.isin(_TERMS))
    number, text = "value_as_number", "value_as_string"
    links = _links(obs, grade=(src.AE_GRADE, number), serious=(src.AE_SERIOUS, number),
                   related=(src.AE_RELATED, number), outcome=(src.AE_OUTCOME, text),
                   action=(src.AE_ACTION, text), term_text=(src.AE_TERM_TEXT, text))
    joined = c.left_join(links, [c.condition_occurrence_id == links.event,
                                 c.person_id == links.pid])
    v = links
    return joined.select(
        person_id=c.person_id, onset_date=c.condition_start_date, term=c.term,
        grade=v.grade.cast("int64"), serious=v.serious == 1, related=v.related == 1,
        outcome=_key(v.outcome), resolved_date=c.condition_end_date,
        term_text=v.term_text, action=_key(v.action),
        omop_table=ibis.literal("condition_occurrence"), omop_id=c.condition_occurrence_id)


def milestones(cdm: Cdm) -> ibis.Table:
    """Gastrostomy, NIV, tracheostomy, permanent ventilation (PROCEDURE_OCCURRENCE by source
    value; the first of each) and death (DEATH)."""
    p = cdm["procedure_occurrence"]
    p = p.mutate(kind=_key(p.procedure_source_value))
    p = p.filter(p.kind.isin(_PROCEDURE_MILESTONES))
    procedures = p.group_by(["person_id", "kind"]).aggregate(
        date=p.procedure_date.min(), omop_id=p.procedure_occurrence_id.min())
    procedures = procedures.select("person_id", "date", "kind",
                                   omop_table=ibis.literal("procedure_occurrence"),
                                   omop_id=procedures.omop_id)
    death = cdm["death"]
    deaths = death.group_by("person_id").aggregate(date=death.death_date.min())
    deaths = deaths.select("person_id", "date", kind=ibis.literal("death"),
                           omop_table=ibis.literal("death"), omop_id=deaths.person_id)
    return ibis.union(procedures, deaths)


# --- the cohort -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OmopTables:
    """The tidy tables read (analytic columns, the extras, the source row) and the ALSFRS-R
    assessments left out because items are missing."""

    tables: dict[str, ibis.Table]
    incomplete_alsfrs: ibis.Table


def _of_persons(table: ibis.Table, chosen: ibis.Table, columns: list[str]) -> ibis.Table:
    ids = chosen.select(pid=chosen.person_id, patient_id=chosen.patient_id)
    joined = table.join(ids, table.person_id == ids.pid)
    return joined.select(patient_id=ids.patient_id, **{c: table[c] for c in columns})


def read_omop(con: BaseBackend, *, database: str | None = None,
              require_variant: bool = False) -> OmopTables:
    """The tidy tables of the instance in ``con`` (schema ``database``) as Ibis expressions."""
    cdm = Cdm(con, database)
    chosen = persons(cdm, require_variant)
    assessments = alsfrs_assessments(cdm)
    built = {"alsfrs": assessments.filter(assessments.complete),
             "measurements": measurements(cdm), "administrations": administrations(cdm),
             "medications": medications(cdm), "adverse_events": adverse_events(cdm),
             "milestones": milestones(cdm)}
    tables = {"patients": chosen.select(*SCHEMAS["patients"], *EXTRA_COLUMNS["patients"],
                                        *SOURCE_COLUMNS)}
    for name, table in built.items():
        columns = [c for c in SCHEMAS[name] if c != "patient_id"] + list(SOURCE_COLUMNS)
        tables[name] = _of_persons(table, chosen, columns)
    incomplete = _of_persons(assessments.filter(~assessments.complete), chosen,
                             ["date", "source", *ITEM_COLUMNS, *SOURCE_COLUMNS])
    return OmopTables(tables, incomplete)


def _unit_key(unit: StringValue) -> StringValue:
    return unit.re_replace(r"\s+", "").replace("\u00b5", "u").replace("\u03bc", "u").lower()


def canonical_units(m: ibis.Table) -> ibis.Table:
    """Measurements in each kind's canonical unit (e.g. g/L CSF protein × 100 → mg/dL), as
    the importer stores them; other units are left as they are."""
    key = _unit_key(m.unit)
    factors, units = [], []
    for kind, spec in KIND_SPECS.items():
        accepted = [("".join(u.split()).lower(), f) for u, f in
                    ((spec.canonical_unit, 1.0), *spec.alternatives)]
        units.append(((m.kind == kind.value) & key.isin([u for u, _ in accepted]),
                      spec.canonical_unit))
        factors += [((m.kind == kind.value) & (key == u), f) for u, f in accepted if f != 1.0]
    factor = ibis.cases(*factors, else_=1.0) if factors else ibis.literal(1.0)
    return m.mutate(value=m.value * factor, unit=ibis.cases(*units, else_=m.unit))


def _computed(con: BaseBackend, table: ibis.Table, name: str) -> ibis.Table:
    """``table`` computed once in the engine. Spark has no temporary tables in Ibis: its cache
    (freed with the expression); elsewhere a temporary table (freed with the connection, so no
    clean-up can fail after a disconnect)."""
    if con.name == "pyspark":
        return table.cache()
    return con.create_table(name, table, temp=True)


def omop_cohort(con: BaseBackend, *, database: str | None = None,
                require_variant: bool = False, cache: bool = False) -> Cohort:
    """The cohort of an OMOP CDM instance: the tidy tables (exactly the analytic schema) as
    Ibis expressions on ``con``, for every analysis of :mod:`alsrwe.analytics`.

    ``require_variant`` keeps only persons with an SOD1 variant observation (SOD1-ALS and
    carriers); by default ALS patients without one are read too (sod1_variant empty).
    ``cache`` computes each tidy table once, in the engine (a temporary table that lives as
    long as the connection; Spark's cache), instead of at every query an analysis makes:
    worth it for several analyses on a large instance or on Spark.
    """
    read = read_omop(con, database=database, require_variant=require_variant)
    token = secrets.token_hex(4)
    tables = {}
    for name, schema in SCHEMAS.items():
        table = read.tables[name]
        if name == "measurements":
            table = canonical_units(table)
        table = table.select(**{c: table[c].cast(kind) for c, kind in schema.items()})
        tables[name] = _computed(con, table, f"alsrwe_omop_{name}_{token}") if cache else table
    where = f"{con.name} {database}" if database else str(con.name)
    return Cohort(con, tables, source=f"OMOP CDM ({where})")


__all__ = ["EXTRA_COLUMNS", "OmopTables", "SOURCE_COLUMNS", "adverse_events",
           "alsfrs_assessments", "administrations", "canonical_units", "drug_code",
           "measurements", "medications", "milestones", "omop_cohort", "persons", "read_omop"]
