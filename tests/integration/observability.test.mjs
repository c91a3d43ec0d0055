// Logs and metrics as operators meet them: the Cloud Logging fields of access lines (trace,
// labels, per-hop latency), log levels changed at run time on the admin listener, no secret in
// any line, and a real Prometheus server scraping voxgate and querying a counter back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Server, librivoxClips, sleep, streamFile, tempDir, withTimeout, spawnOwned } from './harness.mjs';

const API_KEY = 'sk-observability-test-secret-1234567890';
let server;

before(async () => {
  process.env.VOXGATE_TEST_KEY = API_KEY;
  server = await Server.start({ config: `
api_keys:
  - {name: team-obs, env: VOXGATE_TEST_KEY}
logging:
  levels: {default: info}
  trace_project: voxgate-test
pools:
  - name: asr-en
    languages: [en-US]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines: [{engine: pocketsphinx, capacity: 2}]
  - name: mt
    service: mt
    languages: [en]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines: [{engine: apertium}]
` });
});
after(async () => {
  if (server) assert.equal((await server.stop()).code, 0);
});

const auth = { authorization: `Bearer ${API_KEY}` };

async function translate(headers = {}) {
  return fetch(`${server.url}/v1/translate`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers },
    body: JSON.stringify({ text: 'The cat is black.', source: 'en', target: 'es' }),
  });
}

const waitForLine = (match, what) => server.waitForLine(match, what);

test('an access line has the Cloud Logging fields, the trace from traceparent and the time per hop', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const res = await translate({ traceparent: `00-${traceId}-b7ad6b7169203331-01`, 'user-agent': 'obs-test/1.0' });
  assert.equal(res.status, 200);
  const id = res.headers.get('x-request-id');
  const line = await waitForLine((e) => e.message === 'request' && e.request_id === id, 'access line');
  assert.equal(line.severity, 'INFO');
  assert.equal(line['logging.googleapis.com/trace'], `projects/voxgate-test/traces/${traceId}`);
  assert.match(line['logging.googleapis.com/spanId'], /^[0-9a-f]{16}$/);
  assert.notEqual(line['logging.googleapis.com/spanId'], 'b7ad6b7169203331', 'the endpoint logs under its own span');
  assert.equal(line['logging.googleapis.com/trace_sampled'], true);
  assert.deepEqual(line['logging.googleapis.com/labels'], { tier: 'all-in-one', module: 'gateway' });
  const h = line.httpRequest;
  assert.equal(h.requestMethod, 'POST');
  assert.equal(h.requestUrl, '/v1/translate');
  assert.equal(h.status, 200);
  assert.match(h.latency, /^\d+\.\d{6}s$/);
  assert.equal(h.userAgent, 'obs-test/1.0');
  assert.equal(h.remoteIp, '127.0.0.1');
  assert.ok(Number(h.requestSize) > 10 && Number(h.responseSize) > 10, JSON.stringify(h));
  assert.equal(line.route, '/v1/translate');
  assert.equal(line.service, 'mt');
  assert.equal(line.outcome, 'ok');
  assert.equal(line.api_key, 'team-obs', 'the key is named, never shown');
  assert.equal(line.pool, 'mt');
  assert.match(line.engine, /^unix:/);
  assert.match(line.model_version, /apertium/);
  assert.ok(line.hops.engine_s > 0 && line.hops.engine_s <= line.hops.endpoint_s, JSON.stringify(line.hops));
  assert.equal(line.hops.queue_s, 0);
  // The engine process logged the same call under the same trace, in a span of its own.
  const engine = await waitForLine((e) => e.message === 'rpc' && e.request_id === id, 'engine rpc line');
  assert.equal(engine['logging.googleapis.com/trace'], line['logging.googleapis.com/trace']);
  assert.notEqual(engine['logging.googleapis.com/spanId'], line['logging.googleapis.com/spanId']);
  assert.equal(engine['logging.googleapis.com/labels'].tier, 'engine');
});

test('a stream has one access line with its audio seconds, real-time factor and result latencies', async () => {
  const clip = librivoxClips()[0];
  const r = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, clip.file, { headers: auth, paceMs: 20 });
  assert.equal(r.code, 1000, r.reason);
  const line = await waitForLine((e) => e.message === 'stream' && e.route === '/v1/recognize', 'stream line');
  assert.equal(line.httpRequest.status, 101);
  assert.equal(line.service, 'asr');
  assert.equal(line.language, 'en-US');
  assert.equal(line.pool, 'asr-en');
  const seconds = (readFileSync(clip.file).length - 44) / 32000;
  assert.ok(Math.abs(line.audio_seconds - seconds) < 0.05, `${line.audio_seconds} vs ${seconds}`);
  assert.ok(line.rtf > 0 && Math.abs(line.rtf - line.hops.engine_s / line.audio_seconds) < 1e-6, `rtf ${line.rtf}`);
  assert.ok(line.first_partial_s > 0 && line.final_latency_s > 0, JSON.stringify(line));
  assert.equal(line.final_results, r.finals.length);
});

test('no log line holds the API key or audio', () => {
  for (const entry of server.logs) {
    const text = JSON.stringify(entry);
    assert.ok(!text.includes(API_KEY), `secret in: ${text.slice(0, 200)}`);
    assert.ok(!text.includes('RIFF'), 'no audio in logs');
  }
});

test('warnings and errors say where in the source they come from', async () => {
  const res = await fetch(`${server.url}/v1/translate`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ text: 'x', source: 'en', target: 'xx' }) });
  assert.equal(res.status, 404);
  const line = await waitForLine((e) => e.message === 'request' && e.request_id === res.headers.get('x-request-id'), 'access line');
  assert.equal(line.severity, 'WARNING');
  assert.equal(line.outcome, 'client_error');
  assert.equal(line.error_code, 'not_found');
  const where = line['logging.googleapis.com/sourceLocation'];
  assert.equal(where.file, 'src/gateway/server.cc');
  assert.match(where.line, /^\d+$/);
});

test('log levels per module change at run time on the admin listener', async () => {
  const levels = `${server.adminUrl}/v1/log-levels`;
  assert.deepEqual(await (await fetch(levels)).json(), { default: 'info', modules: {} });
  const put = await fetch(levels, { method: 'PUT', body: JSON.stringify({ gateway: 'warning' }) });
  assert.equal(put.status, 200);
  assert.deepEqual(await put.json(), { default: 'info', modules: { gateway: 'warning' } });
  const quiet = await translate();
  assert.equal(quiet.status, 200);
  await sleep(300);
  assert.ok(!server.logs.some((e) => e.request_id === quiet.headers.get('x-request-id') && e.message === 'request'),
    'INFO access lines of the gateway are off');

  const bad = await fetch(levels, { method: 'PUT', body: JSON.stringify({ gatway: 'debug', pool: 'debug' }) });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /unknown log module "gatway"/);
  assert.deepEqual((await (await fetch(levels)).json()).modules, { gateway: 'warning' }, 'a bad change applies nothing');
  const empty = await fetch(levels, { method: 'PUT', body: '{}' });
  assert.equal(empty.status, 400);
  assert.match((await empty.json()).error.message, /names no module/);
  assert.equal((await fetch(levels, { method: 'HEAD' })).status, 200, 'a GET path answers HEAD');

  assert.equal((await fetch(levels, { method: 'PUT', body: JSON.stringify({ gateway: 'info' }) })).status, 200);
  const loud = await translate();
  await waitForLine((e) => e.request_id === loud.headers.get('x-request-id') && e.message === 'request', 'access line again');
});

test('a real Prometheus server scrapes voxgate and queries a counter back', async () => {
  const dir = tempDir('voxgate-prom-');
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, `
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: voxgate
    static_configs: [{targets: ['${new URL(server.adminUrl).host}']}]
`);
  const prom = spawnOwned('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await translate()).status, 200);
    const query = encodeURIComponent('sum(voxgate_http_requests_total{route="/v1/translate",code="200"})');
    let value;
    await withTimeout((async () => {
      while (value === undefined) {
        await sleep(500);
        try {
          const body = await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`)).json();
          if (body.data?.result?.length) value = Number(body.data.result[0].value[1]);
        } catch { /* not up yet */ }
      }
    })(), 60000, 'Prometheus query');
    const exposed = await server.metric('voxgate_http_requests_total', '{route="/v1/translate",code="200"}');
    assert.ok(value >= 3 && value <= exposed, `Prometheus saw ${value}, voxgate exposes ${exposed}`);
    const up = await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json();
    assert.equal(up.data.result[0].value[1], '1', 'the scrape target is up');
  } finally {
    prom.kill('SIGTERM');
    await new Promise((resolve) => prom.exitCode !== null ? resolve() : prom.on('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
