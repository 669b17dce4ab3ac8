# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The CPU build of PyTorch; pyproject.toml keeps a range, this pin only picks the first install.
TORCH_CPU := torch==2.13.0

.PHONY: install demo test jackd benchmarks mutation clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH_CPU)
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/rnnrbm-music demo --out-dir demo-output

# Debian's jackd2 for the live-MIDI tests, installed where apt is there and we are root.
jackd:
	@if command -v jackd >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jackd2 >/dev/null) \
	  || echo "warning: could not install jackd2; the live tests will fail in CI"; \
	else echo "note: jackd is not installed (apt-get install jackd2); the live tests need it"; fi

test: install jackd
	$(PY) -m pytest -q

# Mutation testing (slow, so not part of `make test`; docs/development.md): mutmut mutates
# music21_io, midi_io, composer, roll, keys and cli ([tool.mutmut] in pyproject.toml) and lists
# the mutants no test kills. MUTANTS picks some (MUTANTS='rnnrbm_music.roll.*'); MUTATION_JOBS
# runs mutants side by side (default 1); a rerun tries only the mutants not yet tried.
MUTANTS       ?=
MUTATION_JOBS ?= 1

$(VENV)/.mutation-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[mutation]'
	touch $@

mutation: $(VENV)/.mutation-installed
	@# The tests read ../shared from the repository's parent; mutmut runs them in mutants/.
	@if [ -d ../shared ] && [ ! -e shared ]; then ln -s ../shared shared; fi
	OMP_NUM_THREADS=1 $(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) $(MUTANTS)
	@echo "Mutants no test kills (mutmut show NAME gives the change):"
	@$(VENV)/bin/mutmut results

benchmarks: install
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/train_speed.py

clean:
	rm -rf $(VENV) demo-output build *.egg-info mutants
