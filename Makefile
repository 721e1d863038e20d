# One command sets everything up and runs the demo (make demo); one sets up and runs the tests (make test).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The versions CI tested: every install is constrained by it, so a new machine gets the same set.
LOCK := requirements.lock
# Debian packages: FluidSynth (SoundFont rendering), CJK + emoji fonts (figures: Symbola draws emoji as outlines), Chromium (report test)
APT_RUN := libfluidsynth3 fonts-noto-cjk fonts-noto-color-emoji fonts-symbola
# Tests and benches also render with other SoundFonts and another synthesizer (TiMidity++), so
# what they measure holds beyond pretty_midi's TimGM6mb; FluidR3 (145 MB) only for the benches
APT_TEST := $(APT_RUN) chromium musescore-general-soundfont-small timidity freepats
APT_BENCH := $(APT_TEST) fluid-soundfont-gm
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-test setup-bench demo test bench lint lock clean

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
	$(BIN)/pip install -q -c $(LOCK) -e .

# the tests run the pretrained models too (tests/test_models.py skips them without the extra)
setup-test: $(BIN)/python
	$(call apt_install,$(APT_TEST))
	$(BIN)/pip install -q -c $(LOCK) -e '.[dev,models]'
	$(BIN)/pip install -q -c $(LOCK) --no-deps basic-pitch
	$(BIN)/pip install -q torch==2.13.0

# The pretrained models (bgmscope.models): onnxruntime from the extra, and Basic Pitch's package
# without its dependencies (they would drag TensorFlow 2.15 and numpy < 2; it needs only its nmp.onnx
# and note decoding). No weights are downloaded: they ship in the wheels and in bgmscope/models/weights.
.PHONY: setup-models
setup-models: setup
	$(BIN)/pip install -q -c $(LOCK) -e '.[models]'
	$(BIN)/pip install -q -c $(LOCK) --no-deps basic-pitch

# the demo uses the pretrained models (tags; Basic Pitch for --poly), offline: their weights ship
# in the wheels and in bgmscope/models/weights
demo: setup-models
	$(BIN)/bgmscope demo

# two pytest-xdist workers: the suite is mostly single-threaded CPU work, so two cores halve its wall time
test: setup-test
	$(BIN)/python -m pytest -q -n 2

setup-bench: setup-test
	$(call apt_install,$(APT_BENCH))

bench: setup-bench
	@# bench/_*.py are shared helpers and songgen.py makes the pipeline bench's songs: not benches
	for b in $$(ls bench/[a-z]*.py | grep -v songgen); do $(BIN)/python $$b --quick || exit 1; done

lint: setup-test
	$(BIN)/ruff check src tests bench

# Refresh the lock: resolve the newest versions pyproject.toml allows in a clean venv, freeze them.
# Then run `make test` and commit requirements.lock with the result.
lock:
	rm -rf .lock-venv && $(PY) -m venv .lock-venv && .lock-venv/bin/pip install -q --upgrade pip
	.lock-venv/bin/pip install -q '.[dev,models]' && .lock-venv/bin/pip install -q --no-deps basic-pitch
	{ echo "# make lock: pip freeze of a clean venv with '.[dev,models]' + basic-pitch ($$(date -u +%F), $$($(PY) -V))"; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -viE '^(bgmscope|torch)([= @]|$$)'; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK) && rm -rf .lock-venv

clean:
	rm -rf bgmscope-data .pytest_cache
