"""Organisations, users, roles, API tokens and login."""
