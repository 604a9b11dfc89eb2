.PHONY: run test bench lint
run:  ## set up and run the local stack
	scripts/run.sh
test: ## set up and run the whole test suite
	scripts/test.sh
bench:
	scripts/bootstrap.sh && .venv/bin/python -m bench.run_all
