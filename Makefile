# Trợ lý thủ tục hành chính — two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

export RASA_TELEMETRY_ENABLED := false
export RASA_PORT ?= 5005
export ACTIONS_PORT ?= 5055
export TTHC_CATALOG ?= ../shared/data/tthc-national-2026.jsonl.gz
export PYTHONDONTWRITEBYTECODE := 1
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

PY   := .venv/bin/python
RASA := .venv-rasa/bin/rasa

.PHONY: help setup train index validate run shell test test-py test-stories eval eval-heldout eval-nlu eval-dialogue \
        bench-retrieval bench-chat bench-cluster bench-footprint run-cluster telegram-polling clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup: ## create/update .venv-rasa (Python 3.10, Rasa) and .venv (Python 3.11); no-op when up to date
	@bash scripts/setup_envs.sh

validate: setup ## validate the knowledge base and the Rasa training data
	$(PY) -m bot kb validate
	$(RASA) data validate --fail-on-warnings

train: setup ## train the Rasa model if data/config/domain changed
	@bash scripts/train_if_needed.sh

index: setup ## build the retrieval index if missing or stale
	$(PY) -m bot index build

run: setup train index ## start the action server (:$ACTIONS_PORT) and the Rasa server (:$RASA_PORT)
	$(PY) -m bot kb validate
	$(PY) -m bot cases seed-demo
	exec $(PY) -m bot run

run-cluster: setup train index ## PostgreSQL, Redis, 2 Rasa + 2 action-server replicas behind HAProxy (:$RASA_PORT, :$ACTIONS_PORT)
	$(PY) -m bot kb validate
	exec $(PY) -m bot run --profile cluster

shell: setup train index ## talk to the bot in the terminal
	$(PY) -m bot cases seed-demo
	exec $(PY) -m bot shell

test: setup validate train index test-py test-stories ## everything CI runs
	@echo "make test: all checks passed"

test-py: ## pytest: .venv (unit, integration, e2e through real servers) and .venv-rasa (channels inside Rasa)
	$(PY) -m pytest -q
	.venv-rasa/bin/python -m pytest -q -m rasa_env tests/test_channels_units.py tests/test_channels_live.py tests/test_tracker_store.py tests/test_rasa_speedups.py \
		tests/test_tracker_store_sql.py tests/test_lock_store.py \
		tests/test_security_live.py tests/test_security_production.py tests/test_subscriptions_channels.py

test-stories: ## Rasa end-to-end test stories (tests/stories) against a live action server
	$(PY) -m bot rasa-test

eval: setup index ## retrieval evaluation, default settings (curated + shipped catalogue): tuning set, held-out sets
	$(PY) -m bot eval retrieval --report var/reports/retrieval.json
	$(PY) -m bot eval retrieval --queries tests/data/heldout_queries.jsonl --report var/reports/retrieval-heldout.json
	$(PY) -m bot eval retrieval --queries tests/data/catalog_heldout_queries.jsonl --report var/reports/retrieval-catalog-heldout.json

eval-heldout: setup ## retrieval on the independently written held-out set (tests/data/heldout_queries.jsonl)
	$(PY) -m bot eval retrieval --queries tests/data/heldout_queries.jsonl --report var/reports/retrieval-heldout.json

eval-nlu: setup ## NLU 5-fold cross-validation: macro F1 per intent, confusion pairs
	$(PY) -m bot eval nlu

eval-dialogue: setup train index ## typed multi-turn conversations (tests/data/dialogues) through the walk and live REST
	$(PY) -m bot eval dialogue --report var/reports/dialogue.json

bench-retrieval: setup ## index build / warm start / query latency / memory
	$(PY) -m bot bench retrieval

bench-chat: setup train index ## REST latency and throughput at 1 and 20 concurrent citizens (starts its own stack)
	$(PY) -m bot bench chat

bench-cluster: setup train index ## fault + load test of the cluster profile: replicas killed mid-run, JSON line last
	$(PY) -m bot bench cluster

bench-footprint: setup train index ## CPU ms per message and memory (RSS) of each server under 20 citizens: sizes deploy/
	$(PY) -m bot bench footprint

telegram-polling: setup train ## run Telegram in polling mode (no public URL needed); needs TELEGRAM_BOT_TOKEN
	.venv-rasa/bin/python -m bot.channels.telegram_polling

clean: ## remove trained models, indexes, logs (keeps the environments)
	rm -rf models var .rasa
