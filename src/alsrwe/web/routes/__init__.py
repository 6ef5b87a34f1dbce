"""One module per area of the web app; each exposes ``router`` (an ``APIRouter``).

Pages: ``auth`` (login, logout), ``dashboard`` (home by role, site dashboard), ``patients``
(list, patient page, printable summary), ``cohort`` (the evidence engine's aggregate results;
``/overview`` leads there); ``assets`` (Plotly's script from the installed package); ``api``
(JSON under ``/api/v1``; ``api_records`` adds the read-only record lists, sites and counts).
``fhir``: FHIR R4 under ``/fhir/R4`` (CapabilityStatement, Patient reads, creates, Bundles).
"""
