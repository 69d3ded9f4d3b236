# The two commands of the README: `make demo` runs the quickstart, `make test` runs the whole suite.
# Both set themselves up on a fresh machine (virtual environment, pinned dependencies, the package)
# and are no-ops for set-up when nothing changed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup demo byo test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
# mup (the μP baseline) declares torchvision and seaborn but imports neither: installed alone, pinned by the lock.
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -c requirements.lock mup
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/archscale run studies/quickstart.yaml

# Your own network and data (README): the example package's ResNet on an npz file it writes, uninstalled.
byo: $(STAMP)
	$(VENV)/bin/archscale run studies/byo-resnet.yaml

test: $(STAMP)
	bash tests/run.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check platform tests bench db examples
	$(VENV)/bin/lint-imports --no-logo --no-cache

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info platform/*.egg-info
