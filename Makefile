# The two commands of the README: `make run` and `make test`. Everything else is set-up they need.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup system-deps i18n bench clean

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

run: setup
	$(PY) -m flask --app wsgi db upgrade
	$(PY) -m flask --app wsgi demo seed
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash tools/run-embedded.sh

test: setup system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

i18n: setup
	$(PY) tools/i18n.py

bench: setup
	$(PY) -m bench.bids && $(PY) -m bench.closing && $(PY) -m bench.search && $(PY) -m bench.pages

clean:
	rm -rf $(VENV) instance
