"""A loan officer logs in through a real browser, reads the dashboard in Chinese and in
English, and logs out."""
from __future__ import annotations

import re


def test_bank_user_logs_in_switches_language_and_logs_out(page, live_server, actors,
                                                           browser_login):
    user = actors.user("bank", org="华夏科创银行")
    browser_login(page, live_server, user["email"], user["password"])

    # zh-CN browser → Chinese by default
    assert page.locator("[data-test=dashboard-title]").inner_text() == "工作台"
    assert "华夏科创银行" in page.content()

    page.click("[data-test=lang-en]")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    assert page.locator("[data-test=dashboard-title]").inner_text() == "Dashboard"

    page.click("[data-test=lang-zh]")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    assert page.locator("[data-test=dashboard-title]").inner_text() == "工作台"
    assert page.locator("[data-test=logout]").inner_text() == "退出登录"

    page.click("[data-test=logout]")
    page.wait_for_load_state()
    assert page.locator("[data-test=login]").is_visible()
    page.goto(f"{live_server}/dashboard")
    assert "/login" in page.url  # the session is gone


def test_wrong_password_shows_a_chinese_error(page, live_server, actors):
    user = actors.user("bank")
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", "not-the-password")
    page.click("[data-test=submit]")
    assert page.locator(".flash.error").inner_text() == "电子邮箱或密码错误。"
    assert "/login" in page.url


def test_operator_corrects_a_bad_setting_in_the_browser(page, live_server, actors,
                                                        browser_login):
    """拍卖法 56: commission at most 5%. The form (CSRF on) refuses 9%, keeps the page, then saves 3%."""
    op = actors.user("operator", org="知识产权交易中心")
    browser_login(page, live_server, op["email"], op["password"])
    page.click("nav >> text=设置")
    page.fill("input[name=seller_commission_rate]", "0.09")
    page.click("[data-test=save-settings]")
    row = page.locator("#setting-seller_commission_rate")
    assert "佣金不超过成交价的5%（拍卖法 第五十六条）" in row.inner_text()
    assert "未保存任何内容" in page.locator(".flash.error").inner_text()
    page.fill("input[name=seller_commission_rate]", "0.03")
    page.click("[data-test=save-settings]")
    assert "已保存 1 项设置" in page.locator(".flash.info").inner_text()
    assert page.input_value("input[name=seller_commission_rate]") == "0.03"
    assert op["email"] in page.locator("#setting-seller_commission_rate").inner_text()
