# make deb [TARGET=debian-12]   build dist/omero-web_<version>_amd64.deb
# make toolkit-deb              build dist/python3-omero-web-deb_<version>-1_all.deb (stdeb, on TOOLKIT_TARGET)
# make test                     lint, unit and integration tests (real containers)
# make bench [TARGETS=debian-12,ubuntu-22.04]   install-to-serving against the walkthrough, rebuild, sizes
# make lock [TARGET=debian-12] [OMERO_WEB_VERSION=...]   make or refresh locks/<target>/omero-web-<version>.txt
# make lock TOOL=cyclonedx      make or refresh a build tool's locks/tools/<tool>.txt
# make lint | unit | check-locks | integration | clean

TARGET ?= ubuntu-22.04
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUILD_ARGS ?=
# One worker per Debian target: each builds and tests its own target, so the
# two share the cores while the other waits on apt, dpkg and containers.
INTEGRATION_ARGS ?= -n 2 --dist loadgroup --durations=30 -v
ifdef MIRROR
BUILD_ARGS += --mirror $(MIRROR)
endif
ifdef SECURITY_MIRROR
BUILD_ARGS += --security-mirror $(SECURITY_MIRROR)
endif
ifdef REFRESH
BUILD_ARGS += --refresh
endif
ifdef ICEPY_WHEEL
BUILD_ARGS += --icepy-wheel $(ICEPY_WHEEL)
endif
ifdef ICEPY_SHA256
BUILD_ARGS += --icepy-sha256 $(ICEPY_SHA256)
endif
ifdef OMERO_WEB_VERSION
BUILD_ARGS += --omero-web-version $(OMERO_WEB_VERSION)
endif

.PHONY: deb toolkit-deb test lint unit check-locks lock integration bench clean

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $@

deb: $(VENV)/.installed
	$(BIN)/omero-web-deb build --target $(TARGET) $(BUILD_ARGS)

# The toolkit as a Debian package, built by the distribution's own stdeb in a
# container of TOOLKIT_TARGET; one Architecture: all package for every target.
TOOLKIT_TARGET ?= debian-12
toolkit-deb: $(VENV)/.installed
	$(BIN)/python -m builder.toolkit_deb --target $(TOOLKIT_TARGET) --output dist

# The package's helper scripts: Python ones (*.py) for ruff (mypy reads its list
# from pyproject.toml), the rest for shellcheck.
PYTHON_SCRIPTS = $(wildcard debian/scripts/*.py) debian/finish-deb
SHELL_SCRIPTS = $(filter-out $(PYTHON_SCRIPTS),$(wildcard debian/scripts/*))

lint: $(VENV)/.installed
	$(BIN)/ruff check builder tests setup.py $(PYTHON_SCRIPTS)
	$(BIN)/ruff format --check builder tests setup.py $(PYTHON_SCRIPTS)
	$(BIN)/mypy
	$(BIN)/shellcheck debian/omero-web.config debian/omero-web.preinst debian/omero-web.postinst \
		debian/omero-web.prerm debian/omero-web.postrm \
		debian/omero-web.init $(SHELL_SCRIPTS) .ci/run tests/bench/walkthrough.sh

unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit

integration: $(VENV)/.installed
	$(BIN)/pytest -m integration $(INTEGRATION_ARGS) tests/integration

# The committed requirement locks against what the package index serves now:
# one request per distribution, no container.
check-locks: $(VENV)/.installed
	$(BIN)/omero-web-deb check-locks

# Resolve (or refresh) locks/$(TARGET)/omero-web-<version>.txt, or with TOOL
# a build tool's locks/tools/$(TOOL).txt (on the target with the oldest Python).
lock: $(VENV)/.installed
	$(BIN)/omero-web-deb lock $(if $(TOOL),--tool $(TOOL),--target $(TARGET) $(if $(OMERO_WEB_VERSION),--omero-web-version $(OMERO_WEB_VERSION)))

test: lint unit check-locks integration

# Not a test: measures and prints a table (tests/bench/run.py), also written
# to dist/bench/bench-results.md.  TARGETS, else OMERO_WEB_DEB_TARGETS, narrows it.
bench: $(VENV)/.installed
	$(BIN)/python -m tests.bench.run $(if $(TARGETS),--targets $(TARGETS))

clean:
	rm -rf dist build *.egg-info .pytest_cache .mypy_cache .ruff_cache
