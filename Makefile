# Lianxin task runner. `make setup` is idempotent: Debian packages when missing, the .venv,
# and the project installed into it. Every other target runs setup first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Chinese font for the kiosk; espeak-ng (Mandarin voice) and PortAudio for speech; Mesa EGL/GL and mtdev
# for Kivy (it renders offscreen through Mesa when there is no display); baresip and sipp
# are the real SIP callers the phone-line tests use; faketime runs the date-sensitive tests
# at the calendar's edges (make test-calendar); chromium is the real browser the hub
# console's tests drive (Playwright, pointed at /usr/bin/chromium); postgresql is the
# server every hub test runs on a second time (a throwaway cluster the tests start and stop:
# bench/pgserver.py); haproxy spreads terminals over several hub processes
# (tests/test_hub_processes.py, bench/bench_night_load.py, deploy/haproxy.cfg; openssl
# makes its test certificate).
APT_PACKAGES := fonts-wqy-microhei espeak-ng libportaudio2 libusb-1.0-0 libmtdev1 libegl1 libgl1 \
                libgl1-mesa-dri libgbm1 baresip sip-tester faketime tzdata chromium postgresql \
                haproxy openssl
DEMO_DB ?= var/demo/terminal.db

VOSK_MODEL ?= vosk-model-small-cn-0.22
MODELS_DIR ?= var/models

# The date-sensitive tests (core, CLI, sync and hub) again with the wall clock at a month's
# last minute, a year's last minute and a leap day, China Standard Time. The suite pins its
# own "now" (tests/conftest.py), so these runs prove nothing reads the wall clock behind its
# back, and the wall-clock tests (tests/test_calendar_edges.py) meet the edges for real.
# Kiosk, speech and SIP tests are left out: they read no dates and wait on real time; hub
# tests run on SQLite only there (their PostgreSQL runs test storage, not clocks).
CALENDAR_EDGES := "2027-11-30 23:59:00" "2027-12-31 23:58:00" "2028-02-29 23:59:00"
CALENDAR_SKIP  := --ignore-glob='tests/test_kiosk_*' --ignore-glob='tests/test_phone_*' \
                  --ignore-glob='tests/test_sip_*' --ignore=tests/test_tts.py \
                  --ignore=tests/test_asr.py --ignore=tests/test_pcm.py \
                  --ignore=tests/test_speech_text.py --ignore=tests/test_dialog.py \
                  --ignore=tests/test_crash.py --ignore=tests/test_hub_schemathesis.py \
                  --ignore-glob='tests/test_console_browser*'

.PHONY: setup apt demo test test-calendar lint bench docs models clean

setup: apt $(STAMP)

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

demo: setup
	DEMO_DIR=$(patsubst %/,%,$(dir $(DEMO_DB))) scripts/demo.sh

test: setup
	$(BIN)/python -m pytest -q

test-calendar: setup
	@for at in $(CALENDAR_EDGES); do \
	  echo "== faketime $$at (Asia/Shanghai)"; \
	  LIANXIN_TEST_BACKENDS=sqlite TZ=Asia/Shanghai faketime -m "$$at" \
	    $(BIN)/python -m pytest -q -p no:cacheprovider $(CALENDAR_SKIP) || exit 1; \
	done

lint: setup
	$(BIN)/ruff check core cli kiosk voice sync tests bench scripts

bench: setup
	$(BIN)/python -m bench.bench_core
	$(BIN)/python -m bench.bench_kiosk
	$(BIN)/python -m bench.bench_tts
	$(BIN)/python -m bench.bench_phone
	$(BIN)/python -m bench.bench_sync
	$(BIN)/python -m bench.bench_night_load
	$(BIN)/python -m bench.bench_wire
	$(BIN)/python -m bench.bench_cli
	$(BIN)/python -m bench.bench_console --keep var/bench
	$(BIN)/python -m bench.bench_exports

# The Chinese speech model for production terminals (needs the internet; tests never do).
models:
	@mkdir -p $(MODELS_DIR)
	@test -d $(MODELS_DIR)/$(VOSK_MODEL) || { \
	  curl -fL -o $(MODELS_DIR)/$(VOSK_MODEL).zip https://alphacephei.com/vosk/models/$(VOSK_MODEL).zip && \
	  cd $(MODELS_DIR) && $(PYTHON) -m zipfile -e $(VOSK_MODEL).zip . && rm $(VOSK_MODEL).zip; }
	@echo "export LIANXIN_VOSK_MODEL=$(abspath $(MODELS_DIR)/$(VOSK_MODEL))"

docs: setup
	$(BIN)/python scripts/gen_cli_docs.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
