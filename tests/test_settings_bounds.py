"""Operator settings stay within the law and the exchange's rules, each refusal naming its
source in Chinese and English: a deposit 5–20% of the start price (法释〔2016〕18号 art. 17),
a re-auction cut at most 20% (art. 26), a notice at least 7 days (拍卖法 45), a commission
at most 5% (拍卖法 56)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from market import settings_store
from market.db import database
from market.errors import Invalid

CASES = [("deposit_min_ratio", "0.04", "0.05", "法释〔2016〕18号"),
         ("deposit_max_ratio", "0.21", "0.20", "法释〔2016〕18号"),
         ("reauction_max_cut", "0.25", "0.15", "法释〔2016〕18号"),
         ("min_notice_seconds", "86400", "604800", "拍卖法"),
         ("reauction_notice_seconds", "3600", "1296000", "拍卖法"),
         ("seller_commission_rate", "0.051", "0.05", "拍卖法 56"),
         ("buyer_premium_rate", "0.06", "0.02", "拍卖法 56")]


@pytest.mark.parametrize("key,bad,good,source", CASES)
def test_values_past_the_bounds_are_refused_with_their_source(app, key, bad, good, source):
    with app.app_context(), database(app).transaction() as s:
        with pytest.raises(Invalid) as refused:
            settings_store.put(s, key, bad, actor_id=None)
        err = refused.value
        assert err.code == "setting_out_of_bounds" and source in err.message
        zh, en = err.message.split(" / ", 1)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en[0].isupper()
        assert settings_store.put(s, key, good, actor_id=None) == type(settings_store.get(s, key))(good)


def test_the_settings_page_shows_the_refusal_and_saves_nothing(client, actors, db):
    op = actors.user("operator")
    actors.login(client, op)
    resp = client.post("/admin/settings", data={"reauction_max_cut": "0.30",
                                                "min_notice_seconds": "60"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    cut = html.split('id="setting-reauction_max_cut"')[1].split("</tr>")[0]
    assert "法释〔2016〕18号" in cut and "20%" in cut and 'class="error"' in cut
    notice = html.split('id="setting-min_notice_seconds"')[1].split("</tr>")[0]
    assert "拍卖法" in notice and "7" in notice and 'class="error"' in notice
    db.rollback()
    assert db.scalar(select(func.count()).select_from(settings_store.Setting)) == 0
