# The two commands of the README: `make run` and `make test`. Everything else is set-up they need.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup system-deps fonts i18n bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

# Chromium for the browser tests and a CJK font for PDF statements (Debian packages).
system-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "installing chromium and fonts-noto-cjk"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# The CJK font PDFs need (`make run` too); without apt (or root), say what to install.
fonts:
	@if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  if command -v apt-get >/dev/null && apt-get update -qq 2>/dev/null && \
	     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1; then \
	    echo "installed fonts-noto-cjk"; \
	  else \
	    echo "note: could not install fonts-noto-cjk; Chinese text in PDFs needs it (apt-get install fonts-noto-cjk)"; \
	  fi; \
	fi

run: setup fonts
	$(PY) -m flask --app wsgi db upgrade
	$(PY) -m flask --app wsgi demo seed
	@# exec: the script's own INT trap decides the exit status (0 on Ctrl-C), not a shell around it
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) exec bash tools/run-embedded.sh

test: setup system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

i18n: setup
	$(PY) tools/i18n.py

bench: setup
	$(PY) -m bench.bids && $(PY) -m bench.closing && $(PY) -m bench.search && $(PY) -m bench.pages

clean:
	rm -rf $(VENV) instance
