"""Web pages of one's own account: login and logout, the account page (language, API
tokens, password). Routed on the web shell's blueprint, so endpoints stay `web.*`."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..audit import record
from ..db import get_session, transactional
from ..errors import DomainError
from ..extensions import limiter, login_manager
from ..forms import BaseForm
from ..web import bp, existing_id, safe_next
from . import login_limit
from . import services as accounts
from .models import User


@login_manager.user_loader
def _load_user(token: str):
    try:
        uid, version = (int(x) for x in token.split(":", 1))
    except ValueError:
        return None
    user = get_session().get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


class LoginForm(BaseForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class TokenForm(BaseForm):
    name = StringField(_l("Token name"), validators=[Length(max=100)])


class PasswordForm(BaseForm):
    old = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=12)])


class LanguageForm(BaseForm):
    locale = SelectField(_l("Language"), choices=[SelectChoice("zh", "中文"),
                                                  SelectChoice("en", "English")])


def _token_limit() -> str:
    return current_app.config["TOKEN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@transactional
def login():
    form = LoginForm()
    if request.method == "POST":
        wait = login_limit.locked_for(request.remote_addr, form.email.data or "")
        if wait is not None:
            # The notice on the page, not a bare error: say how long to wait.
            return render_template("market/login.html", form=form,
                                   locked_minutes=max(1, -(-wait // 60))), 429
    if form.validate_on_submit():
        s = get_session()
        user = accounts.authenticate(s, form.email.data, form.password.data)
        login_limit.count_attempt(request.remote_addr, form.email.data, failed=user is None)
        if user is None:
            flash(_("Wrong e-mail or password."), "error")
        else:
            login_user(user)
            s.info["actor_id"] = user.id
            record(s, "user.login", "user", user.id, actor_id=user.id)
            return redirect(safe_next(request.args.get("next"), url_for("web.dashboard")))
    return render_template("market/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@transactional
def logout():
    if current_user.is_authenticated:
        s = get_session()
        accounts.end_sessions(s, s.get(User, current_user.id))
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("web.index"))


@bp.route("/account")
@login_required
def account():
    s = get_session()
    return render_template("market/account.html", token_form=TokenForm(),
                           password_form=PasswordForm(),
                           language_form=LanguageForm(locale=str(get_locale())),
                           tokens=accounts.tokens_of(s, current_user.id), new_token=None)


@bp.route("/account/language", methods=["POST"])
@login_required
@transactional
def set_preferred_language():
    """Remembered on the user, so it follows them to any browser they log in from."""
    form = LanguageForm()
    if form.validate_on_submit():
        user = get_session().get(User, current_user.id)
        user.locale = form.locale.data
        session["lang"] = form.locale.data
        refresh()
        flash(_("Language saved."), "info")
    return redirect(url_for("web.account"))


@bp.route("/account/tokens", methods=["POST"])
@login_required
@limiter.limit(_token_limit)
@transactional
def create_token():
    form = TokenForm()
    s = get_session()
    if not form.validate_on_submit():
        flash(_("Could not create the token."), "error")
        return redirect(url_for("web.account"))
    _tok, plain = accounts.issue_token(s, current_user, form.name.data or "")
    return render_template("market/account.html", token_form=TokenForm(formdata=None),
                           password_form=PasswordForm(formdata=None),
                           language_form=LanguageForm(formdata=None, locale=str(get_locale())),
                           tokens=accounts.tokens_of(s, current_user.id), new_token=plain)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
@transactional
def revoke_token(token_id: int):
    existing_id(token_id)
    accounts.revoke_token(get_session(), current_user, token_id)
    flash(_("Token revoked."), "info")
    return redirect(url_for("web.account"))


@bp.route("/account/password", methods=["POST"])
@login_required
@transactional
def change_password():
    form = PasswordForm()
    s = get_session()
    if not form.validate_on_submit():
        flash(_("The new password needs at least 12 characters."), "error")
        return redirect(url_for("web.account"))
    user = s.get(User, current_user.id)
    try:
        accounts.change_password(s, user, form.old.data, form.new.data)
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("web.account"))
    login_user(user)  # this session continues; every other one is now invalid
    flash(_("Password changed. Other sessions were signed out."), "info")
    return redirect(url_for("web.account"))
