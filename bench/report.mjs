// Checks that every peer's answers to Q1 to Q5 equal Northstar's, then
// writes the table of times and ratios into docs/benchmarks.md, in the
// section "## Comparison at SIZE events", replacing that section and keeping
// every other one. When an answer differs, the section lists the
// differences and the script exits with status 1.
//
// Usage: node bench/report.mjs RUN.json DOC.md
// RUN.json is written by bench/compare.sh: {size, events, users, days,
// command, commit, machine: {cores, memory, date, load_average: {start, end}}, northstar: {load_s, ingest_eps,
// peak_rss_kb, queries: <bench queries --json>}, peers: [<peer JSON>]}.

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { firstDifference } from "./answers.mjs";

const [runPath, docPath] = process.argv.slice(2);
if (!runPath || !docPath) {
  console.error("usage: node bench/report.mjs RUN.json DOC.md");
  process.exit(2);
}
const run = JSON.parse(readFileSync(runPath, "utf8"));
const ns = run.northstar.queries;
const workloads = ["Q1", "Q2", "Q3", "Q4", "Q5"];

// A difference is reported in the section and on stderr, and the script
// exits with status 1 after writing, so that the times are kept but the run
// does not pass.
const differences = [];
for (const peer of run.peers) {
  for (const id of workloads) {
    const d = firstDifference(ns.answers[id], peer.answers[id], id);
    if (d) {
      console.error(`${peer.system} differs from Northstar at ${d}`);
      differences.push(`${peer.system} differs from Northstar at ${d}`);
    }
  }
}

const titles = {
  I2: "I2 load the CSV file (s)",
  Q1: "Q1 daily active users, every day",
  Q2: "Q2 rolling 30-day active users, every day",
  Q3: "Q3 monthly retention cohorts",
  Q4: "Q4 funnel in 7 days, by signup week",
  Q5: "Q5 revenue by month, and by month × plan",
  Q6: `Q6 dashboard of ${ns.q6_cards} KPI cards`,
};
const nsTime = Object.fromEntries(ns.workloads.map((w) => [w.id, w.median_ms]));

function ms(v) {
  if (v === undefined || v === null) {
    return "–";
  }
  if (v >= 100) {
    return v.toFixed(0);
  }
  if (v >= 1) {
    return v.toFixed(1);
  }
  return v.toFixed(3);
}

function ratio(peer, mine) {
  if (peer === undefined || peer === null || !mine) {
    return "–";
  }
  const r = peer / mine;
  if (r < 1) {
    // Northstar is slower: "0.048× (21× slower)" reads more plainly than the fraction alone.
    const slower = mine / peer;
    return `${Number(r.toPrecision(2))}× (${slower >= 10 ? slower.toFixed(0) : Number(slower.toPrecision(2))}× slower)`;
  }
  return r >= 10 ? `${r.toFixed(0)}×` : `${Number(r.toPrecision(2))}×`;
}

const head = ["workload", "Northstar", ...run.peers.flatMap((p) => [p.system, "ratio"])];
const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
lines.push(
  `| ${titles.I2} | ${run.northstar.load_s.toFixed(2)} | ${run.peers
    .flatMap((p) => [p.load_s.toFixed(2), ratio(p.load_s, run.northstar.load_s)])
    .join(" | ")} |`,
);
for (const id of [...workloads, "Q6"]) {
  const cells = run.peers.flatMap((p) => [ms(p.times_ms[id]), ratio(p.times_ms[id], nsTime[id])]);
  lines.push(`| ${titles[id]} (ms) | ${ms(nsTime[id])} | ${cells.join(" | ")} |`);
}

const ingest = run.northstar.ingest_eps
  ? `${Math.round(run.northstar.ingest_eps).toLocaleString("en-US")} events/s (\`northstar bench ingest\`, batches of 500 over HTTP on 127.0.0.1)`
  : "not measured: `northstar bench ingest` was not available";

const load = run.machine.load_average;
const loadText = load ? `, load average ${load.start} at the start and ${load.end} at the end` : "";

const section = [
  `## Comparison at ${run.size} events`,
  "",
  `${run.events.toLocaleString("en-US")} events of ${run.users.toLocaleString("en-US")} users over ${run.days} days, from \`northstar gen events\` with seed ${run.seed}, loaded from the same CSV file into every system.`,
  `Measured on ${run.machine.date}${run.commit ? ` at commit ${run.commit}` : ""}: ${run.machine.cores} cores, ${run.machine.memory} of memory${loadText}, by`,
  "",
  "```",
  run.command,
  "```",
  "",
  "Query times are in milliseconds, the median of 3 runs after one warm-up run. Each is measured where the query is sent:",
  "the engine's Go API for Northstar (`northstar bench queries`, with the activity index in memory), `@duckdb/node-api`",
  "in Node for DuckDB, and the whole `clickhouse-client` and `sqlite3` process for ClickHouse and SQLite. The peers'",
  "times thus include starting the client (a few milliseconds). A ratio is the peer's time divided by Northstar's:",
  "above 1 means Northstar is faster.",
  differences.length === 0
    ? `Every peer's answers to Q1–Q5 equal Northstar's (${run.peers.map((p) => p.system).join(", ")}); Q6 runs in Northstar only.`
    : `**Answers differ, so this run fails:** ${differences.join("; ")}. Q6 runs in Northstar only.`,
  "The peers' queries are in bench/duckdb.mjs and bench/compare.sh. Q2 takes each user's distinct active days. It counts",
  "the user from each day up to the earlier of their next active day and 30 days later, and sums +1/−1 deltas per day.",
  "A range join of every day against the 30 days before it is many times slower.",
  `Northstar loaded its activity index in ${ms(ns.index_load_ms)} ms before the timed runs.`,
  "",
  ...lines,
  "",
  ...(ns.q6_warm_ms ? [`- Q6 loaded again with no new events, from the activity index's cache of computed ranges: ${ms(ns.q6_warm_ms)} ms (the table's Q6 empties that cache before each run).`] : []),
  `- I1, ingestion over HTTP: ${ingest}.`,
  `- Peak memory (maximum resident set size) of \`northstar bench queries\` on this database: ${(run.northstar.peak_rss_kb / 1024).toFixed(0)} MiB.`,
  `- Northstar's I2 is \`northstar import csv --kpis bench/kpis.yaml --event-column event\` into a new SQLite database file, which stores the events and builds the activity index${run.northstar.reindexed ? ", followed by `northstar reindex`" : ""}.`,
  "",
].join("\n");

let doc = existsSync(docPath) ? readFileSync(docPath, "utf8") : "# Benchmarks\n";
const heading = `## Comparison at ${run.size} events`;
const at = doc.indexOf(heading);
if (at >= 0) {
  const next = doc.indexOf("\n## ", at + heading.length);
  doc = doc.slice(0, at) + section + (next >= 0 ? "\n" + doc.slice(next + 1) : "");
} else {
  doc = doc.replace(/\n*$/, "\n\n") + section;
}
writeFileSync(docPath, doc);
if (differences.length > 0) {
  console.error(`answers differ; wrote "${heading}" to ${docPath} with the differences`);
  process.exit(1);
}
console.log(`all answers equal; wrote "${heading}" to ${docPath}`);
