# Every target builds what it needs from nothing but python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all install test test-install lint format demo samples bench bench-quality bench-memory bench-dask bench-learn bench-e2e bench-auto bench-noise-cost bench-network-stop clean

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml setup.py resdenoise/_kernels.c | $(BIN)/python
	RESDENOISE_REQUIRE_COMPILED=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: install
	TERM=unknown NO_COLOR=1 RESDENOISE_REQUIRE_COMPILED=1 $(BIN)/python -m pytest -q resdenoise tests README.md

# the README's installation, on a fresh environment: pip install '.[plot]', then the command
test-install:
	set -e; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	$(PYTHON) -m venv "$$d/venv"; \
	"$$d/venv/bin/pip" install --quiet '.[plot]'; \
	PATH="$$d/venv/bin:$$PATH" resdenoise --version; \
	cd "$$d" && PATH="$$d/venv/bin:$$PATH" resdenoise dictionary --plot table2.png > /dev/null; \
	test -s "$$d/table2.png" && echo "test-install: pip install '.[plot]' works"

lint: install
	$(BIN)/ruff check resdenoise tests sample_signals benchmarks
	$(BIN)/ruff format --check resdenoise tests sample_signals benchmarks

format: install
	$(BIN)/ruff format resdenoise tests sample_signals benchmarks
	$(BIN)/ruff check --fix resdenoise tests sample_signals benchmarks

samples: install
	$(BIN)/python sample_signals/make_samples.py sample_signals

demo: install
	mkdir -p out
	$(BIN)/resdenoise denoise sample_signals/two_channels.csv -o out/two_channels_denoised.csv
	$(BIN)/resdenoise diffuse sample_signals/steps.csv --diffusivity perona-malik --time 10 -o out/steps_diffused.csv
	$(BIN)/resdenoise shrink sample_signals/steps.csv --shrinkage garrote --iterations 8 -o out/steps_shrunk.csv
	$(BIN)/resdenoise regularise sample_signals/two_channels.csv --regulariser huber --alpha 4 -o out/two_channels_regularised.csv
	$(BIN)/resdenoise resnet sample_signals/noisy_mono.wav --activation tanh --blocks 20 -o out/noisy_mono_resnet.wav
	$(BIN)/resdenoise diffuse sample_signals/noisy_stereo.wav --diffusivity charbonnier --steps 20 --report out/noisy_stereo_report.json -o out/noisy_stereo_diffused.wav
	@echo "demo outputs are in out/"

bench: install
	$(BIN)/python benchmarks/bench_engine.py

# learned networks (resdenoise learn) against the best fixed family, on signals not trained on
bench-learn: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	cd benchmarks && ../$(BIN)/python bench_learn.py

# the noise estimators on every signal class, the multilevel shrinkage's noise rules against
# the cascade and the SWT peers, its threshold rules against oracle thresholds, then the
# automatic choice against the automatic wavelet peers per class, then on 16 held-out classes
# (bench_heldout_classes.py; bench_quality.py: every command on Donoho-Johnstone), do no harm on held-out signals (bench_harm.py) and on held-out
# real series (bench_fresh.py)
bench-quality: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_noise.py
	$(BIN)/python benchmarks/bench_scales.py
	$(BIN)/python benchmarks/bench_thresholds.py
	$(BIN)/python benchmarks/bench_classes.py
	$(BIN)/python benchmarks/bench_heldout_classes.py
	$(BIN)/python benchmarks/bench_power_law.py
	$(BIN)/python benchmarks/bench_harm.py
	$(BIN)/python benchmarks/bench_fresh.py

# peak memory of the command line on float WAVs of 16 MiB .. 2 GiB: flat when streamed
bench-memory: install
	$(BIN)/python benchmarks/bench_memory.py

# end to end against cat, a soundfile copy, sox and make -j2 over sox (issue 19); smaller:
# RESDENOISE_E2E_MIB=64 RESDENOISE_E2E_FILES=50 RESDENOISE_E2E_ROUNDS=3 make bench-e2e
bench-e2e: install
	cd benchmarks && ../$(BIN)/python -u bench_e2e.py

# --time auto --lambda auto against the fixed run it picks, steps, sensor and smooth signals
# of 1e5, 1e6 and 1e7 samples (issue 19); against main in the same run:
# git archive main | tar -x -C /tmp/main; RESDENOISE_BEFORE=/tmp/main make bench-auto
bench-auto: install
	cd benchmarks && ../$(BIN)/python -u bench_auto.py

# the CPU time of the automatic searches' noise level, part by part, at 1e4-1e6 samples
# (a checkout built with make install to compare against, side by side):
# RESDENOISE_BEFORE=/tmp/main make bench-noise-cost
bench-noise-cost: install
	cd benchmarks && ../$(BIN)/python -u bench_noise_cost.py

# a learned network's stop = "sure": its bumps by NumPy alone and with the compiled rows,
# beside the planner's SURE stop on the same signal (CPU, interleaved rounds)
bench-network-stop: install
	$(BIN)/python -u benchmarks/bench_network_stop.py

# the engine on one machine against a local Dask cluster of 1 and 2 workers: a long Zarr
# signal and 200 small files
bench-dask: install
	$(BIN)/python -m pip install --quiet -e '.[dask]'
	$(BIN)/python benchmarks/bench_dask.py

clean:
	rm -rf $(VENV) out build dist *.egg-info .pytest_cache .hypothesis .ruff_cache resdenoise/*.so
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
