# The two commands a newcomer runs: `make up` and `make test`.
# Both install what is missing first (Debian packages, a virtualenv).
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test deps

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null || \
		(apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip)
	python3 -m venv $(VENV)
	# compat: a plain path in a .pth file, not an import hook that costs every
	# `cloudlet` command ~8 ms of imports at start
	$(BIN)/pip install -e '.[test]' --config-settings editable_mode=compat
	touch $@

deps: $(STAMP)
	$(BIN)/cloudlet setup --yes

# the built-in AMIs and the container base images are made before the first RunInstances
# or RunTask would have to wait for them
up: deps
	$(BIN)/cloudlet setup --amis --images
	$(BIN)/cloudlet up --hosts-file /etc/hosts

# CLOUDLET_REQUIRE_ALL turns a skip for a missing host capability into a failure:
# `make test` installed everything, so nothing may be skipped here. loadfile keeps a module
# on one worker, so a module's costly fixture (the Debian base images) is built once.
test: deps
	CLOUDLET_REQUIRE_ALL=1 $(BIN)/pytest -q -n 2 --dist loadfile -p no:cacheprovider --durations=25
