"""Disposal modes other than auction: each mode's terms, checks and flow."""
