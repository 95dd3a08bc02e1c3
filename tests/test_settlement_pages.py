"""Statement pages (UI.md: the arithmetic line by line; PDF and CSV), the recovery panel
and the operator payments desk."""
from __future__ import annotations

import csv
import io

from market.audit import AuditRecord
from market.payments.models import Payment
from market.settlement.models import Settlement
from tests.settlement_helpers import make_sale


def test_statement_page_pdf_csv(db, actors, app):
    sale = make_sale(db, actors)
    lid = sale["sc"].listing_id
    bank_client = actors.login(app.test_client(), sale["bank"].user)
    r = bank_client.get(f"/settlements/listing/{lid}?lang=en")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for key, amount in (("price", "2,000,000.00"), ("net_proceeds", "1,950,000.00"),
                        ("shortfall", "1,252,337.50"), ("lender_loss", "551,402.50"),
                        ("applied_principal", "1,747,662.50"), ("risk_share_2", "200,000.00")):
        assert f'data-line="{key}"' in html
        assert amount in html
    c = bank_client.get(f"/settlements/listing/{lid}.csv")
    assert c.status_code == 200 and c.mimetype == "text/csv"
    rows = {row["line"]: row for row in csv.DictReader(io.StringIO(c.get_data(as_text=True)
                                                                   .lstrip("\ufeff")))}
    assert rows["net_proceeds"]["amount"] == "1950000.00"
    assert rows["surplus_to_pledgor"]["amount"] == "0.00"
    assert rows["balance_due"]["amount"] == "1800000.00"
    p = bank_client.get(f"/settlements/listing/{lid}.pdf")
    assert p.status_code == 200 and p.data.startswith(b"%PDF")
    # the pledgor sees it; another bank does not
    owner_client = actors.login(app.test_client(), sale["pledgor"].user)
    assert owner_client.get(f"/settlements/listing/{lid}").status_code == 200
    other = actors.login(app.test_client(), sale["other_bank"].user)
    assert other.get(f"/settlements/listing/{lid}").status_code == 404
    assert other.get("/settlements").status_code == 200
    dash = bank_client.get("/dashboard")
    assert dash.status_code == 200
    assert 'data-test="recovery-panel"' in dash.get_data(as_text=True)


def test_payments_desk_confirms_and_audits(db, actors, app):
    sale = make_sale(db, actors)
    r = sale["buyer"].post(f"/api/v1/listings/{sale['sc'].listing_id}/payments",
                           json={"method": "offline"})
    pid = r.json["id"]
    op = actors.login(app.test_client(), sale["operator"].user)
    page = op.get("/admin/payments")
    assert page.status_code == 200 and r.json["reference"] in page.get_data(as_text=True)
    assert op.post(f"/admin/payments/{pid}/confirm").status_code == 302
    again = op.post(f"/admin/payments/{pid}/confirm", follow_redirects=True)
    assert again.status_code == 200
    db.rollback()
    db.expire_all()
    assert db.get(Payment, pid).status == "paid"
    assert db.get(Settlement, sale["st"].id).status == "settled"
    assert db.query(AuditRecord).filter_by(action="payment.confirm").count() == 1
    bank_client = actors.login(app.test_client(), sale["bank"].user)
    assert bank_client.get("/admin/payments").status_code == 403
