// Split deployment: every tier a process of its own, gRPC between them, as on Kubernetes:
// client → voxgate endpoint → voxgate router → voxgate pool → voxgate-engine-pocketsphinx.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { BIN, LoggingProcess, halfSentStream, librivoxClips, streamFile, tempDir, sleep, waitReady, withTimeout, wordErrorRate } from './harness.mjs';

// Measured through the split tiers as through the all-in-one server (http_api.test.mjs): 0.324.
const LIBRIVOX_WER_BOUND = 0.33;

const dir = tempDir('voxgate-split-');
const tiers = {};

function tierConfig(name, engines, extra) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `
pools:
  - name: ${name}-upstream
    languages: [en-US]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines: [${engines}]
    ${extra}
`);
  return file;
}

async function startTier(role, upstream, engines = `{address: "${upstream}"}`, name = role, extra = '') {
  const p = new LoggingProcess();
  const ready = await p.spawn([`${BIN}/voxgate`, role, '--config', tierConfig(name, engines, extra), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
    'voxgate listening');
  p.listen = ready.listen;
  p.adminUrl = `http://${ready.admin}`;
  await waitReady(p.adminUrl);
  return p;
}

before(async () => {
  tiers.engine = new LoggingProcess();
  const engine = await tiers.engine.spawn([`${BIN}/voxgate-engine-pocketsphinx`, '--listen', '127.0.0.1:0', '--capacity', '2',
    '--admin', '127.0.0.1:0'], 'engine serving');
  tiers.engine.listen = engine.listen;
  tiers.engine.adminUrl = `http://${engine.admin}`;
  tiers.pool = await startTier('pool', engine.listen);
  tiers.router = await startTier('router', tiers.pool.listen);
  tiers.endpoint = await startTier('endpoint', tiers.router.listen);
});

after(async () => {
  for (const name of ['endpoint', 'router', 'pool', 'engine']) if (tiers[name]) await tiers[name].stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a stream goes through every tier and comes back with the same words as all-in-one', async () => {
  let errors = 0, words = 0;
  for (const clip of librivoxClips()) {
    const r = await streamFile(WebSocket, `ws://${tiers.endpoint.listen}/v1/recognize`, clip.file);
    assert.equal(r.code, 1000, r.reason);
    errors += wordErrorRate(clip.text, r.text) * clip.text.split(' ').length;
    words += clip.text.split(' ').length;
  }
  console.log(`librivox WER through four processes: ${(errors / words).toFixed(3)}`);
  assert.ok(errors / words < LIBRIVOX_WER_BOUND);
  const models = await (await fetch(`http://${tiers.endpoint.listen}/v1/models`)).json();
  assert.ok(JSON.stringify(models).includes('en-US'), JSON.stringify(models));
});

test('every tier serves healthz, readyz, metrics and gRPC health; voxctl status shows each pool', async () => {
  for (const name of ['endpoint', 'router', 'pool']) {
    const admin = tiers[name].adminUrl;
    assert.equal((await fetch(`${admin}/healthz`)).status, 200, name);
    assert.equal((await fetch(`${admin}/readyz`)).status, 200, name);
    assert.match(await (await fetch(`${admin}/metrics`)).text(), /voxgate_pool_healthy_engines\{pool="\w+-upstream"\} 1/, name);
    const table = execFileSync(`${BIN}/voxctl`, ['status', '--admin', admin]).toString();
    assert.match(table, new RegExp(`^${name}-upstream\\s+\\S+\\s+healthy\\s+\\d+/\\d+\\s+ok$`, 'm'), table);
  }
});

test('an engine serves /metrics, /healthz and /readyz on its --admin listener', async () => {
  const admin = tiers.engine.adminUrl;
  assert.equal((await fetch(`${admin}/healthz`)).status, 200);
  assert.equal((await fetch(`${admin}/readyz`)).status, 200);
  const metrics = await fetch(`${admin}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await metrics.text();
  assert.match(text, /^voxgate_log_lines_dropped_total 0$/m);
  assert.match(text, /^voxgate_engine_capacity 2$/m, 'the --capacity the engine was started with');
  assert.match(text, /^voxgate_engine_active_streams 0$/m);
  assert.equal((await fetch(`${admin}/nothing`)).status, 404);
  const post = await fetch(`${admin}/metrics`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
});

test('a pool finds its engines by DNS name (as a Kubernetes headless Service lists them)', async () => {
  const port = tiers.engine.listen.split(':').pop();
  const pool = await startTier('pool', null, `{dns: "localhost:${port}", refresh_seconds: 0.5}`, 'dns');
  try {
    const table = execFileSync(`${BIN}/voxctl`, ['status', '--admin', pool.adminUrl]).toString();
    assert.match(table, new RegExp(`^dns-upstream\\s+127\\.0\\.0\\.1:${port}\\s+healthy\\s`, 'm'), table);
    assert.match(await (await fetch(`${pool.adminUrl}/metrics`)).text(), /voxgate_pool_healthy_engines\{pool="dns-upstream"\} 1/);
  } finally {
    await pool.stop();
  }
});

// Waits (bounded) for a line of `tier` that satisfies `match`.
async function lineOf(tier, match, what) {
  let found;
  await withTimeout((async () => { while (!(found = tiers[tier].logs.find(match))) await sleep(20); })(), 10000, `${tier}: ${what}`);
  return found;
}

test("the client's traceparent is carried through every tier into the engine; each tier logs its own span", async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const clientSpan = '00f067aa0ba902b7';
  const r = await streamFile(WebSocket, `ws://${tiers.endpoint.listen}/v1/recognize`, librivoxClips()[2].file,
    { headers: { traceparent: `00-${traceId}-${clientSpan}-01` } });
  assert.equal(r.code, 1000, r.reason);
  const traced = (e) => e['logging.googleapis.com/trace'] === traceId;
  const endpoint = await lineOf('endpoint', (e) => e.message === 'stream' && traced(e), 'stream line with the trace');
  const router = await lineOf('router', (e) => e.message === 'rpc' && traced(e), 'rpc line with the trace');
  const pool = await lineOf('pool', (e) => e.message === 'rpc' && traced(e), 'rpc line with the trace');
  const engine = await lineOf('engine', (e) => e.message === 'rpc' && traced(e), 'rpc line with the trace');
  const spans = [clientSpan, ...[endpoint, router, pool, engine].map((e) => e['logging.googleapis.com/spanId'])];
  assert.equal(new Set(spans).size, 5, `a span per tier: ${spans}`);
  for (const [tier, line] of Object.entries({ endpoint, router, pool, engine })) {
    assert.equal(line['logging.googleapis.com/labels'].tier, tier === 'engine' ? 'engine' : tier, tier);
    assert.equal(line.request_id, endpoint.request_id, `${tier}: the same request id`);
    assert.equal(line.outcome, 'ok', tier);
    assert.ok(line.audio_seconds > 5, `${tier}: ${line.audio_seconds} s of audio`);
  }
  // What the tiers below reported travels back up to the endpoint's access line.
  assert.equal(endpoint.pool, 'pool-upstream');
  assert.equal(endpoint.engine, tiers.engine.listen);
  assert.match(endpoint.model_version, /^en-us@/, 'the model and the engine version');
  assert.ok(endpoint.hops.engine_s > 0 && endpoint.hops.engine_s < endpoint.hops.endpoint_s, JSON.stringify(endpoint.hops));
  assert.ok(endpoint.hops.queue_s >= 0 && endpoint.hops.queue_s < 1, JSON.stringify(endpoint.hops));
  assert.ok(Math.abs(endpoint.rtf - endpoint.hops.engine_s / endpoint.audio_seconds) < 1e-6, `real-time factor ${endpoint.rtf}`);
  assert.ok(Math.abs(engine.hops.engine_s - endpoint.hops.engine_s) < 1e-5, 'the engine measured what the endpoint reports');
  assert.ok(endpoint.final_latency_s > 0 && endpoint.first_partial_s > 0, JSON.stringify(endpoint));
});

test('a request without a traceparent starts a trace, and the engine logs under it', async () => {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(librivoxClips()[3].file)]), 'a.wav');
  const res = await fetch(`http://${tiers.endpoint.listen}/v1/audio/transcriptions`, { method: 'POST', body: form });
  assert.equal(res.status, 200);
  const id = res.headers.get('x-request-id');
  const access = await lineOf('endpoint', (e) => e.message === 'request' && e.request_id === id, 'request line');
  assert.match(access['logging.googleapis.com/trace'], /^[0-9a-f]{32}$/);
  const engine = await lineOf('engine', (e) => e.message === 'rpc' && e.request_id === id, 'rpc line');
  assert.equal(engine['logging.googleapis.com/trace'], access['logging.googleapis.com/trace']);
});

test('a client streaming silence through the tiers is not taken for a hung tier, and hears no empty partials', async () => {
  // An endpoint that holds its tier to a 3 s result timeout; the tiers below keep the default.
  const quick = await startTier('endpoint', tiers.router.listen, undefined, 'quick', 'progress: {result_timeout_seconds: 3}');
  try {
    // Speech, then 6 s of silence, at the pace of a live microphone.
    const clip = librivoxClips()[1].file;
    const file = path.join(dir, 'speech-then-silence.wav');
    writeFileSync(file, Buffer.concat([readFileSync(clip), Buffer.alloc(6 * 32000)]));
    const [expected, heard] = await Promise.all([tiers.endpoint.listen, quick.listen].map(
      (listen) => streamFile(WebSocket, `ws://${listen}/v1/recognize`, file, { paceMs: 100 })));
    assert.equal(expected.code, 1000, expected.reason);
    assert.equal(heard.code, 1000, heard.reason);
    assert.ok(expected.text.split(' ').length >= 5, expected.text);
    assert.equal(heard.text, expected.text);
    assert.equal(quick.logs.find((e) => e.message === 'engine stopped making progress on a stream'), undefined, 'a hang was reported');
    assert.deepEqual(heard.partials.filter((m) => !m.text), [], 'empty partials reached the client');
  } finally {
    await quick.stop();
  }
});

test('SIGTERM of the endpoint: the open stream finishes, new connections are refused, exit 0', async () => {
  const { finals, closed, finish } = await halfSentStream(WebSocket, `ws://${tiers.endpoint.listen}/v1/recognize`, librivoxClips()[0].file);
  await sleep(200);
  const engineMetrics = await (await fetch(`${tiers.engine.adminUrl}/metrics`)).text();
  assert.match(engineMetrics, /^voxgate_engine_active_streams 1$/m, 'the open stream, as an autoscaler sees it');
  tiers.endpoint.proc.kill('SIGTERM');
  await sleep(300);
  const refused = await fetch(`http://${tiers.endpoint.listen}/v1/audio/transcriptions`, { method: 'POST', body: new FormData() });
  assert.equal(refused.status, 503, 'new requests are refused');
  assert.ok(refused.headers.get('retry-after'));
  assert.equal((await fetch(`${tiers.endpoint.adminUrl}/readyz`)).status, 503);
  finish();
  assert.equal(await withTimeout(closed, 30000, 'drained stream close'), 1000);
  assert.ok(finals.join(' ').split(' ').length >= 10, `the whole clip was transcribed: ${finals.join(' ')}`);
  assert.equal((await withTimeout(tiers.endpoint.exited, 30000, 'endpoint exit')).code, 0);
  delete tiers.endpoint;
});
