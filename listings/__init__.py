"""Listing lifecycle, moderation, search, data rooms."""
from flask import Flask


def init_app(app: Flask) -> None:
    pass
