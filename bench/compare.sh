#!/usr/bin/env bash
# Runs the benchmark workloads side by side in Northstar, DuckDB, ClickHouse
# and SQLite on the same generated events, checks that every answer equals
# Northstar's, and writes the times and ratios into docs/benchmarks.md.
#
# Usage: bench/compare.sh [--size 1m|10m|20m] [--keep]
#   1m   1,000,000 events of 50,000 users (the default, a few minutes)
#   10m  10,000,000 events of 500,000 users
#   20m  20,000,000 events of the same 500,000 users, to show how times grow
#        with events when users and days stay the same
#   --keep  keep the working folder (data and databases) instead of removing it
#
# It installs what is missing: clickhouse-server, clickhouse-client and
# sqlite3 from Debian (as root), and @duckdb/node-api with npm ci. Every
# server it starts listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail

size=1m
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) size="${2:-}"; shift 2 ;;
    --size=*) size="${1#--size=}"; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$size" in
  1m) events=1000000; users=50000 ;;
  10m) events=10000000; users=500000 ;;
  20m) events=20000000; users=500000 ;;
  *) echo "compare.sh: --size must be 1m, 10m or 20m, not '$size'" >&2; exit 2 ;;
esac
days=365
seed=1
# I1 sends at most this many events of the file: enough for a steady rate,
# and bounded so that a slow endpoint cannot stretch the run by many minutes.
ingest_limit=1000000
command_line="bench/compare.sh --size $size"

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# The commit measured, marked "+changes" when the work tree's code differs
# from it (the docs and earlier runs' results that this script writes aside).
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$commit" != unknown ]] && ! git diff --quiet HEAD -- . ':!docs' ':!bench/last-run-*.json' 2>/dev/null; then
  commit="$commit+changes"
fi
# The 1-minute load average when the run starts and ends, so that a reader
# can tell whether other work shared the machine.
load_start="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown)"
work="$(mktemp -d /tmp/northstar-bench.XXXXXX)"
ch_pid=""
ns_pid=""

cleanup() {
  if [[ -n "$ns_pid" ]] && kill -0 "$ns_pid" 2>/dev/null; then
    kill "$ns_pid"
    wait "$ns_pid" 2>/dev/null || true
  fi
  if [[ -n "$ch_pid" ]] && kill -0 "$ch_pid" 2>/dev/null; then
    kill "$ch_pid"
    wait "$ch_pid" 2>/dev/null || true
  fi
  if [[ "$keep" == 1 ]]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# now_ms prints the current time in milliseconds, with a fraction.
now_ms() { echo "$(date +%s%N) / 1000000" | bc -l; }

# free_port prints a TCP port that is free on 127.0.0.1.
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# timed ID RUNS WARMUP FUNCTION runs FUNCTION WARMUP times untimed, then RUNS
# times, and appends "ID ms ms ms" to $times_file.
timed() {
  local id="$1" runs="$2" warmup="$3" fn="$4" line="$1" start end
  for ((i = 0; i < warmup; i++)); do "$fn"; done
  for ((i = 0; i < runs; i++)); do
    start="$(now_ms)"
    "$fn"
    end="$(now_ms)"
    line+=" $(echo "$end - $start" | bc -l)"
  done
  echo "$line" >> "$times_file"
}

# --- install -----------------------------------------------------------------

if ! command -v clickhouse-server >/dev/null || ! command -v clickhouse-client >/dev/null || ! command -v sqlite3 >/dev/null; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "compare.sh: clickhouse-server, clickhouse-client and sqlite3 are needed; run as root, or apt-get install them" >&2
    exit 1
  fi
  log "installing clickhouse-server, clickhouse-client and sqlite3"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client sqlite3 >/dev/null
fi
for tool in node npm go bc; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is needed and missing" >&2; exit 1; }
done
if [[ ! -d node_modules/@duckdb/node-api ]]; then
  log "installing @duckdb/node-api (npm ci)"
  npm ci --no-audit --no-fund >/dev/null
fi
log "building bin/northstar"
go build -o bin/northstar ./cmd/northstar
ns="$root/bin/northstar"

# --- data --------------------------------------------------------------------

csv="$work/events.csv"
log "generating $events events of $users users over $days days"
"$ns" gen events --events "$events" --users "$users" --days "$days" --seed "$seed" --out "$csv" >&2

# --- Northstar ---------------------------------------------------------------

log "Northstar: import (I2)"
start="$(now_ms)"
"$ns" import csv "$csv" --db "$work/northstar.db" --kpis bench/kpis.yaml --event-column event --time timestamp --user distinct_id \
  --prop plan=plan --prop country=country --prop amount=amount:number >&2
ns_load_ms="$(echo "$(now_ms) - $start" | bc -l)"

log "Northstar: queries Q1-Q6"
/usr/bin/time -v "$ns" bench queries --db "$work/northstar.db" --kpis bench/kpis.yaml --json "$work/northstar.json" \
  2> "$work/northstar-time.txt" >&2 || { cat "$work/northstar-time.txt" >&2; exit 1; }
ns_rss_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/northstar-time.txt")"
from="$(node -p "require('$work/northstar.json').from")"
to="$(node -p "require('$work/northstar.json').to")"
cutoff_day="$(date -u -d "$to + 1 day" +%F)"
cutoff_unix="$(date -u -d "$cutoff_day" +%s)"

ingest_eps=null
if "$ns" bench --help | grep -q '^  ingest '; then
  log "Northstar: HTTP ingestion (I1)"
  ndjson="$work/events.ndjson"
  ingest_db="$work/ingest.db"
  "$ns" gen events --events "$ingest_limit" --users "$users" --days "$days" --seed "$seed" --format ndjson --out "$ndjson" >&2
  key="$("$ns" keys create --name bench --db "$ingest_db" | grep -o 'ns_wk_[A-Za-z0-9]*')"
  ns_port="$(free_port)"
  "$ns" serve --db "$ingest_db" --addr "127.0.0.1:$ns_port" --kpis bench/kpis.yaml > "$work/serve.log" 2>&1 &
  ns_pid=$!
  for ((i = 0; i < 60; i++)); do
    curl -fs "http://127.0.0.1:$ns_port/healthz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$ns" bench ingest --url "http://127.0.0.1:$ns_port" --key "$key" --file "$ndjson" --batch 500 --limit "$ingest_limit" | tee "$work/ingest.txt" >&2
  ingest_eps="$(grep -o '[0-9.]* events/s' "$work/ingest.txt" | head -1 | cut -d' ' -f1)"
  kill "$ns_pid"
  wait "$ns_pid" 2>/dev/null || true
  ns_pid=""
  rm -f "$ndjson" "$ingest_db"*
else
  log "Northstar: northstar bench ingest is not available, so I1 is not measured"
fi

# --- DuckDB --------------------------------------------------------------------

log "DuckDB: load and Q1-Q5"
node bench/duckdb.mjs "$csv" "$from" "$to" > "$work/duckdb.json"

# --- ClickHouse ----------------------------------------------------------------

ch_dir="$work/clickhouse"
mkdir -p "$ch_dir"/{data,tmp,log,user_files}
ch_port="$(free_port)"
cat > "$ch_dir/users.xml" <<'EOF'
<yandex>
  <profiles><default><max_memory_usage>10000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
EOF
cat > "$ch_dir/config.xml" <<EOF
<yandex>
  <logger><level>warning</level><log>$ch_dir/log/server.log</log><errorlog>$ch_dir/log/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$ch_port</tcp_port>
  <path>$ch_dir/data/</path>
  <tmp_path>$ch_dir/tmp/</tmp_path>
  <user_files_path>$ch_dir/user_files/</user_files_path>
  <users_config>$ch_dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>1073741824</mark_cache_size>
</yandex>
EOF
log "ClickHouse: starting clickhouse-server on 127.0.0.1:$ch_port"
(cd "$ch_dir" && exec clickhouse-server --config-file="$ch_dir/config.xml" > "$ch_dir/log/stdout.log" 2>&1) &
ch_pid=$!
ch() { clickhouse-client --host 127.0.0.1 --port "$ch_port" "$@"; }
for ((i = 0; i < 60; i++)); do
  ch -q "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.5
done
ch -q "SELECT version()" >/dev/null || { echo "compare.sh: clickhouse-server did not start; see $ch_dir/log" >&2; exit 1; }
ch_version="$(ch -q "SELECT version()")"

ch -q "CREATE TABLE events (event String, user_id String, ts DateTime, plan String, country String, amount Nullable(Float64))
       ENGINE = MergeTree ORDER BY (user_id, ts)"
log "ClickHouse: load"
start="$(now_ms)"
ch --date_time_input_format=best_effort \
  -q "INSERT INTO events (event, user_id, ts, plan, country, amount) FORMAT CSVWithNames" < "$csv"
ch_load_ms="$(echo "$(now_ms) - $start" | bc -l)"

ch_cut="toDateTime('$cutoff_day 00:00:00')"
ch_out="$work/clickhouse-rows"
mkdir -p "$ch_out"
ch_q1() { ch -q "SELECT toDate(ts) AS d, uniqExact(user_id) FROM events GROUP BY d" > "$ch_out/Q1.tsv"; }
# The stretches of Q2 (see bench/duckdb.mjs) from each user's sorted active
# days; 18.16 has no window functions, so arrays stand in for lead().
ch_q2() {
  ch -q "
    SELECT d, runningAccumulate(s) FROM (
      SELECT d, sumState(c) AS s FROM (
        SELECT arrayJoin(arrayConcat(arrayMap(x -> (x, toInt8(1)), days), arrayMap(x -> (x, toInt8(-1)), ends))) AS t,
               t.1 AS d, t.2 AS c
        FROM (
          SELECT arraySort(groupUniqArray(toDate(ts))) AS days,
                 arrayMap(i -> if(i < length(days), least(days[i + 1], days[i] + 30), days[i] + 30), arrayEnumerate(days)) AS ends
          FROM events GROUP BY user_id))
      GROUP BY d ORDER BY d)" > "$ch_out/Q2.tsv"
}
ch_q3() {
  ch -q "
    SELECT toStartOfMonth(first) AS cm, m - toRelativeMonthNum(first) AS k, count()
    FROM (
      SELECT minIf(ts, event = 'signup') AS first, groupUniqArray(toRelativeMonthNum(ts)) AS months
      FROM events WHERE ts < $ch_cut GROUP BY user_id HAVING countIf(event = 'signup') > 0)
    ARRAY JOIN months AS m
    WHERE m >= toRelativeMonthNum(first)
    GROUP BY cm, k" > "$ch_out/Q3.tsv"
}
# Q4 counts at day resolution, as Northstar does (see bench/duckdb.mjs).
ch_q4() {
  ch -q "
    SELECT toMonday(d0) AS w, count(), sum(done), sum(NOT done AND d0 + 7 > toDate($ch_cut))
    FROM (
      SELECT d0,
             arrayFirst(x -> x >= d0 AND x < d0 + 7, acts) AS d1,
             arrayExists(x -> x >= d0 AND x < d0 + 7, acts)
               AND arrayExists(x -> x >= d1 AND x < d0 + 7, buys) AS done
      FROM (
        SELECT arraySort(groupArrayIf(toDate(ts), event = 'signup')) AS signups,
               arraySort(groupArrayIf(toDate(ts), event = 'activate')) AS acts,
               groupArrayIf(toDate(ts), event = 'purchase') AS buys,
               arrayFilter((x, i) -> i = 1 OR toMonday(x) != toMonday(signups[i - 1]), signups, arrayEnumerate(signups)) AS entries
        FROM events WHERE event IN ('signup', 'activate', 'purchase') AND ts < $ch_cut GROUP BY user_id)
      ARRAY JOIN entries AS d0)
    GROUP BY w" > "$ch_out/Q4.tsv"
}
ch_q5() {
  ch -q "SELECT toStartOfMonth(ts) AS m, sum(amount) FROM events WHERE event = 'purchase' GROUP BY m" > "$ch_out/Q5a.tsv"
  ch -q "SELECT toStartOfMonth(ts) AS m, plan, sum(amount) FROM events WHERE event = 'purchase' GROUP BY m, plan" > "$ch_out/Q5b.tsv"
}
times_file="$ch_out/times.txt"
for id in 1 2 3 4 5; do
  log "ClickHouse: Q$id"
  timed "Q$id" 3 1 "ch_q$id"
done
node bench/peer_answers.mjs "ClickHouse $ch_version" "$ch_out" "$from" "$to" "$ch_load_ms" > "$work/clickhouse.json"
kill "$ch_pid"
wait "$ch_pid" 2>/dev/null || true
ch_pid=""
rm -rf "$ch_dir"

# --- SQLite ------------------------------------------------------------------

sq_db="$work/sqlite.db"
sq() { sqlite3 -bail -batch -noheader -tabs "$sq_db" "$@"; }
log "SQLite: load"
start="$(now_ms)"
sqlite3 -bail -batch "$sq_db" <<EOF
CREATE TABLE raw (event TEXT, distinct_id TEXT, timestamp TEXT, plan TEXT, country TEXT, amount TEXT);
.import --csv --skip 1 $csv raw
CREATE TABLE events AS
  SELECT event, distinct_id AS user_id, unixepoch(timestamp) AS ts, nullif(plan, '') AS plan,
         nullif(country, '') AS country, CAST(nullif(amount, '') AS REAL) AS amount
  FROM raw;
DROP TABLE raw;
CREATE INDEX events_ts ON events (ts);
VACUUM;
EOF
sq_load_ms="$(echo "$(now_ms) - $start" | bc -l)"

sq_out="$work/sqlite-rows"
mkdir -p "$sq_out"
sq_day="date(d * 86400, 'unixepoch')"
sq_q1() { sq "SELECT $sq_day, count(DISTINCT user_id) FROM (SELECT ts / 86400 AS d, user_id FROM events) GROUP BY d" > "$sq_out/Q1.tsv"; }
sq_q2() {
  sq "
    WITH ud AS (SELECT DISTINCT user_id, ts / 86400 AS d FROM events),
    s AS (SELECT d, min(coalesce(lead(d) OVER (PARTITION BY user_id ORDER BY d), d + 30), d + 30) AS e FROM ud),
    deltas AS (SELECT d, 1 AS c FROM s UNION ALL SELECT e, -1 FROM s),
    per AS (SELECT d, sum(c) AS c FROM deltas GROUP BY d)
    SELECT $sq_day, sum(c) OVER (ORDER BY d) FROM per ORDER BY d" > "$sq_out/Q2.tsv"
}
sq_q3() {
  sq "
    WITH c AS (SELECT user_id, strftime('%Y-%m', min(ts), 'unixepoch') AS cm FROM events
               WHERE event = 'signup' AND ts < $cutoff_unix GROUP BY user_id),
    a AS (SELECT DISTINCT user_id, strftime('%Y-%m', ts, 'unixepoch') AS am FROM events WHERE ts < $cutoff_unix)
    SELECT cm, (substr(am, 1, 4) * 12 + substr(am, 6, 2)) - (substr(cm, 1, 4) * 12 + substr(cm, 6, 2)) AS k, count(*)
    FROM c JOIN a USING (user_id) WHERE am >= cm GROUP BY cm, k" > "$sq_out/Q3.tsv"
}
# Weeks start on Monday: 1970-01-01 was a Thursday, so (day + 3) / 7 numbers
# Monday-to-Sunday weeks.
sq_q4() {
  sq "
    WITH s AS (SELECT user_id, min(ts) / 86400 AS d0 FROM events WHERE event = 'signup' AND ts < $cutoff_unix
               GROUP BY user_id, (ts / 86400 + 3) / 7),
    acts AS MATERIALIZED (SELECT user_id, ts / 86400 AS d FROM events WHERE event = 'activate' AND ts < $cutoff_unix),
    buys AS MATERIALIZED (SELECT user_id, ts / 86400 AS d FROM events WHERE event = 'purchase' AND ts < $cutoff_unix),
    a AS (SELECT s.user_id, s.d0, min(x.d) AS d1 FROM s LEFT JOIN acts x
          ON x.user_id = s.user_id AND x.d >= s.d0 AND x.d < s.d0 + 7 GROUP BY s.user_id, s.d0),
    p AS (SELECT a.d0, count(b.d) > 0 AS done FROM a LEFT JOIN buys b
          ON b.user_id = a.user_id AND b.d >= a.d1 AND b.d < a.d0 + 7 GROUP BY a.user_id, a.d0)
    SELECT date((d0 - (d0 + 3) % 7) * 86400, 'unixepoch') AS w, count(*), sum(done),
           sum(NOT done AND (d0 + 7) * 86400 > $cutoff_unix)
    FROM p GROUP BY w" > "$sq_out/Q4.tsv"
}
sq_q5() {
  sq "SELECT strftime('%Y-%m', ts, 'unixepoch') AS m, sum(amount) FROM events WHERE event = 'purchase' GROUP BY m" > "$sq_out/Q5a.tsv"
  sq "SELECT strftime('%Y-%m', ts, 'unixepoch') AS m, plan, sum(amount) FROM events WHERE event = 'purchase' GROUP BY m, plan" > "$sq_out/Q5b.tsv"
}
times_file="$sq_out/times.txt"
for id in 1 2 3 4 5; do
  log "SQLite: Q$id"
  # No warm-up run: the load has just read every page, and a SQLite Q2 at
  # 10M events takes most of a minute.
  timed "Q$id" 3 0 "sq_q$id"
done
node bench/peer_answers.mjs "SQLite $(sqlite3 --version | cut -d' ' -f1)" "$sq_out" "$from" "$to" "$sq_load_ms" > "$work/sqlite.json"

# --- report ------------------------------------------------------------------

node -e '
  const fs = require("fs");
  const [work, size, events, users, days, seed, command, cores, memory, date, loadMs, rssKb, eps, commit, loadStart, loadEnd] = process.argv.slice(1);
  const read = (f) => JSON.parse(fs.readFileSync(`${work}/${f}`, "utf8"));
  const run = {
    size, events: Number(events), users: Number(users), days: Number(days), seed: Number(seed), command, commit,
    machine: { cores: Number(cores), memory, date, load_average: { start: loadStart, end: loadEnd } },
    northstar: { load_s: Number(loadMs) / 1000, peak_rss_kb: Number(rssKb), ingest_eps: eps === "null" ? null : Number(eps), queries: read("northstar.json") },
    peers: [read("duckdb.json"), read("clickhouse.json"), read("sqlite.json")],
  };
  fs.writeFileSync(`${work}/run.json`, JSON.stringify(run, null, 1));
' "$work" "$size" "$events" "$users" "$days" "$seed" "$command_line" "$(nproc)" \
  "$(free -h | awk '/^Mem:/ {print $2}')" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$ns_load_ms" "$ns_rss_kb" "$ingest_eps" "$commit" \
  "$load_start" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown)"
cp "$work/run.json" "bench/last-run-$size.json"
node bench/report.mjs "$work/run.json" docs/benchmarks.md
