"""The exchange's core: everything listings and auctions are built on.

Permission checks, in every package: the entry point checks the caller's role (API:
market.api.api_auth(roles...); web pages: market.web.role_required / login_required);
which objects that user may see or change is decided in one kind of place per package,
named in that package's __init__ docstring. A lower package asks an upper one through
market/providers.py and market/hooks.py, never by importing it.
"""
