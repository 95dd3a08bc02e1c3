"""settlement: the waterfall (services.py), the double-entry ledger (ledger.py),
statements. init_app registers the API, the web pages, the `flask ledger` commands
and the job that defaults unpaid sales."""
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
