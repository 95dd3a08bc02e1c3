"""The demo collateral book seeds cleanly and leaves what the listings seeder needs."""
from __future__ import annotations

from market.db import database
from market.demo import DemoContext, seed_accounts
from market.lending.models import Loan, LoanFlag
from market.lending.seed import seed_collateral


def test_demo_collateral_book(app):
    with app.app_context(), database(app).transaction() as s:
        ctx = DemoContext()
        seed_accounts(s, ctx)
        seed_collateral(s, ctx)
        loan = s.get(Loan, ctx.data["defaulted_loan_id"])
        assert loan.status == "defaulted"
        assert [i.asset_id for i in loan.pledge.items] == ctx.data["defaulted_asset_ids"]
        assert [str(r.share) for r in loan.risk_shares] == ["0.4", "0.3"]
        kinds = {f.kind for f in s.query(LoanFlag)}
        assert {"overdue", "annuity_due"} <= kinds
