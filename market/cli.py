"""The CLI of API.md: db upgrade, users create/token, scheduler run/run-once, demo seed."""
from __future__ import annotations

import logging
import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .db import database

db_cli = AppGroup("db", help="Database schema.")
users_cli = AppGroup("users", help="Users and API tokens.")
scheduler_cli = AppGroup("scheduler", help="The scheduler process.")
demo_cli = AppGroup("demo", help="Demo data.")


def alembic_config(app: Flask):
    from alembic.config import Config

    root = os.path.dirname(app.root_path)
    cfg = Config(os.path.join(root, "alembic.ini"))
    cfg.set_main_option("script_location", os.path.join(root, "migrations"))
    cfg.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(app), revision)


def current_revision(app: Flask) -> str | None:
    """The schema revision the database is at now (None: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    with database(app).engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema."""
    before = current_revision(current_app)
    upgrade(current_app, revision)
    after = current_revision(current_app)
    # Say what happened: a newcomer's first run creates the schema, it migrates nothing.
    if before is None:
        click.echo(f"created the database schema (revision {after})")
    elif before == after:
        click.echo(f"database already up to date (revision {after})")
    else:
        click.echo(f"migrated the database from revision {before} to {after}")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True)
@click.option("--role", required=True,
              type=click.Choice(["operator", "bank", "investor", "owner", "regulator"]))
@click.option("--org", "org_name", required=True)
@click.option("--org-kind", type=click.Choice(
    ["bank", "enterprise", "investor", "fund", "insurer", "guarantor", "exchange", "regulator"]))
@click.option("--name", default=None)
def users_create(email, password, role, org_name, org_kind, name):
    """Create a user (and the organisation if needed); prints the user id."""
    from .accounts import services
    from .errors import DomainError

    try:
        with database().transaction() as s:
            org = services.get_or_create_org(s, org_name, org_kind)
            user = services.create_user(s, email, password, role, org, name)
            uid = user.id
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(uid)


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli")
def users_token(email, name):
    """Print a new API token for the user (last line, alone)."""
    from .accounts import services

    with database().transaction() as s:
        user = services.find_user_by_email(s, email)
        if user is None:
            raise click.ClickException(f"no user {email}")
        _tok, plain = services.issue_token(s, user, name)
    click.echo(plain)


@scheduler_cli.command("run")
def scheduler_run():
    """The long-running scheduler process."""
    from .scheduler import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # APScheduler logs two INFO lines per job run (every second); our own job failures
    # are logged by market.scheduler at ERROR and stay visible.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    run_forever(current_app._get_current_object())


@scheduler_cli.command("run-once")
def scheduler_run_once():
    """Do all work that is due now, repeating until nothing is due."""
    from .scheduler import run_once

    logging.basicConfig(level=logging.WARNING)
    n = run_once(current_app._get_current_object())
    click.echo(f"done: {n} unit(s) of work")


@demo_cli.command("seed")
def demo_seed():
    """Fill an empty database with a realistic demo."""
    from .demo import seed

    for line in seed(current_app._get_current_object()):
        click.echo(line)


@demo_cli.command("logins")
def demo_logins_cmd():
    """Print the demo logins that exist in this database (for the start-up banner)."""
    from .demo import demo_logins

    for line in demo_logins(current_app._get_current_object()):
        click.echo(line)


def init_app(app: Flask) -> None:
    for group in (db_cli, users_cli, scheduler_cli, demo_cli):
        app.cli.add_command(group)
