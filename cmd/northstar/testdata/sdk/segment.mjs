// Sends a fixed set of calls to a Northstar server with Segment's Node.js SDK
// (@segment/analytics-node), then flushes and exits. It exits with status 1
// when any call was not delivered, and 2 on bad arguments.
//
//   node segment.mjs --host http://127.0.0.1:8080 --key ns_wk_... [--events 40] [--run r1] [--day 2026-03-09]
//
// The host and key may also come from NORTHSTAR_URL and NORTHSTAR_WRITE_KEY.
// Every call has a message ID derived from --run, so running the script twice
// with the same --run sends the same messages again.
//
// The calls, from which the test counts "Song Played" events and people:
//   - anon-1 plays 2 songs, then is identified as user-1, who plays 1 song.
//   - anon-2 plays 1 song and is aliased to user-2, who plays 1 song.
//   - user-9 is identified and plays nothing. user-1 views a page.
//   - user-3 ... user-7 play --events songs in turn.
// That is events + 5 plays by 7 people (user-1 to user-7).
import { Analytics } from '@segment/analytics-node';
import { parseArgs } from 'node:util';

const usage = 'usage: node segment.mjs --host URL --key WRITE_KEY [--events N] [--run ID] [--day YYYY-MM-DD]';

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.NORTHSTAR_URL },
      key: { type: 'string', default: process.env.NORTHSTAR_WRITE_KEY },
      events: { type: 'string', default: '40' },
      run: { type: 'string', default: 'segment' },
      day: { type: 'string', default: new Date(Date.now() - 2 * 86400e3).toISOString().slice(0, 10) },
    },
  }));
} catch (err) {
  console.error(`segment.mjs: ${err.message}\n${usage}`);
  process.exit(2);
}
const count = Number(args.events);
if (!args.host || !args.key || !Number.isInteger(count) || count < 0) {
  console.error(`segment.mjs: --host, --key and a whole --events count are required\n${usage}`);
  process.exit(2);
}

// Every event happens at noon UTC on --day, one second apart, so the server
// puts them all in that day whatever the request latency.
const noon = Date.parse(`${args.day}T12:00:00Z`);
if (Number.isNaN(noon)) {
  console.error(`segment.mjs: --day ${args.day} is not a date (want YYYY-MM-DD)`);
  process.exit(2);
}
let second = 0;
const at = () => new Date(noon + 1000 * second++);
const id = (name) => `${args.run}-${name}`;

const analytics = new Analytics({
  writeKey: args.key,
  host: args.host,
  maxEventsInBatch: 10,
  flushInterval: 200,
  maxRetries: 5,
  httpRequestTimeout: 5000,
});

// A callback gets an error when the SDK gave up on the call after its
// retries. A call whose callback never runs was not delivered either: that
// happens when closeAndFlush times out.
const failures = [];
let calls = 0;
let delivered = 0;
const done = (what) => {
  calls++;
  return (err) => {
    if (err) failures.push(`${what}: ${err.reason?.message ?? err.message ?? err}`);
    else delivered++;
  };
};
analytics.on('error', (err) => failures.push(`error event: ${err.reason?.message ?? err.message ?? err}`));

const play = (who, name) => {
  analytics.track({ ...who, event: 'Song Played', properties: { song: name }, timestamp: at(), messageId: id(name) }, done(`track ${name}`));
};

play({ anonymousId: 'anon-1' }, 'anon-1-a');
play({ anonymousId: 'anon-1' }, 'anon-1-b');
analytics.identify({ userId: 'user-1', anonymousId: 'anon-1', traits: { plan: 'pro' }, timestamp: at(), messageId: id('identify-1') }, done('identify user-1'));
play({ userId: 'user-1' }, 'user-1-a');

play({ anonymousId: 'anon-2' }, 'anon-2-a');
analytics.alias({ userId: 'user-2', previousId: 'anon-2', timestamp: at(), messageId: id('alias-2') }, done('alias anon-2'));
play({ userId: 'user-2' }, 'user-2-a');

analytics.identify({ userId: 'user-9', traits: { plan: 'free' }, timestamp: at(), messageId: id('identify-9') }, done('identify user-9'));
analytics.page({ userId: 'user-1', name: 'Home', timestamp: at(), messageId: id('page-1') }, done('page user-1'));

for (let i = 0; i < count; i++) {
  play({ userId: `user-${3 + (i % 5)}` }, `batch-${i}`);
}

await analytics.closeAndFlush({ timeout: 30000 });

if (failures.length > 0 || delivered !== calls) {
  console.error(`segment.mjs: ${delivered} of ${calls} calls were delivered to ${args.host}; failures:\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`segment.mjs: delivered ${delivered} calls to ${args.host}`);
