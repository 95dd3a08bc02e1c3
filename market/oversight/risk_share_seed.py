"""Demo: a user of the risk-compensation fund, to see the shares it carries."""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from ..accounts import services as accounts
from ..demo import DEMO_PASSWORD, DemoContext, add_seeder


def seed_fund_user(s: Session, ctx: DemoContext) -> None:
    org = ctx.orgs.get("fund")
    if org is None:
        return
    email = "fund@ipx.example"
    ctx.users["fund"] = accounts.create_user(s, email, DEMO_PASSWORD, "investor", org,
                                             "周基金 Zhou (risk fund)")
    ctx.lines.append(f"  {'fund':<9} {email:<26} {DEMO_PASSWORD}   ({org.name})")


def init_app(app: Flask) -> None:
    add_seeder(app, 26, seed_fund_user)
