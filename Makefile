# crmsync's commands. Arguments after `--` go to the command: `make run -- --reset`.
.PHONY: run test bench lint help
ARGS := $(filter-out run test bench lint help --,$(MAKECMDGOALS))

run:  ## set up and run the local stack (`make run -- --reset` starts from scratch)
	scripts/run.sh $(ARGS)
test: ## set up and run the whole test suite
	scripts/test.sh $(ARGS)
lint: ## ruff (lint and format check) and mypy, as `make test` runs them
	scripts/lint.sh
bench: ## every benchmark, each printing JSON (`make bench -- --only tasks_bench`)
	scripts/bootstrap.sh && .venv/bin/python -m bench.run_all $(ARGS)
help: ## this list
	@grep -E '^[a-z]+:.*## ' Makefile | sed 's/:.*## /\t/'

# The words after `--` are arguments, not targets: do nothing for them.
ifneq ($(ARGS),)
$(ARGS):
	@:
endif
