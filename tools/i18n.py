"""Extract, update and compile the translation catalogs: one per package.

    python tools/i18n.py            # extract + update .po (keeps translations), compile .mo
    python tools/i18n.py --check    # fail if a .po has untranslated or fuzzy zh entries

Each package owns its catalog so the catalogs do not collide:
market (market/**, templates/base.html, templates/market/**),
listings (listings/**, templates/listings/**), auctions (auctions/**, templates/auctions/**).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# catalog directory (relative to the root) → the sources it covers
PACKAGES = {
    "market": ["market/*.py", "market/accounts", "market/marketdata", "templates/base.html",
               "templates/market", "templates/marketdata"],
    "market/lending": ["market/assets", "market/lending", "templates/assets", "templates/lending"],
    "market/settlement": ["market/settlement", "market/payments", "templates/settlement",
                          "templates/payments"],
    "market/oversight": ["market/oversight", "templates/oversight"],
    "listings": ["listings", "templates/listings"],
    "auctions": ["auctions", "templates/auctions"],
}


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True,
                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    check = "--check" in sys.argv
    bad = 0
    for pkg, sources in PACKAGES.items():
        tdir = os.path.join(ROOT, pkg, "translations")
        po = os.path.join(tdir, "zh", "LC_MESSAGES", "messages.po")
        if check:
            from babel.messages.pofile import read_po
            with open(po, "rb") as fh:
                cat = read_po(fh)
            missing = [m.id for m in cat if m.id and (not m.string or m.fuzzy)]
            for m in missing:
                print(f"{pkg}: untranslated: {m!r}")
            bad += len(missing)
            continue
        import glob
        existing = [p for s in sources for p in sorted(glob.glob(os.path.join(ROOT, s)))]
        existing = [os.path.relpath(p, ROOT) for p in existing]
        with tempfile.NamedTemporaryFile(suffix=".pot", delete=False) as tmp:
            pot = tmp.name
        pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location",
                "--sort-output", "-o", pot, *existing)
        if os.path.exists(po):
            pybabel("update", "-i", pot, "-d", tdir, "-l", "zh", "--no-fuzzy-matching",
                    "--ignore-obsolete")
        else:
            pybabel("init", "-i", pot, "-d", tdir, "-l", "zh")
        pybabel("compile", "-d", tdir, "-l", "zh")
        os.unlink(pot)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
