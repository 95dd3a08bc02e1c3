"""settlement: the waterfall (services.py), the double-entry ledger (ledger.py),
statements. init_app registers the API, the web pages, the `flask ledger` commands
and the job that defaults unpaid sales.

Permission checks: roles at the entry points (api.py api_auth, views.py role_required);
who may see a sale in services.py (can_view: its seller, pledgor and operators;
is_buyer)."""
from flask import Flask


def init_app(app: Flask) -> None:
    from ..api import register
    from ..scheduler import Job, register as register_jobs
    from . import jobs, views
    from .api import blp
    from .cli import ledger_cli

    register(app, blp)
    app.cli.add_command(ledger_cli)
    register_jobs(app, Job("settlement.expire_unpaid", jobs.expire_unpaid, 60))
    views.init_app(app)
