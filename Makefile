# One entry point per task; CI calls `make test` unchanged (see .ci/run).
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test lint bench clean messages

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/rushes serve

test: $(STAMP)
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not alone" --durations=25  # two workers, an idle one taking tests from the busy one: much of the suite waits on disks, servers, browsers; the slowest are listed to keep it under 15 min
	$(BIN)/python -m pytest -m alone  # the load test, with nothing else running beside it

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

# After marking strings: extract them, merge them into each language's catalog (translate the
# new and fuzzy entries in src/rushes/locale/*/LC_MESSAGES/rushes.po), and compile the .mo.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _ -k ngettext:1,2 --no-location --sort-output \
		--project rushes --copyright-holder "rushes" -o src/rushes/locale/rushes.pot .
	$(BIN)/pybabel update -i src/rushes/locale/rushes.pot -d src/rushes/locale -D rushes \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile --statistics -d src/rushes/locale -D rushes

clean:
	rm -rf $(VENV)
