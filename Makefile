# One command sets everything up and runs the demo (make demo); one sets up and runs the tests (make test).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Debian packages: FluidSynth (SoundFont rendering), CJK + emoji fonts (figures: Symbola draws emoji as outlines), Chromium (report test)
APT_RUN := libfluidsynth3 fonts-noto-cjk fonts-noto-color-emoji fonts-symbola
APT_TEST := $(APT_RUN) chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-test demo test bench lint clean

apt_cmd = $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(1)

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; fi
endef

$(BIN)/python:
	@# Debian's own python3 needs python3-venv for ensurepip; install it only when venv fails
	$(PY) -m venv $(VENV) || { rm -rf $(VENV); $(call apt_cmd,python3-venv) && $(PY) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

setup: $(BIN)/python
	$(call apt_install,$(APT_RUN))
	$(BIN)/pip install -q -e .

setup-test: $(BIN)/python
	$(call apt_install,$(APT_TEST))
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q torch==2.13.0

demo: setup
	$(BIN)/bgmscope demo

test: setup-test
	$(BIN)/python -m pytest -q

bench: setup-test
	for b in bench/*.py; do $(BIN)/python $$b --quick || exit 1; done

lint: setup-test
	$(BIN)/ruff check src tests bench

clean:
	rm -rf bgmscope-data .pytest_cache
