#!/usr/bin/env bash
# The local demo: supportgate on the example config.toml, with bin/devmail
# standing in for both the real mailbox server and the smarthost (it prints
# every message it gets). Needs nothing outside this machine. Ctrl-C stops
# everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x bin/supportgate ] || make build

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

./bin/devmail -listen 127.0.0.1:2526 &
pids+=($!)
./bin/fakeportal -listen 127.0.0.1:8090 -ui 127.0.0.1:8091 -handler http://127.0.0.1:8025/bitrix/event &
pids+=($!)
sleep 0.3
./bin/supportgate check -online -config config.toml
./bin/supportgate serve -config config.toml &
pids+=($!)
sleep 1
cat <<'MSG'

supportgate is running:  SMTP 127.0.0.1:2525   HTTP http://127.0.0.1:8025/healthz  /metrics
devmail (upstream + smarthost) prints what supportgate forwards and sends.
fakeportal plays Bitrix24: its tasks, and a form to comment them as a
specialist, are at http://127.0.0.1:8091/ (curl works too:
  curl -d task=101 -d text="Замените картридж" http://127.0.0.1:8091/comment )

Send a test message from another terminal:
  swaks --server 127.0.0.1:2525 --from ivan.petrov@customer.example \
        --to support@example.com --header "Subject: Не печатает принтер" \
        --body "Здравствуйте! Принтер в бухгалтерии не печатает."

Try a refused one:   swaks --server 127.0.0.1:2525 --to someone@elsewhere.test
Dry-run the rules:   ./bin/supportgate explain -config config.toml some.eml
Ctrl-C stops the demo. State lives in ./demo-state.
MSG
wait
