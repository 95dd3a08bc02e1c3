"""Loan book pages: the bank's book with filters and totals, the loan page (claim on any
date, events, collateral, risk shares, flags, actions), registering a loan with its pledge,
the public pledge register, and the banks' dashboard panel."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from flask import (Blueprint, Flask, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select

from ..accounts.models import Org
from ..assets.labels import LEGAL_LABELS
from ..assets.models import Asset
from ..assets.services import valuation_on
from ..db import get_session
from ..errors import DomainError, NotFound
from ..i18n import date as fmt_date
from ..i18n import percent
from ..inputs import parse_day, parse_int
from ..timeutil import business_date, utcnow
from ..web import add_nav, add_panel, role_required
from . import agreed, services
from .api import open_flags, register_rows, register_stmt
from .claims import ZERO, claim_as_of
from .forms import AgreedValuationForm, CostForm, DefaultForm, LoanForm, RepaymentForm
from .labels import (AGREED_STATUS_BADGE, AGREED_STATUS_LABELS, EVENT_LABELS, FLAG_LABELS,
                     LOAN_STATUS_BADGE, LOAN_STATUS_LABELS, PLEDGE_STATUS_BADGE,
                     PLEDGE_STATUS_LABELS, refusal_text)
from .models import LOAN_STATUSES, Loan, LoanFlag, PledgeAsset

bp = Blueprint("lending_web", __name__)
SHARE_KINDS = ("fund", "insurer", "guarantor")


def today() -> dt.date:
    return business_date(utcnow(), current_app.config["MARKET_TIMEZONE"])


def _orgs(s, ids) -> dict[int, Org]:
    ids = set(ids) or {0}
    return {o.id: o for o in s.scalars(select(Org).where(Org.id.in_(ids)))}


def _book_stmt():
    stmt = select(Loan).order_by(Loan.id.desc())
    if current_user.role == "bank":
        stmt = stmt.where(Loan.bank_org_id == current_user.org_id)
    elif current_user.role == "owner":
        stmt = stmt.where(Loan.borrower_org_id == current_user.org_id)
    return stmt


@bp.route("/loans")
@role_required("bank", "operator", "owner")
def book():
    s = get_session()
    status = request.args.get("status") if request.args.get("status") in LOAN_STATUSES else None
    q = (request.args.get("q") or "").strip()[:100]
    flagged = request.args.get("flagged") == "1"
    stmt = _book_stmt()
    if status:
        stmt = stmt.where(Loan.status == status)
    if q:
        stmt = stmt.join(Org, Org.id == Loan.borrower_org_id).where(
            (Org.name.ilike(f"%{q}%")) | (Loan.reference.ilike(f"%{q}%")))
    if flagged:
        stmt = stmt.where(Loan.id.in_(select(LoanFlag.loan_id)
                                      .where(LoanFlag.cleared_at.is_(None))))
    loans = list(s.scalars(stmt.limit(500)))
    day = today()
    claims = {ln.id: claim_as_of(ln, ln.events, day) for ln in loans}
    flags: dict[int, list] = {}
    for f in s.scalars(select(LoanFlag).where(LoanFlag.loan_id.in_([ln.id for ln in loans] or [0]),
                                              LoanFlag.cleared_at.is_(None))):
        flags.setdefault(f.loan_id, []).append(f)
    totals = {"count": len(loans), "principal": sum((ln.principal for ln in loans), ZERO),
              "claim": sum((c.total for c in claims.values()), ZERO)}
    return render_template("lending/book.html", loans=loans, claims=claims, flags=flags,
                           orgs=_orgs(s, [ln.borrower_org_id for ln in loans]
                                      + [ln.bank_org_id for ln in loans]),
                           totals=totals, status=status, q=q, flagged=flagged, today=day)


def _loan_form(s) -> LoanForm:
    form = LoanForm()
    form.borrower_org_id.choices = [(o.id, o.name) for o in s.scalars(
        select(Org).where(Org.kind.in_(("enterprise", "investor"))).order_by(Org.name))]
    pledged = select(PledgeAsset.asset_id).where(PledgeAsset.active.is_(True))
    assets = list(s.scalars(select(Asset).where(Asset.id.not_in(pledged))
                            .order_by(Asset.owner_org_id, Asset.id).limit(300)))
    owners = _orgs(s, [a.owner_org_id for a in assets])
    form.asset_ids.choices = [
        (a.id, f"{a.registry_no} · {a.title} · {owners[a.owner_org_id].name}") for a in assets]
    share_orgs = [(0, "—")] + [(o.id, o.name) for o in s.scalars(
        select(Org).where(Org.kind.in_(SHARE_KINDS)).order_by(Org.name))]
    for row in form.shares:
        row.form.org_id.choices = share_orgs
    return form


def _rate(raw: str, label) -> Decimal:
    try:
        value = Decimal((raw or "").strip().rstrip("%"))
    except InvalidOperation:
        raise DomainError("invalid_rate", _("%(field)s is not a number", field=label), 422)
    if not value.is_finite() or value < 0 or value > 1:
        raise DomainError("invalid_rate", _("%(field)s must be between 0 and 1", field=label),
                          422)
    return value


@bp.route("/loans/new", methods=["GET", "POST"])
@role_required("bank")
def create():
    s = get_session()
    form = _loan_form(s)
    if request.method == "GET":
        form.disbursed_on.data = form.registered_on.data = today()
    if form.validate_on_submit():
        shares = []
        for row in form.shares:
            if row.form.org_id.data and row.form.share.data:
                shares.append(services.ShareInput(
                    org_id=row.form.org_id.data,
                    share=_rate(row.form.share.data, _("Share")), cap=row.form.cap.data))
        try:
            loan = services.create_loan(
                s, bank_org_id=current_user.org_id, borrower_org_id=form.borrower_org_id.data,
                principal=form.principal.data,
                annual_rate=_rate(form.annual_rate.data, form.annual_rate.label.text),
                penalty_rate=_rate(form.penalty_rate.data, form.penalty_rate.label.text),
                disbursed_on=form.disbursed_on.data, maturity_on=form.maturity_on.data,
                asset_ids=form.asset_ids.data, registration_no=form.registration_no.data,
                registered_on=form.registered_on.data, risk_shares=shares,
                reference=form.reference.data, actor_id=current_user.id)
        except DomainError as exc:
            s.rollback()
            flash(refusal_text(exc), "error")
            form = _refill(s, form)
            return render_template("lending/new.html", form=form, error_code=exc.code), 422
        s.commit()
        flash(_("Loan registered with its pledge."), "info")
        return redirect(url_for("lending_web.loan", loan_id=loan.id))
    if request.method == "POST":
        flash(_("Check the form: %(errors)s", errors=_form_errors(form)), "error")
    return render_template("lending/new.html", form=form, error_code=None)


def _form_errors(form) -> str:
    parts = []
    for name, errs in form.errors.items():
        label = form[name].label.text if hasattr(form[name], "label") else name
        flat = []
        for e in errs:
            flat.extend(e.values() if isinstance(e, dict) else [e])
        parts.append(f"{label}: {', '.join(str(x) for x in flat)}")
    return "; ".join(parts)


def _refill(s, form: LoanForm) -> LoanForm:
    """Keep what the user typed after a refusal (the choices need the session again)."""
    return _loan_form(s)


def _visible(s, loan_id: int) -> Loan:
    try:
        return services.visible_loan(s, loan_id, current_user)
    except NotFound:
        abort(404)


@bp.route("/loans/<int:loan_id>")
@role_required("bank", "operator", "owner")
def loan(loan_id: int):
    s = get_session()
    ln = _visible(s, loan_id)
    day = today()
    as_of = parse_day(request.args.get("as_of")) or day
    events = services.events_of(s, ln.id)
    claim = claim_as_of(ln, events, as_of)
    # the claim right after each event, so the history reads like a statement
    history = [(ev, claim_as_of(ln, [e for e in events if e.on_date <= ev.on_date], ev.on_date))
               for ev in events]
    collateral = []
    total_value = ZERO
    if ln.pledge:
        for item in sorted(ln.pledge.items, key=lambda i: i.id):
            a = s.get(Asset, item.asset_id)
            v = valuation_on(s, a.id, as_of)
            total_value += v.amount if v else ZERO
            collateral.append({"asset": a, "valuation": v, "active": item.active})
    ltv = (claim.total / total_value).quantize(Decimal("0.0001")) if total_value else None
    orgs = _orgs(s, [ln.bank_org_id, ln.borrower_org_id] + [r.org_id for r in ln.risk_shares])
    is_bank = current_user.role == "bank" and current_user.org_id == ln.bank_org_id
    forms = {}
    if is_bank:
        forms = {"repayment": RepaymentForm(formdata=None), "cost": CostForm(formdata=None),
                 "default": DefaultForm(formdata=None),
                 "agreed": AgreedValuationForm(formdata=None)}
        for f, field in (("repayment", "paid_on"), ("cost", "incurred_on"),
                         ("default", "declared_on"), ("agreed", "agreed_on")):
            getattr(forms[f], field).data = day
    av = agreed.of_loan(s, ln.id)
    return render_template("lending/loan.html", loan=ln, claim=claim, as_of=as_of, today=day,
                           history=history, collateral=collateral, total_value=total_value,
                           ltv=ltv, orgs=orgs, flags=open_flags(s, ln.id), forms=forms,
                           is_bank=is_bank, agreed_valuation=av,
                           agreed_figures=agreed.as_dict(s, av, day) if av else None)


def _bank_action(loan_id: int, form_cls, apply):
    s = get_session()
    try:
        ln = services.bank_loan(s, loan_id, current_user, lock=True)
    except NotFound:
        abort(404)
    form = form_cls()
    if not form.validate_on_submit():
        flash(_("Check the form: %(errors)s", errors=_form_errors(form)), "error")
        return redirect(url_for("lending_web.loan", loan_id=loan_id))
    try:
        message = apply(s, ln, form)
    except DomainError as exc:
        s.rollback()
        flash(refusal_text(exc), "error")
        return redirect(url_for("lending_web.loan", loan_id=loan_id))
    s.commit()
    flash(message, "info")
    return redirect(url_for("lending_web.loan", loan_id=loan_id))


@bp.route("/loans/<int:loan_id>/repayments", methods=["POST"])
@role_required("bank")
def repay(loan_id: int):
    def apply(s, ln, form):
        services.add_repayment(s, ln.id, amount=form.amount.data, paid_on=form.paid_on.data,
                               actor_id=current_user.id)
        return _("Repayment recorded.")
    return _bank_action(loan_id, RepaymentForm, apply)


@bp.route("/loans/<int:loan_id>/costs", methods=["POST"])
@role_required("bank")
def cost(loan_id: int):
    def apply(s, ln, form):
        services.add_cost(s, ln.id, amount=form.amount.data, incurred_on=form.incurred_on.data,
                          description=form.description.data, actor_id=current_user.id)
        return _("Cost recorded.")
    return _bank_action(loan_id, CostForm, apply)


@bp.route("/loans/<int:loan_id>/default", methods=["POST"])
@role_required("bank")
def default(loan_id: int):
    def apply(s, ln, form):
        services.declare_default(s, ln.id, declared_on=form.declared_on.data,
                                 actor_id=current_user.id)
        return _("Default declared.")
    return _bank_action(loan_id, DefaultForm, apply)


@bp.route("/loans/<int:loan_id>/agreed-valuation", methods=["POST"])
@role_required("bank")
def agree(loan_id: int):
    """The bank records an agreed valuation (协议折价): the loan is settled with it."""
    def apply(s, ln, form):
        agreed.record(s, ln, value=form.value.data, agreed_on=form.agreed_on.data,
                      pledgor_consent_ref=form.pledgor_consent_ref.data, today=today(),
                      actor_id=current_user.id)
        return _("Agreed valuation recorded: the loan is settled and the IP is the bank's.")
    return _bank_action(loan_id, AgreedValuationForm, apply)


@bp.route("/register")
def register():
    """The public pledge register (质押登记公示): anyone may search it."""
    s = get_session()
    args = {k: (request.args.get(k) or "").strip()[:100] for k in
            ("registry_no", "pledgor", "pledgee")}
    page = parse_int(request.args.get("page"), 1, 1, 10000)
    result = register_rows(s, register_stmt(**{k: v or None for k, v in args.items()}), page, 50)
    return render_template("lending/register.html", args=args, result=result, page=page)


_LTV = re.compile(r"LTV ([0-9.]+) above ([0-9.]+)")


def flag_note(flag: LoanFlag, loan: Loan) -> str:
    """The flag's detail in the reader's language (the stored detail is the API's English)."""

    asset = get_session().get(Asset, flag.asset_id) if flag.asset_id else None
    if flag.kind == "overdue":
        return _("Matured on %(d)s; the claim is still outstanding.",
                 d=fmt_date(loan.maturity_on))
    if flag.kind == "ltv":
        m = _LTV.search(flag.detail or "")
        if m:
            return _("Loan-to-value %(r)s, above the threshold of %(t)s.",
                     r=percent(Decimal(m.group(1))), t=percent(Decimal(m.group(2))))
    if flag.kind == "disposal_deadline":
        av = agreed.of_loan(get_session(), loan.id)
        if av is not None:
            return _("Dispose of the IP taken at an agreed value by %(d)s (财金〔2005〕53号).",
                     d=fmt_date(av.dispose_by))
    if asset is not None:
        if flag.kind == "asset_not_in_force":
            return _("%(no)s is %(status)s (expiry %(d)s).", no=asset.registry_no,
                     status=LEGAL_LABELS.get(asset.legal_status, asset.legal_status),
                     d=fmt_date(asset.expires_on))
        if flag.kind == "annuity_due":
            return _("%(no)s: annuity/renewal due %(d)s.", no=asset.registry_no,
                     d=fmt_date(asset.next_fee_due_on))
        if flag.kind == "valuation_expired":
            return _("%(no)s has no valid valuation.", no=asset.registry_no)
    return flag.detail


def _bank_panel(user, s):
    rows = s.execute(select(Loan.status, func.count(), func.sum(Loan.principal))
                     .where(Loan.bank_org_id == user.org_id).group_by(Loan.status)).all()
    by_status = {st: {"count": 0, "principal": ZERO} for st in LOAN_STATUSES}
    for st, n, total in rows:
        by_status[st] = {"count": n, "principal": total if total is not None else ZERO}
    flags = list(s.execute(
        select(LoanFlag, Loan).join(Loan, Loan.id == LoanFlag.loan_id)
        .where(Loan.bank_org_id == user.org_id, LoanFlag.cleared_at.is_(None))
        .order_by(LoanFlag.raised_at.desc()).limit(20)).all())
    return Markup(render_template("lending/_panel_bank.html", by_status=by_status, flags=flags))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav(app, "lending_web.book", _l("Loan book"), roles=("bank", "operator"), order=15)
    add_nav(app, "lending_web.book", _l("My loans"), roles=("owner",), order=16)
    add_nav(app, "lending_web.register", _l("Pledge register"), order=60)
    add_panel(app, _bank_panel, roles=("bank",), order=10)
    app.jinja_env.globals.update(
        loan_status_label=lambda k: LOAN_STATUS_LABELS.get(k, k),
        loan_status_badge=lambda k: LOAN_STATUS_BADGE.get(k, ""),
        pledge_status_label=lambda k: PLEDGE_STATUS_LABELS.get(k, k),
        pledge_status_badge=lambda k: PLEDGE_STATUS_BADGE.get(k, ""),
        loan_event_label=lambda k: EVENT_LABELS.get(k, k),
        loan_flag_label=lambda k: FLAG_LABELS.get(k, k), loan_flag_note=flag_note,
        agreed_status_label=lambda k: AGREED_STATUS_LABELS.get(k, k),
        agreed_status_badge=lambda k: AGREED_STATUS_BADGE.get(k, ""))
