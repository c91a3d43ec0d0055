// Split deployment: every tier a process of its own, gRPC between them, as on Kubernetes:
// client → voxgate endpoint → voxgate router → voxgate pool → voxgate-engine-pocketsphinx.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { BIN, LoggingProcess, halfSentStream, librivoxClips, streamFile, tempDir, sleep, waitReady, withTimeout, wordErrorRate } from './harness.mjs';

// Measured through the split tiers as through the all-in-one server (http_api.test.mjs): 0.324.
const LIBRIVOX_WER_BOUND = 0.33;

const dir = tempDir('voxgate-split-');
const tiers = {};

function tierConfig(name, engines) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `
pools:
  - name: ${name}-upstream
    languages: [en-US]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines: [${engines}]
`);
  return file;
}

async function startTier(role, upstream, engines = `{address: "${upstream}"}`, name = role) {
  const p = new LoggingProcess();
  const ready = await p.spawn([`${BIN}/voxgate`, role, '--config', tierConfig(name, engines), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
    'voxgate listening');
  p.listen = ready.listen;
  p.adminUrl = `http://${ready.admin}`;
  await waitReady(p.adminUrl);
  return p;
}

before(async () => {
  tiers.engine = new LoggingProcess();
  const engine = await tiers.engine.spawn([`${BIN}/voxgate-engine-pocketsphinx`, '--listen', '127.0.0.1:0', '--capacity', '2'], 'engine serving');
  tiers.engine.listen = engine.listen;
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

test('SIGTERM of the endpoint: the open stream finishes, new connections are refused, exit 0', async () => {
  const { finals, closed, finish } = await halfSentStream(WebSocket, `ws://${tiers.endpoint.listen}/v1/recognize`, librivoxClips()[0].file);
  await sleep(200);
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
