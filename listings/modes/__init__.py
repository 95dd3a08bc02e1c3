"""Disposal modes other than the auction: each mode's terms, rules and use cases."""
