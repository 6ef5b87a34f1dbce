"""One module per area of the web app; each exposes ``router`` (an ``APIRouter``).

Pages: ``auth`` (login, logout), ``dashboard`` (home by role, site dashboard, aggregate
overview), ``patients`` (list, patient page, printable summary); ``assets`` (Plotly's script
from the installed package); ``api`` (JSON under ``/api/v1``).
"""
