// Turns the rows that each database returns for the workloads Q1 to Q5 into
// the JSON shape that `northstar bench queries --json` writes, and compares
// two such answers. Every date is UTC, and weeks start on Monday, as in
// bench/kpis.yaml.
//
// Rows per workload, as arrays of values (text from TSV is fine):
//   Q1  day, users                     (days without events may be missing)
//   Q2  day, users                     (a missing day keeps the day before's value)
//   Q3  cohort month, k, users         (k = 0 is the cohort's size)
//   Q4  week start, entered, completed, in progress
//   Q5  {byMonth: [month, sum], byMonthPlan: [month, plan, sum]}

const DAY_MS = 86400000;

function parseDay(s) {
  return Date.parse(String(s).slice(0, 10) + "T00:00:00Z");
}

function formatDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function monthKey(s) {
  return String(s).slice(0, 7);
}

/** Lists the days from `from` to `to` (YYYY-MM-DD, inclusive). */
export function daysOf(from, to) {
  const days = [];
  for (let t = parseDay(from); t <= parseDay(to); t += DAY_MS) {
    days.push(formatDay(t));
  }
  return days;
}

/** Lists the months (YYYY-MM) from the month of `from` to that of `to`. */
export function monthsOf(from, to) {
  const months = [];
  let [y, m] = from.slice(0, 7).split("-").map(Number);
  const last = to.slice(0, 7);
  for (;;) {
    const key = `${y}-${String(m).padStart(2, "0")}`;
    months.push(key);
    if (key >= last) {
      return months;
    }
    m++;
    if (m > 12) {
      m = 1;
      y++;
    }
  }
}

/** Returns the Monday (YYYY-MM-DD) of the week that contains the day `s`. */
export function mondayOf(s) {
  const t = parseDay(s);
  const weekday = (new Date(t).getUTCDay() + 6) % 7; // Monday = 0
  return formatDay(t - weekday * DAY_MS);
}

function shapeDaily(rows, from, to, carry) {
  const byDay = new Map(rows.map((r) => [String(r[0]).slice(0, 10), Number(r[1])]));
  let last = 0;
  return daysOf(from, to).map((d) => {
    if (byDay.has(d)) {
      last = byDay.get(d);
      return [d, last];
    }
    return [d, carry ? last : 0];
  });
}

// The engine shows cohort month M's column k only when month M + k is over
// by the cut-off, the end of the day `to`.
function shapeCohorts(rows, from, to) {
  const cells = new Map(rows.map((r) => [`${monthKey(r[0])}/${Number(r[1])}`, Number(r[2])]));
  const cutoff = parseDay(to) + DAY_MS;
  return monthsOf(from, to).map((month) => {
    const [y, m] = month.split("-").map(Number);
    const users = [];
    for (let k = 0; Date.UTC(y, m + k, 1) <= cutoff; k++) {
      users.push(cells.get(`${month}/${k}`) ?? 0);
    }
    return [month, cells.get(`${month}/0`) ?? 0, users];
  });
}

function shapeFunnel(rows, from, to) {
  const byWeek = new Map(rows.map((r) => [mondayOf(r[0]), r.slice(1, 4).map(Number)]));
  const weeks = [];
  for (let t = parseDay(mondayOf(from)); t <= parseDay(to); t += 7 * DAY_MS) {
    const w = formatDay(t);
    weeks.push([w, ...(byWeek.get(w) ?? [0, 0, 0])]);
  }
  return weeks;
}

function byMonthThenPlan(a, b) {
  const month = a[0].localeCompare(b[0], "en");
  if (month !== 0) {
    return month;
  }
  if (a[1] === b[1]) {
    return 0;
  }
  return a[1] < b[1] ? -1 : 1;
}

const cents = (v) => Math.round(Number(v) * 100) / 100;

function shapeRevenue({ byMonth, byMonthPlan }, from, to) {
  const sums = new Map(byMonth.map((r) => [monthKey(r[0]), cents(r[1])]));
  const perPlan = byMonthPlan
    .map((r) => [monthKey(r[0]), r[1] === null || r[1] === "" || r[1] === "\\N" ? "(none)" : String(r[1]), cents(r[2])])
    .filter((r) => r[2] !== 0)
    .sort(byMonthThenPlan);
  return {
    by_month: monthsOf(from, to).map((m) => [m, sums.get(m) ?? 0]),
    by_month_plan: perPlan,
  };
}

/** Shapes one workload's rows (see the file comment) over the days from..to. */
export function shape(workload, rows, from, to) {
  switch (workload) {
    case "Q1":
      return shapeDaily(rows, from, to, false);
    case "Q2":
      return shapeDaily(rows, from, to, true);
    case "Q3":
      return shapeCohorts(rows, from, to);
    case "Q4":
      return shapeFunnel(rows, from, to);
    case "Q5":
      return shapeRevenue(rows, from, to);
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}

/**
 * Compares two answers and returns the first difference as text, or null
 * when they are equal. Numbers may differ by 1e-9 of their size, because
 * sums of money added up in another order can differ in the last bits.
 */
export function firstDifference(a, b, path = "") {
  if (typeof a === "number" && typeof b === "number") {
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)) ? null : `${path}: ${a} != ${b}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      return `${path}: ${a.length} items != ${b.length} items`;
    }
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) {
        return d;
      }
    }
    return null;
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(a[k], b[k], `${path}.${k}`);
      if (d) {
        return d;
      }
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`;
}

/** Returns the median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}
