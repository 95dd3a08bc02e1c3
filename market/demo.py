"""`flask demo seed`: a realistic demo. Packages add their own steps with add_seeder;
each step gets the session and the shared context (orgs and users by key)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .accounts import services as accounts
from .accounts.models import User
from .db import database

DEMO_PASSWORD = "demo-password-2026"

ORGS = {
    # key: (name, english name, kind)
    "exchange": ("知识产权交易中心", "IP Exchange Centre", "exchange"),
    "bank": ("华夏科创银行", "Huaxia Tech Bank", "bank"),
    "bank2": ("江南商业银行", "Jiangnan Commercial Bank", "bank"),
    "owner": ("苏州精密传动科技有限公司", "Suzhou Precision Drive Tech Co.", "enterprise"),
    "owner2": ("杭州云图软件有限公司", "Hangzhou Yuntu Software Co.", "enterprise"),
    "investor": ("深圳前海创新投资有限公司", "Shenzhen Qianhai Innovation Capital", "investor"),
    "investor2": ("北京中关村技术转移有限公司", "Beijing Zhongguancun Tech Transfer", "investor"),
    "fund": ("苏州市知识产权质押融资风险补偿基金", "Suzhou IP Pledge Risk Compensation Fund", "fund"),
    "insurer": ("人保财险苏州分公司", "PICC P&C Suzhou", "insurer"),
    "guarantor": ("苏州科技融资担保有限公司", "Suzhou Tech Financing Guarantee", "guarantor"),
}

USERS = {
    # key: (email, role, org key, name)
    "operator": ("operator@ipx.example", "operator", "exchange", "王审核 Wang (operator)"),
    "bank": ("bank@ipx.example", "bank", "bank", "李信贷 Li (loan officer)"),
    "bank2": ("bank2@ipx.example", "bank", "bank2", "赵风控 Zhao (loan officer)"),
    "owner": ("owner@ipx.example", "owner", "owner", "陈总 Chen (owner)"),
    "owner2": ("owner2@ipx.example", "owner", "owner2", "周总 Zhou (owner)"),
    "investor": ("investor@ipx.example", "investor", "investor", "刘投资 Liu (investor)"),
    "investor2": ("investor2@ipx.example", "investor", "investor2", "孙经理 Sun (investor)"),
}


@dataclass
class DemoContext:
    orgs: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # what one package's step leaves for the next


Seeder = Callable[[Session, DemoContext], None]


def add_seeder(app: Flask, order: int, func_: Seeder) -> None:
    app.extensions.setdefault("market.demo", []).append((order, func_))


def seed_accounts(s: Session, ctx: DemoContext) -> None:
    for key, (name, name_en, kind) in ORGS.items():
        ctx.orgs[key] = accounts.get_or_create_org(s, name, kind, name_en)
    for key, (email, role, org_key, name) in USERS.items():
        ctx.users[key] = accounts.create_user(s, email, DEMO_PASSWORD, role, ctx.orgs[org_key], name)
        ctx.lines.append(login_line(role, email, ctx.orgs[org_key].name))


def login_line(role: str, email: str, org_name: str) -> str:
    return f"  {role:<9} {email:<26} {DEMO_PASSWORD}   ({org_name})"


def demo_logins(app: Flask) -> Iterator[str]:
    """The demo logins present in this database, for the banner `make run` prints last
    (a re-run's seed leaves the database alone and prints no logins)."""
    emails = [email for email, _role, _org, _name in USERS.values()]
    with database(app).sessions() as s:
        users = {u.email: u for u in s.scalars(select(User).where(User.email.in_(emails)))}
        lines = [login_line(users[e].role, e, users[e].org.name) for e in emails if e in users]
    if lines:
        yield "Demo logins (e-mail / password):"
        yield from lines


def seed(app: Flask) -> Iterator[str]:
    db = database(app)
    with db.transaction() as s:
        if s.scalar(select(func.count()).select_from(User)):
            yield "the database already has users; demo seed left it as it is"
            return
        ctx = DemoContext()
        seed_accounts(s, ctx)
        for _order, step in sorted(app.extensions.get("market.demo", []), key=lambda t: t[0]):
            step(s, ctx)
    yield "Demo logins (e-mail / password):"
    yield from ctx.lines
