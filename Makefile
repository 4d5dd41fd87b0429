# The two commands of the README:
#   make book   — build the website into _build/html (creates .venv on first use)
#   make test   — run every test: cnnlib against torch, and every chapter re-executed by nbval
# Both create and use a local virtual environment (.venv) by themselves.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-lib test-book clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --keep-going
	@echo "Open _build/html/index.html in a browser."

test: test-lib test-book

test-lib: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -n 2 -q

test-book: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax --nbval-current-env -n 2 --dist loadscope -q book

clean:
	rm -rf _build
