# The two commands of the README, and their parts.
#   make demo   environment, lab, site.yml against the lab, what the model predicted
#   make test   environment, then every linter and test (scripts/run-tests)
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

.PHONY: venv demo test lint sanity units pytest molecule build clean

venv:
	@scripts/bootstrap

demo: venv
	ansible-playbook site.yml -i inventories/lab

test: venv
	scripts/run-tests

lint sanity units pytest molecule: venv
	scripts/run-tests $@

build: venv
	ansible-galaxy collection build --force

clean:
	rm -rf $(VENV) .collections .cache tests/output mlops-kserve_gke-*.tar.gz
