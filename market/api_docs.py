"""The API reference page: ReDoc, vendored under static/vendor/redoc (no CDN), reading the
same /api/openapi.json that clients are generated from."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("api_docs", __name__)


@bp.get("/api/docs")
def reference():
    return render_template("market/api_docs.html")


def init_app(app) -> None:
    app.register_blueprint(bp)
