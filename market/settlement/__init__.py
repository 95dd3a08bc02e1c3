"""settlement: see models.py and services; init_app registers blueprints and jobs."""
from flask import Flask


def init_app(app: Flask) -> None:
    pass
