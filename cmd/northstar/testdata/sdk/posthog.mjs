// Sends a fixed set of calls to a Northstar server with PostHog's Node.js SDK
// (posthog-node), then flushes and exits. It exits with status 1 when any
// message was not delivered, and 2 on bad arguments.
//
//   node posthog.mjs --host http://127.0.0.1:8080 --key ns_wk_... [--events 40] [--run r1] [--day 2026-03-09]
//
// The host and key may also come from NORTHSTAR_URL and NORTHSTAR_WRITE_KEY.
// Every captured event has a UUID derived from --run, so running the script
// twice with the same --run sends the same events again.
//
// The calls, from which the test counts "Song Played" events and people:
//   - anon-1 plays 2 songs, then is identified as user-1 (with
//     $anon_distinct_id anon-1), who plays 1 song.
//   - anon-2 plays 1 song and is aliased to user-2, who plays 1 song.
//   - user-9 is identified and plays nothing. user-1 views a page ($pageview).
//   - user-3 ... user-7 play --events songs in turn.
// That is events + 5 plays by 7 people (user-1 to user-7).
import { PostHog } from 'posthog-node';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';

const usage = 'usage: node posthog.mjs --host URL --key WRITE_KEY [--events N] [--run ID] [--day YYYY-MM-DD]';

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.NORTHSTAR_URL },
      key: { type: 'string', default: process.env.NORTHSTAR_WRITE_KEY },
      events: { type: 'string', default: '40' },
      run: { type: 'string', default: 'posthog' },
      day: { type: 'string', default: new Date(Date.now() - 2 * 86400e3).toISOString().slice(0, 10) },
    },
  }));
} catch (err) {
  console.error(`posthog.mjs: ${err.message}\n${usage}`);
  process.exit(2);
}
const count = Number(args.events);
if (!args.host || !args.key || !Number.isInteger(count) || count < 0) {
  console.error(`posthog.mjs: --host, --key and a whole --events count are required\n${usage}`);
  process.exit(2);
}

// Every event happens at noon UTC on --day, one second apart, so the server
// puts them all in that day whatever the request latency.
const noon = Date.parse(`${args.day}T12:00:00Z`);
if (Number.isNaN(noon)) {
  console.error(`posthog.mjs: --day ${args.day} is not a date (want YYYY-MM-DD)`);
  process.exit(2);
}
let second = 0;
const at = () => new Date(noon + 1000 * second++);

// uuidOf returns a UUID (version 8, name-based) for an event of this run.
// posthog-node replaces an id that is not a UUID with a random one.
const uuidOf = (name) => {
  const h = createHash('sha256').update(`${args.run}/${name}`).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

const posthog = new PostHog(args.key, {
  host: args.host,
  flushAt: 10,
  maxBatchSize: 10,
  flushInterval: 200,
  fetchRetryCount: 5,
  fetchRetryDelay: 200,
  requestTimeout: 5000,
});

// posthog-node emits 'error' when a request fails for good, after its
// retries, and 'flush' with the messages of each delivered request. A
// message in neither was lost, as when shutdown times out.
const failures = [];
let delivered = 0;
posthog.on('error', (err) => failures.push(err?.message ?? String(err)));
posthog.on('flush', (messages) => {
  delivered += messages.length;
});

const play = (distinctId, name) => {
  posthog.capture({ distinctId, event: 'Song Played', properties: { song: name }, timestamp: at(), uuid: uuidOf(name) });
};

play('anon-1', 'anon-1-a');
play('anon-1', 'anon-1-b');
posthog.identify({ distinctId: 'user-1', properties: { $anon_distinct_id: 'anon-1', plan: 'pro' } });
play('user-1', 'user-1-a');

play('anon-2', 'anon-2-a');
posthog.alias({ distinctId: 'user-2', alias: 'anon-2' });
play('user-2', 'user-2-a');

posthog.identify({ distinctId: 'user-9', properties: { plan: 'free' } });
posthog.capture({ distinctId: 'user-1', event: '$pageview', properties: { $current_url: 'http://127.0.0.1/home' }, timestamp: at(), uuid: uuidOf('pageview-1') });

for (let i = 0; i < count; i++) {
  play(`user-${3 + (i % 5)}`, `batch-${i}`);
}

await posthog.shutdown(30000);

// 6 captures, 2 identify calls and 1 alias besides the batch.
const calls = count + 9;
if (failures.length > 0 || delivered !== calls) {
  console.error(`posthog.mjs: ${delivered} of ${calls} messages were delivered to ${args.host}; failures:\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`posthog.mjs: delivered ${delivered} messages to ${args.host}`);
