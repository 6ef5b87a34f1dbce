"""The site dashboard: what needs a clinician's attention, most urgent first, site-scoped.

Six queues, each counted in full and shown a page at a time (:class:`QueuePage`):

- doses overdue (most days overdue first) and due within ``DUE_WINDOW_DAYS`` (soonest first),
  from the schedule engine; a treatment course (``alsrwe.domain.treatments``) decides whether a
  patient is due at all and which doses count;
- adverse events awaiting follow-up (outcome recovering, not recovered or unknown): the label's
  warning terms first, then serious, then higher grade, then the most recent onset;
- CSF flags on each patient's latest CSF sample (``csf_flags``, convention 8), newest first;
- carriers whose plasma NfL crossed the surveillance threshold (``nfl_trigger``, convention 10),
  compared within one assay platform only (convention 9), newest first;
- ALSFRS-R self-reports no clinician has reviewed yet, newest first, each next to the clinic
  rating it can be compared with.

A patient who has died leaves every queue. A flag a clinician acknowledged for the latest
sample leaves its queue (it is counted apart, with who and when); a newer flagged sample
brings the patient back. The infusion-day list (:func:`infusion_list`) is the lumbar-puncture
list of a day or a week, built from the same schedules.

One module per queue (``doses``, ``events``, ``flag_queues``, ``reviews``), the paging they share
(``queues``) and the whole board (``board``); import them from here.
"""

from alsrwe.store.reads.dashboard.board import SiteDashboard, site_dashboard
from alsrwe.store.reads.dashboard.doses import (
    DUE_WINDOW_DAYS,
    DoseDue,
    DosePlan,
    InfusionList,
    InfusionRow,
    dose_plans,
    doses_due,
    infusion_list,
)
from alsrwe.store.reads.dashboard.events import (
    AdverseEventToFollow,
    open_adverse_events,
    open_events_by_patient,
)
from alsrwe.store.reads.dashboard.flag_queues import (
    Acknowledgement,
    CsfFlagRow,
    NflAlert,
    flagged_csf,
    latest_csf,
    nfl_alerts,
    sample_is_flagged,
)
from alsrwe.store.reads.dashboard.queues import (
    QUEUE_PAGE_SIZE,
    PatientRef,
    QueueKind,
    QueuePage,
    Slice,
    sliced,
)
from alsrwe.store.reads.dashboard.reviews import (
    DISCREPANCY_POINTS,
    ClinicRating,
    SelfReportToReview,
    self_reports_to_review,
)

__all__ = [
    "DISCREPANCY_POINTS",
    "DUE_WINDOW_DAYS",
    "QUEUE_PAGE_SIZE",
    "Acknowledgement",
    "AdverseEventToFollow",
    "ClinicRating",
    "CsfFlagRow",
    "DoseDue",
    "DosePlan",
    "InfusionList",
    "InfusionRow",
    "NflAlert",
    "PatientRef",
    "QueueKind",
    "QueuePage",
    "SelfReportToReview",
    "SiteDashboard",
    "Slice",
    "dose_plans",
    "doses_due",
    "flagged_csf",
    "infusion_list",
    "latest_csf",
    "nfl_alerts",
    "open_adverse_events",
    "open_events_by_patient",
    "sample_is_flagged",
    "self_reports_to_review",
    "site_dashboard",
    "sliced",
]
