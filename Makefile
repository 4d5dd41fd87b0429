# The two commands of the README:
#   make book   — build the website into _build/html (strict: any warning fails the build)
#   make test   — run every test: cnnlib against torch, every chapter re-executed by nbval, and the
#                 built website loaded in headless Chromium (tests/browser)
# Both create and use a local virtual environment (.venv) by themselves.

PYTHON   ?= python3
CHROMIUM ?= /usr/bin/chromium
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
ASSETS   := .web-assets/VERSIONS
SITE     := _build/html/.built
# Everything the website is built from: `make site` rebuilds when any of it is newer than the site.
SITE_SOURCES := _config.yml _toc.yml $(wildcard tools/*.py) \
	$(shell find book cnnlib -type f \( -name '*.ipynb' -o -name '*.md' -o -name '*.py' -o -name '*.css' -o -name '*.js' \) \
	        -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' 2>/dev/null)

# Strict build: broken cross-references, missing files and failing cells fail it (-W -n), and
# --keep-going reports all of them at once; --all re-reads every page (warnings of unchanged pages are
# reported again, and static files are copied again; executed notebooks come from the cache).
JB_BUILD := env -u MPLBACKEND $(BIN)/jupyter-book build . --all -W -n --keep-going

.PHONY: book site test test-lib test-book test-site pdf chromium assets colab-cell clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# MathJax, RequireJS, the widget manager and Font Awesome 4, from the npm registry (not committed).
$(ASSETS): tools/fetch_web_assets.sh
	bash tools/fetch_web_assets.sh .web-assets
assets: $(ASSETS)

book: $(STAMP) $(ASSETS)
	$(JB_BUILD)
	touch $(SITE)
	@echo "Open _build/html/index.html in a browser."

# The site, rebuilt only when it is missing or older than its sources (used by the browser test).
$(SITE): $(STAMP) $(ASSETS) $(SITE_SOURCES)
	$(JB_BUILD)
	touch $(SITE)
site: $(SITE)

test: test-lib test-book test-site

test-lib: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -n 2 -q --ignore=tests/browser

# Every notebook re-executed by nbval, in the build's environment (MPLBACKEND unset: the inline
# backend's figures). book/conftest.py stores each notebook that passed in the build's execution
# cache, so the site build that follows in `make test` does not execute it a second time.
test-book: $(STAMP)
	env -u MPLBACKEND $(BIN)/python -m pytest --nbval-lax --nbval-current-env -n 2 --dist loadscope -q book

# The built website in headless Debian Chromium (driven by Playwright's Python driver), two pages
# at a time.
test-site: $(STAMP) chromium $(SITE)
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest tests/browser -n 2 -q

# The whole book as one PDF, _build/pdf/cnn-interview-book.pdf (also copied into _build/html/ for
# the site to serve): every page of _toc.yml printed to A4 by the same Chromium with the site's print
# stylesheet (book/_static/print.css), checked for cut code and formulas, and merged with pypdf with a
# bookmark per part and chapter (tools/print_book.py). Slow, so not part of `make test`
# (tests/browser/test_pdf.py prints two pages).
pdf: $(STAMP) chromium $(SITE)
	CHROMIUM=$(CHROMIUM) $(BIN)/python tools/print_book.py

# Debian's Chromium (Playwright's own browser download is not used), and a small CJK font so the
# screenshots show the chapters' Chinese terms instead of boxes. Installed when missing and running
# as root (as CI does on a fresh machine); otherwise a clear error (or, for the font, a note).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser test..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else \
	    echo "error: the browser test needs Chromium at $(CHROMIUM). Install it (Debian/Ubuntu:" \
	         "sudo apt-get install -y chromium) or point CHROMIUM=/path/to/chromium at one." >&2; \
	    exit 1; \
	  fi; \
	fi
	@if [ -z "$$(fc-list :lang=zh 2>/dev/null)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; \
	  else \
	    echo "note: no Chinese font installed; screenshots show boxes for Chinese (apt-get install fonts-wqy-microhei)."; \
	  fi; \
	fi

# Rewrite every chapter's first (Colab install) cell from _config.yml's repository URL.
colab-cell: $(STAMP)
	$(BIN)/python tools/colab_cell.py --fix

clean:
	rm -rf _build
