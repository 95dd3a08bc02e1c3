"""A settlement statement: the arithmetic laid out line by line so a person can check it
with a calculator (UI.md). One list of lines feeds the web page, the PDF and the CSV."""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import Org
from ..money import ZERO
from . import forfeits
from .models import Settlement
from .services import applied_total, by_set_off

# Debian fonts-noto-cjk. A .ttc holds several faces; index 2 is Simplified Chinese.
CJK_FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    ("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", 2),
]


class FontMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Line:
    key: str          # stable id (CSV column, tests)
    label: str
    amount: Decimal | None
    sign: str = ""    # "−", "+", "=" as printed before the amount
    note: str = ""
    level: int = 0    # 0 = a result line, 1 = a detail line


def org_names(session: Session, ids) -> dict[int, str]:
    ids = [i for i in ids if i]
    if not ids:
        return {}
    return {o.id: o.name for o in session.scalars(select(Org).where(Org.id.in_(ids)))}


def lines(session: Session, st: Settlement) -> list[Line]:
    names = org_names(session, [rs.org_id for rs in st.risk_shares]
                      + [st.seller_org_id, st.pledgor_org_id])
    rate = (st.seller_commission / st.price) if st.price else ZERO
    # An agreed valuation (协议折价): the bank took the IP itself at the agreed value.
    agreed = by_set_off(st)
    out = [
        Line("price", _("Agreed value") if agreed else _("Hammer price"), st.price, "",
             _("agreed with the pledgor; the bank takes the IP (民法典 436)") if agreed else ""),
        Line("seller_commission", _("Seller commission"), st.seller_commission, "−",
             _("%(rate)s of the price (拍卖法 56)", rate=f"{rate * 100:.2f}%")),
        Line("disposal_costs", _("Disposal costs"), st.disposal_costs, "−"),
        Line("net_proceeds", _("Net proceeds"), st.net_proceeds, "=",
             _("price − commission − disposal costs")),
    ]
    out += _forfeit_lines(st)
    if st.loan_id is None:
        out.append(Line("seller_proceeds", _("Paid to the seller"), st.net_proceeds, "=",
                        _("no loan: the whole net proceeds go to the seller")))
    else:
        heads = [("costs", _("Costs of enforcing the claim")),
                 ("penalty_interest", _("Penalty interest")),
                 ("interest", _("Interest")), ("principal", _("Principal"))]
        label = (_("Claim as of %(date)s, after the forfeited deposits", date=st.as_of.isoformat())
                 if st.forfeits else _("Claim as of %(date)s", date=st.as_of.isoformat()))
        out.append(Line("claim_total", label, st.claim_total, "",
                        _("民法典 561 order: costs → penalty interest → interest → principal")))
        for key, label in heads:
            claimed = getattr(st, f"claim_{key}")
            out.append(Line(f"claim_{key}", label, claimed, "", _("owed"), 1))
        for key, label in heads:
            out.append(Line(f"applied_{key}", _("Applied: %(head)s", head=label),
                            getattr(st, f"applied_{key}"), "", "", 1))
        out.append(Line("applied_total", _("Applied to the loan"), applied_total(st), "=",
                        _("paid to %(bank)s", bank=names.get(st.seller_org_id, "—"))))
        surplus_note = (
            _("net proceeds − applied; owed by %(bank)s to %(org)s",
              bank=names.get(st.seller_org_id, "—"), org=names.get(st.pledgor_org_id, "—"))
            if agreed else _("net proceeds − applied; to %(org)s",
                             org=names.get(st.pledgor_org_id, "—")))
        out.append(Line("surplus_to_pledgor", _("Surplus to the pledgor"), st.surplus_to_pledgor,
                        "=", surplus_note))
        out.append(Line("shortfall", _("Shortfall"), st.shortfall, "=",
                        _("claim − applied; still owed by the debtor")))
        for i, rs in enumerate(st.risk_shares):
            out.append(Line(f"risk_share_{i + 1}", _("Risk share: %(org)s",
                                                     org=names.get(rs.org_id, rs.org_id)),
                            rs.amount, "−", _("share × shortfall, up to its cap"), 1))
        out.append(Line("lender_loss", _("Carried by the bank (lender loss)"), st.lender_loss,
                        "=", _("shortfall − risk shares")))
    out += [
        Line("buyer_premium", _("Buyer premium"), st.buyer_premium, "+"),
        Line("deposit_applied", _("Deposit applied to the price"), st.deposit_applied, "−"),
        Line("balance_due", _("Balance due from the buyer"), st.balance_due, "=",
             _("price + buyer premium − deposit")),
    ]
    return out


def _forfeit_lines(st: Settlement) -> list[Line]:
    """Earlier winners' forfeited deposits (悔拍), applied when this sale closed."""
    if not st.forfeits:
        return []
    t = forfeits.totals(st.forfeits)
    out = [Line("forfeited_deposits", _("Forfeited deposits of defaulting winners"), t["amount"],
                "", _("法释〔2016〕18号 art. 24: kept and applied in this order")),
           Line("forfeit_to_resale_costs", _("Makes good this sale's costs"),
                t["to_resale_costs"], "", _("commission + disposal costs"), 1),
           Line("forfeit_to_price_shortfall", _("Makes good the fall in price"),
                t["to_price_shortfall"], "", _("defaulted price − this price"), 1),
           Line("forfeit_to_debt", _("Goes on to the debt"), t["to_debt"], "", "", 1)]
    if st.loan_id is not None:
        out.append(Line("forfeit_applied_to_claim", _("Forfeits applied to the loan"),
                        t["applied_to_claim"], "=",
                        _("before this sale, in 民法典 561 order"), 1))
    if t["to_owner"] > 0:
        out.append(Line("forfeit_to_owner", _("Forfeits paid to the owner"), t["to_owner"], "=",
                        _("what the claim did not need"), 1))
    return out


def to_csv(session: Session, st: Settlement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["settlement_id", "sale_ref", "as_of", "status", "line", "label", "sign",
                "amount", "currency", "note"])
    for ln in lines(session, st):
        w.writerow([st.id, st.sale_ref, st.as_of.isoformat(), st.status, ln.key, ln.label,
                    ln.sign, "" if ln.amount is None else f"{ln.amount:.2f}", st.currency,
                    ln.note])
    return buf.getvalue()


def find_font() -> tuple[str, int]:
    for path, index in CJK_FONTS:
        if os.path.exists(path):
            return path, index
    raise FontMissing("the Noto Sans CJK font is not installed (Debian package fonts-noto-cjk); "
                      "the PDF cannot show Chinese text")


def cjk_pdf(title: str, orientation: str = "P") -> FPDF:
    """An A4 document with the CJK font as "cjk", its title printed, at 9 pt."""
    path, index = find_font()
    pdf = FPDF(format="A4", orientation=orientation)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.add_font("cjk", "", path, collection_font_number=index)
    pdf.set_font("cjk", size=15)
    pdf.cell(0, 10, text=title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    return pdf


def to_pdf(session: Session, st: Settlement, title: str) -> bytes:
    pdf = cjk_pdf(title)
    pdf.cell(0, 6, text=f"{_('Sale')} {st.sale_ref} · {_('As of')} {st.as_of.isoformat()} · "
                        f"{_('Status')}: {st.status} · {st.currency}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for ln in lines(session, st):
        pdf.set_font("cjk", size=10 if ln.level else 11)
        indent = 8 if ln.level else 0
        pdf.set_x(pdf.l_margin + indent)
        pdf.cell(95 - indent, 7, text=ln.label)
        pdf.cell(8, 7, text=ln.sign, align="C")
        pdf.cell(40, 7, text="" if ln.amount is None else f"{ln.amount:,.2f}", align="R")
        pdf.set_font("cjk", size=8)
        pdf.cell(0, 7, text="  " + ln.note[:60], new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
