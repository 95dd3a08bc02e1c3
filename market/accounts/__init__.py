"""Organisations, users, roles, API tokens and login.

Permission checks: at the entry points only — api.py (api_auth) and views.py
(login_required; the pages act on current_user's own tokens and password, services
take that user). The operator's user and role pages are market/admin_views.py."""
