"""Equity contribution pages: the listing shows the minimum valuation and, to a company,
an offer form; the seller compares the offers side by side and accepts one; the offeror
sees its offer's status (templates/listings/_equity.html, on the listing page)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, Flask, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from market.accounts.models import Org
from market.db import get_session
from market.errors import DomainError, Invalid
from market.forms import AmountField, BaseForm
from market.web import role_required

from .. import services
from ..models import Listing
from . import equity
from .equity_terms import terms_of

bp = Blueprint("equity_web", __name__)

STATUS_LABELS = {"pending": _l("Pending"), "accepted": _l("Accepted"),
                 "rejected": _l("Not accepted"), "lapsed": _l("Lapsed")}
TO_LABELS = {"nominee": _l("A nominee (investment arm or fund)"),
             "pledgor": _l("The pledgor, pledged to the bank in place of the IP")}


class EquityOfferForm(BaseForm):
    valuation = AmountField(_l("Valuation of the IP"), validators=[DataRequired()])
    share_of_company = StringField(_l("Share of the company (a fraction, e.g. 0.20)"),
                                   validators=[DataRequired(), Length(max=20)])


class EquityAcceptForm(BaseForm):
    consideration_to = SelectField(_l("The shares go to"), choices=list(TO_LABELS.items()))
    nominee_org_id = SelectField(_l("Nominee"), coerce=lambda v: int(v) if v else None,
                                 validators=[Optional()])
    registration_no = StringField(_l("Share pledge registration no."),
                                  validators=[Optional(), Length(max=64)])


def _user():
    return current_user if getattr(current_user, "is_authenticated", False) else None


def _nominee_choices(s) -> list:
    """Investor and fund organisations: who may hold the shares (商业银行法 art. 43)."""
    return [("", "—")] + [(o.id, o.name) for o in s.scalars(
        select(Org).where(Org.kind.in_(equity.NOMINEE_KINDS)).order_by(Org.name))]


def equity_box(listing) -> dict | None:
    """What the listing page shows of an equity listing to the current user."""
    if listing.mode != "equity":
        return None
    s = get_session()
    user = _user()
    terms = terms_of(s, listing.id)
    offers = equity.offers_of(s, user, listing) if user is not None else []
    org = s.get(Org, user.org_id) if user is not None else None
    is_seller = services.is_seller(user, listing)
    accept_form = None
    if is_seller:
        accept_form = EquityAcceptForm()
        accept_form.nominee_org_id.choices = _nominee_choices(s)
    companies = {o.id: o.name for o in s.scalars(select(Org).where(
        Org.id.in_({x.company_org_id for x in offers} | {x.nominee_org_id for x in offers
                                                          if x.nominee_org_id})))}
    can_offer = (listing.status == "published" and org is not None
                 and org.kind == "enterprise" and user.role in ("owner", "investor")
                 and user.org_id != listing.seller_org_id)
    return {"terms": terms, "offers": offers, "is_seller": is_seller, "orgs": companies,
            "can_offer": can_offer, "offer_form": EquityOfferForm() if can_offer else None,
            "accept_form": accept_form, "status_labels": STATUS_LABELS,
            "to_labels": TO_LABELS}


def _back(listing_id: int):
    return redirect(url_for("listings_web.detail", listing_id=listing_id) + "#equity")


@bp.route("/listings/<int:listing_id>/equity-offers", methods=["POST"])
@role_required("owner", "investor")
def make_offer(listing_id: int):
    s = get_session()
    listing = s.get(Listing, listing_id) if services.valid_id(listing_id) else None
    if listing is None or not services.can_see(current_user, listing):
        abort(404)
    form = EquityOfferForm()
    if not form.validate_on_submit():
        flash(_("Give the valuation and the share of the company."), "error")
        return _back(listing_id)
    try:
        share = Decimal(form.share_of_company.data.strip())
        if not share.is_finite() or not Decimal(0) < share <= 1:
            raise InvalidOperation
    except InvalidOperation:
        flash(_("The share of the company is a fraction above 0 and at most 1, e.g. 0.20."),
              "error")
        return _back(listing_id)
    try:
        equity.make_offer(s, current_user, listing, valuation=form.valuation.data,
                          share_of_company=share)
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return _back(listing_id)
    s.commit()
    flash(_("Offer sent. The seller decides; you will be told."), "info")
    return _back(listing_id)


@bp.route("/equity-offers/<int:offer_id>/accept", methods=["POST"])
@role_required("bank", "owner")
def accept(offer_id: int):
    s = get_session()
    form = EquityAcceptForm()
    form.nominee_org_id.choices = _nominee_choices(s)
    try:
        offer, listing = equity.get_offer(s, current_user, offer_id)
    except DomainError:
        abort(404)
    equity.lock(s, offer, listing)
    if not form.validate_on_submit():
        flash(_("Choose where the shares go."), "error")
        return _back(listing.id)
    try:
        to = form.consideration_to.data
        if to == "nominee" and not form.nominee_org_id.data:
            raise Invalid("nominee_required", _("Choose the nominee."))
        if to == "pledgor" and not (form.registration_no.data or "").strip():
            raise Invalid("registration_required",
                          _("Give the share pledge's registration number."))
        equity.accept(s, current_user, offer, listing, consideration_to=to,
                      nominee_org_id=form.nominee_org_id.data if to == "nominee" else None,
                      registration_no=(form.registration_no.data or "").strip() or None)
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return _back(listing.id)
    s.commit()
    flash(_("Offer accepted."), "info")
    return _back(listing.id)


@bp.route("/equity-offers/<int:offer_id>")
@role_required()
def offer_page(offer_id: int):
    """Where notifications about an offer point: its listing's offers."""
    s = get_session()
    try:
        offer, _listing = equity.get_offer(s, current_user, offer_id)
    except DomainError:
        abort(404)
    return _back(offer.listing_id)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(equity_box=equity_box)
