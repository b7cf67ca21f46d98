#!/usr/bin/env bash
# The local demo: supportgate on the example config.toml, with bin/devmail
# standing in for both the real mailbox server and the smarthost (it prints
# every message it gets) and bin/fakeportal playing Bitrix24. Needs nothing
# outside this machine. Ctrl-C stops everything this script started.
#
# It fails loudly: a port already taken, or a part that does not come up,
# stops the demo with a message naming it, before anything is sent anywhere.
#
# Ports (all on 127.0.0.1) and folders, each overridable from the
# environment, e.g. `DEMO_SMTP_PORT=2625 make demo`:
#   DEMO_SMTP_PORT       supportgate SMTP           (2525)
#   DEMO_HTTP_PORT       supportgate HTTP           (8025)
#   DEMO_CONSOLE_PORT    supportgate console        (8026)
#   DEMO_MAIL_PORT       devmail: upstream + smarthost (2526)
#   DEMO_PORTAL_PORT     fakeportal REST (the webhook) (8090)
#   DEMO_PORTAL_UI_PORT  fakeportal's page          (8091)
#   DEMO_STATE           the state folder           (demo-state)
#   DEMO_BIN             where the binaries are     (bin)
# With the defaults the gateway runs on ./config.toml itself (edit it while
# the demo runs: it reloads); otherwise on a copy in $DEMO_STATE with the
# ports and paths changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

smtp_port=${DEMO_SMTP_PORT:-2525}
http_port=${DEMO_HTTP_PORT:-8025}
console_port=${DEMO_CONSOLE_PORT:-8026}
mail_port=${DEMO_MAIL_PORT:-2526}
portal_port=${DEMO_PORTAL_PORT:-8090}
ui_port=${DEMO_PORTAL_UI_PORT:-8091}
state=${DEMO_STATE:-demo-state}
bin=${DEMO_BIN:-bin}
case $bin in /*) ;; *) bin=./$bin ;; esac
host=127.0.0.1

die() { echo "demo: $*" >&2; exit 1; }

if [ "$bin" = ./bin ]; then
	[ -x bin/supportgate ] || make build
fi
for b in supportgate devmail fakeportal; do
	[ -x "$bin/$b" ] || die "$bin/$b is missing (run make build)"
done

# listening HOST PORT: true when something accepts connections there.
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# 1. Every port free, each named by the variable that moves it.
declare -A seen=()
for spec in "DEMO_SMTP_PORT:$smtp_port:supportgate SMTP" "DEMO_HTTP_PORT:$http_port:supportgate HTTP" \
	"DEMO_CONSOLE_PORT:$console_port:supportgate console" \
	"DEMO_MAIL_PORT:$mail_port:devmail" "DEMO_PORTAL_PORT:$portal_port:fakeportal REST" \
	"DEMO_PORTAL_UI_PORT:$ui_port:fakeportal page"; do
	IFS=: read -r var port what <<<"$spec"
	case $port in '' | *[!0-9]*) die "$var=$port is not a port number" ;; esac
	[ -z "${seen[$port]:-}" ] || die "$var and ${seen[$port]} are both $port: give each part its own port"
	seen[$port]=$var
	if listening "$host" "$port"; then
		die "port $host:$port ($what) is already in use by another program; stop it or choose another port, e.g. $var=$((port + 100)) make demo"
	fi
done

# 2. The config: ./config.toml itself, or a copy with the ports moved.
config=config.toml
if [ "$smtp_port:$http_port:$console_port:$mail_port:$portal_port:$state" != "2525:8025:8026:2526:8090:demo-state" ]; then
	mkdir -p "$state"
	state_abs=$(cd "$state" && pwd)
	config=$state_abs/config.toml
	sed -e "s|\"127.0.0.1:2525\"|\"$host:$smtp_port\"|" \
		-e "s|\"127.0.0.1:8025\"|\"$host:$http_port\"|" \
		-e "s|\"127.0.0.1:8026\"|\"$host:$console_port\"|" \
		-e "s|\"127.0.0.1:2526\"|\"$host:$mail_port\"|g" \
		-e "s|http://127.0.0.1:8090/|http://$host:$portal_port/|" \
		-e "s|^dir = \"demo-state\"|dir = \"$state_abs\"|" \
		-e "s|^template = \"compose/|template = \"$root/compose/|" \
		-e "s|^file = \"examples/|file = \"$root/examples/|" \
		config.toml >"$config"
	for want in "$host:$smtp_port" "$host:$http_port" "$host:$console_port" "$host:$mail_port" "$host:$portal_port/" "$state_abs"; do
		grep -qF "$want" "$config" || die "could not move the ports in $config (is config.toml still the example?): $want missing"
	done
fi

pids=()
names=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME PORT CMD...: start a part in the background, then wait (10 s at
# most) until it listens on PORT; stop the demo if it exits or never does.
start() {
	local name=$1 port=$2
	shift 2
	"$@" &
	local pid=$!
	pids+=("$pid")
	names+=("$name")
	for _ in $(seq 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			local rc=0
			wait "$pid" || rc=$?
			die "$name did not start (exit status $rc; its messages are above)"
		fi
		listening "$host" "$port" && return 0
		sleep 0.1
	done
	die "$name did not listen on $host:$port within 10s"
}

start devmail "$mail_port" "$bin/devmail" -listen "$host:$mail_port"
start fakeportal "$portal_port" "$bin/fakeportal" -listen "$host:$portal_port" -ui "$host:$ui_port" \
	-handler "http://$host:$http_port/bitrix/event"
listening "$host" "$ui_port" || die "fakeportal's page is not on $host:$ui_port"
"$bin/supportgate" check -online -config "$config" || die "supportgate check failed on $config (see above)"
# Its HTTP listener comes up after the SMTP one (and probing it leaves no
# "connection reset" line in the SMTP log).
start supportgate "$http_port" "$bin/supportgate" serve -config "$config"

cat <<MSG

supportgate is running:  SMTP $host:$smtp_port   HTTP http://$host:$http_port/healthz  /metrics
config: $config
devmail ($host:$mail_port, upstream + smarthost) prints what supportgate forwards and sends:
  each message's header and its text decoded (the auto-reply's says the task number).
console: http://$host:$console_port/  (login admin, password: cat $state/console.password)
fakeportal plays Bitrix24: its tasks, and a form to comment them as a
specialist, are at http://$host:$ui_port/ (curl works too:
  curl -d task=101 -d text="Замените картридж" http://$host:$ui_port/comment )

Send a test message from another terminal:
  swaks --server $host:$smtp_port --from ivan.petrov@customer.example \\
        --to support@example.com --header "Subject: Не печатает принтер" \\
        --body "Здравствуйте! Принтер в бухгалтерии не печатает."

Try a refused one:   swaks --server $host:$smtp_port --to someone@elsewhere.test
Dry-run the rules:   $bin/supportgate explain -config $config some.eml
Ctrl-C stops the demo. State lives in $state.
MSG

# Any part that stops ends the demo, loudly, rather than leaving a
# half-working one.
rc=0
wait -n "${pids[@]}" || rc=$?
for i in "${!pids[@]}"; do
	if ! kill -0 "${pids[$i]}" 2>/dev/null; then
		die "${names[$i]} stopped (exit status $rc); stopping the demo"
	fi
done
die "a part stopped (exit status $rc); stopping the demo"
