// Loads the benchmark's events CSV into an in-memory DuckDB database and runs
// the workloads Q1 to Q5, each once to warm up and then 3 times, with the
// fastest query forms we know for DuckDB. Writes the load time, the median
// times and the answers (in the shape of `northstar bench queries --json`)
// as JSON to standard output.
//
// Usage: node bench/duckdb.mjs EVENTS.csv FROM TO
// FROM and TO are the first and last day (YYYY-MM-DD) of the range that
// Northstar answered over; TO also sets the cut-off, the end of that day.

import { DuckDBInstance, version } from "@duckdb/node-api";
import { median, shape } from "./answers.mjs";

const [file, from, to] = process.argv.slice(2);
if (!file || !/^\d{4}-\d{2}-\d{2}$/.test(from ?? "") || !/^\d{4}-\d{2}-\d{2}$/.test(to ?? "")) {
  console.error("usage: node bench/duckdb.mjs EVENTS.csv FROM TO (dates as YYYY-MM-DD)");
  process.exit(2);
}
const cutoff = `(DATE '${to}' + INTERVAL 1 DAY)`;

const queries = {
  Q1: [`SELECT strftime(ts::DATE, '%Y-%m-%d'), count(DISTINCT user_id)::INTEGER FROM events GROUP BY 1`],

  // A user counts as active from each active day up to the earlier of their
  // next active day and 30 days later: +1 at the start of each such stretch,
  // -1 at its end, and a running sum of the deltas per day.
  Q2: [`
    WITH ud AS (SELECT DISTINCT user_id, ts::DATE AS d FROM events),
    s AS (SELECT d, least(coalesce(lead(d) OVER (PARTITION BY user_id ORDER BY d), d + 30), d + 30) AS e FROM ud),
    deltas AS (SELECT d, 1 AS c FROM s UNION ALL SELECT e, -1 FROM s)
    SELECT strftime(d, '%Y-%m-%d'), (sum(sum(c)) OVER (ORDER BY d))::INTEGER FROM deltas GROUP BY d ORDER BY d`],

  Q3: [`
    WITH c AS (SELECT user_id, date_trunc('month', min(ts)) AS cm FROM events
               WHERE event = 'signup' AND ts < ${cutoff} GROUP BY user_id),
    a AS (SELECT DISTINCT user_id, date_trunc('month', ts) AS am FROM events WHERE ts < ${cutoff})
    SELECT strftime(cm, '%Y-%m'), datediff('month', cm, am)::INTEGER, count(*)::INTEGER
    FROM c JOIN a USING (user_id) WHERE am >= cm GROUP BY 1, 2`],

  // Day resolution, as Northstar counts funnels. The entry is each user's
  // first signup of a week, on day d0. Activate counts on days d0 to d0+6,
  // and purchase on the day of the first such activate or later, up to d0+6.
  Q4: [`
    WITH s AS (SELECT user_id, min(ts)::DATE AS d0 FROM events WHERE event = 'signup' AND ts < ${cutoff}
               GROUP BY user_id, date_trunc('week', ts)),
    a AS (SELECT s.user_id, s.d0, min(e.ts::DATE) AS d1 FROM s LEFT JOIN events e
          ON e.user_id = s.user_id AND e.event = 'activate' AND e.ts::DATE >= s.d0
          AND e.ts::DATE < s.d0 + 7 AND e.ts < ${cutoff}
          GROUP BY s.user_id, s.d0),
    p AS (SELECT a.user_id, a.d0, count(e.ts) > 0 AS done FROM a LEFT JOIN events e
          ON e.user_id = a.user_id AND e.event = 'purchase' AND e.ts::DATE >= a.d1
          AND e.ts::DATE < a.d0 + 7 AND e.ts < ${cutoff}
          GROUP BY a.user_id, a.d0)
    SELECT strftime(date_trunc('week', d0), '%Y-%m-%d'), count(*)::INTEGER,
      (count(*) FILTER (WHERE done))::INTEGER,
      (count(*) FILTER (WHERE NOT done AND d0 + 7 > ${cutoff}))::INTEGER
    FROM p GROUP BY 1`],

  Q5: [
    `SELECT strftime(ts, '%Y-%m'), sum(amount)::DOUBLE FROM events WHERE event = 'purchase' GROUP BY 1`,
    `SELECT strftime(ts, '%Y-%m'), plan, sum(amount)::DOUBLE FROM events WHERE event = 'purchase' GROUP BY 1, 2`,
  ],
};

const instance = await DuckDBInstance.create(":memory:");
const conn = await instance.connect();
await conn.run("SET TimeZone = 'UTC'");

let start = performance.now();
await conn.run(`
  CREATE TABLE events AS
  SELECT event, distinct_id AS user_id, timestamp::TIMESTAMP AS ts, plan, country, amount
  FROM read_csv('${file.replaceAll("'", "''")}', header = true, columns = {
    'event': 'VARCHAR', 'distinct_id': 'VARCHAR', 'timestamp': 'TIMESTAMPTZ',
    'plan': 'VARCHAR', 'country': 'VARCHAR', 'amount': 'DOUBLE'})`);
const loadSeconds = (performance.now() - start) / 1000;

async function runAll(sqls) {
  const results = [];
  for (const sql of sqls) {
    const reader = await conn.runAndReadAll(sql);
    results.push(reader.getRows());
  }
  return results;
}

const result = { system: `DuckDB ${version()}`, load_s: loadSeconds, times_ms: {}, runs_ms: {}, answers: {} };
for (const [id, sqls] of Object.entries(queries)) {
  let rows = await runAll(sqls); // warm-up
  const runs = [];
  for (let i = 0; i < 3; i++) {
    start = performance.now();
    rows = await runAll(sqls);
    runs.push(performance.now() - start);
  }
  result.runs_ms[id] = runs;
  result.times_ms[id] = median(runs);
  const input = id === "Q5" ? { byMonth: rows[0], byMonthPlan: rows[1] } : rows[0];
  result.answers[id] = shape(id, input, from, to);
}
process.stdout.write(JSON.stringify(result) + "\n");
