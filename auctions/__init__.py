"""Bidding engine, deposits gate, soft close, rounds, closing, live updates."""
from flask import Flask


def init_app(app: Flask) -> None:
    pass
