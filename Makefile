# The two quick-start commands (`make demo`, `make test`) bootstrap .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench serve clean i18n

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crisisbot demo

# Two workers, each test file whole on one of them: its module-scoped server, browser and
# database are set up once and its tests run in order (the browser tests build on each other).
# About five minutes on two cores.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Message catalogues: extract every `_(...)` / `N_(...)` under bot/ into the template, then merge
# it into each language's .po (created on first run). Re-run after adding or changing messages;
# `pytest tests/unit/test_i18n.py` then lists what still needs translating.
LOCALE := bot/locale
DOMAIN := crisisbot
LANGS := ru fa
POT := $(LOCALE)/$(DOMAIN).pot
KEYWORDS := --no-default-keywords -k _ -k N_:1,2 -k invalid

i18n: $(STAMP)
	@mkdir -p $(LOCALE)
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --sort-by-file --width 100 \
		--project crisisbot --version 0.1.0 --copyright-holder "crisisbot contributors" \
		--msgid-bugs-address "https://github.com/crisisbot/crisisbot/issues" \
		-o $(POT) bot
	@for lang in $(LANGS); do \
		po=$(LOCALE)/$$lang/LC_MESSAGES/$(DOMAIN).po; \
		if [ -f $$po ]; then \
			$(BIN)/pybabel update -D $(DOMAIN) -i $(POT) -d $(LOCALE) -l $$lang \
				--no-fuzzy-matching --ignore-obsolete --width 100; \
		else \
			$(BIN)/pybabel init -D $(DOMAIN) -i $(POT) -d $(LOCALE) -l $$lang --width 100; \
		fi; \
	done

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The console on the embedded defaults (SQLite, built-in chat), with a sign-in link for you.
PERSON ?= local:$(shell id -un 2>/dev/null || echo me)
serve: $(STAMP)
	@echo "Sign in to the web console as $(PERSON) (the link works once, for CRISISBOT_WEB__LOGIN_TTL: 10m unless set):"
	@$(BIN)/crisisbot login '$(PERSON)'
	$(BIN)/crisisbot serve

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
