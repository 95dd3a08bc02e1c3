"""Disposal modes other than the auction: one module per mode."""
