"""The exchange's core: everything listings and auctions are built on."""
