// Turns the TSV rows and times that bench/compare.sh saved for one peer
// (ClickHouse or SQLite) into the JSON that bench/report.mjs reads.
//
// Usage: node bench/peer_answers.mjs SYSTEM DIR FROM TO LOAD_MS
// DIR contains Q1.tsv to Q4.tsv, Q5a.tsv (month, sum), Q5b.tsv (month, plan,
// sum), and times.txt with lines "Q1 ms ms ms".

import { readFileSync } from "node:fs";
import { median, shape } from "./answers.mjs";

const [system, dir, from, to, loadMs] = process.argv.slice(2);
if (!system || !dir || !from || !to || !loadMs) {
  console.error("usage: node bench/peer_answers.mjs SYSTEM DIR FROM TO LOAD_MS");
  process.exit(2);
}

// readRows reads a TSV file without a header. The peers write no quotes or
// escapes in these columns: dates, numbers and plan names.
function readRows(name) {
  return readFileSync(`${dir}/${name}`, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("\t"));
}

const result = { system, load_s: Number(loadMs) / 1000, times_ms: {}, runs_ms: {}, answers: {} };
for (const line of readFileSync(`${dir}/times.txt`, "utf8").trim().split("\n")) {
  const [id, ...runs] = line.trim().split(/\s+/);
  result.runs_ms[id] = runs.map(Number);
  result.times_ms[id] = median(runs.map(Number));
}
for (const id of ["Q1", "Q2", "Q3", "Q4"]) {
  result.answers[id] = shape(id, readRows(`${id}.tsv`), from, to);
}
result.answers.Q5 = shape("Q5", { byMonth: readRows("Q5a.tsv"), byMonthPlan: readRows("Q5b.tsv") }, from, to);
process.stdout.write(JSON.stringify(result) + "\n");
