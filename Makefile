# The two commands of the README, and their parts.
#   make demo   environment, lab, site.yml against the lab, what the model predicted
#   make test   environment, then every linter and test (scripts/run-tests)
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

.PHONY: venv demo test lint sanity units pytest molecule build clean lab-down

venv:
	@scripts/bootstrap

demo: venv
	scripts/lab up
	eval "$$(scripts/lab env)" && ansible-playbook site.yml -i inventories/lab \
		&& ansible-playbook playbooks/smoke_test.yml -i inventories/lab

test: venv
	scripts/run-tests

lint sanity units pytest molecule: venv
	scripts/run-tests $@

build: venv
	ansible-galaxy collection build --force

lab-down:
	@if [[ -x scripts/lab && -x $(VENV)/bin/python ]]; then scripts/lab down; fi

clean: lab-down
	rm -rf .lab $(VENV) .collections .cache tests/output mlops-kserve_gke-*.tar.gz
