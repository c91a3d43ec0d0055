// Split deployment: every tier a process of its own, gRPC between them, as on Kubernetes:
// client → voxgate endpoint → voxgate router → voxgate pool → voxgate-engine-pocketsphinx.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { BIN, librivoxClips, streamFile, tempDir, sleep, withTimeout, wordErrorRate } from './harness.mjs';

// Measured through the split tiers as through the all-in-one server (http_api.test.mjs): 0.324.
const LIBRIVOX_WER_BOUND = 0.33;

// A process that logs JSON lines; resolves once a line with `message` appears.
class Proc {
  static async start(argv, message) {
    const p = new Proc();
    p.logs = [];
    p.proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    p.exited = new Promise((resolve) => p.proc.on('exit', (code, signal) => resolve({ code, signal })));
    let buffered = '';
    const seen = new Promise((resolve, reject) => {
      p.proc.stdout.on('data', (chunk) => {
        buffered += chunk;
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          try {
            const entry = JSON.parse(line);
            p.logs.push(entry);
            if (entry.message === message) resolve(entry);
          } catch { /* not JSON */ }
        }
      });
      p.proc.stderr.on('data', (chunk) => { p.stderr = (p.stderr ?? '') + chunk; });
      p.exited.then(({ code }) => reject(new Error(`${argv[0]} exited with ${code}: ${p.stderr ?? ''}`)));
    });
    p.ready = await withTimeout(seen, 60000, `${path.basename(argv[0])}: no "${message}"`);
    return p;
  }
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 30000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

async function waitReady(adminUrl) {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${adminUrl}/readyz`)).status === 200) return;
    } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`${adminUrl} did not become ready`);
}

const dir = tempDir('voxgate-split-');
const tiers = {};

function tierConfig(name, upstream) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `
pools:
  - name: ${name}-upstream
    languages: [en-US]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines: [{address: "${upstream}"}]
`);
  return file;
}

async function startTier(role, upstream) {
  const p = await Proc.start([`${BIN}/voxgate`, role, '--config', tierConfig(role, upstream), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
    'voxgate listening');
  p.listen = p.ready.listen;
  p.adminUrl = `http://${p.ready.admin}`;
  await waitReady(p.adminUrl);
  return p;
}

before(async () => {
  tiers.engine = await Proc.start([`${BIN}/voxgate-engine-pocketsphinx`, '--listen', '127.0.0.1:0', '--capacity', '2'], 'engine serving');
  tiers.pool = await startTier('pool', tiers.engine.ready.listen);
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

test('SIGTERM of the endpoint: the open stream finishes, new connections are refused, exit 0', async () => {
  const clip = librivoxClips()[0];
  const pcm = readFileSync(clip.file).subarray(44);
  const ws = new WebSocket(`ws://${tiers.endpoint.listen}/v1/recognize`);
  const finals = [];
  const closed = new Promise((r) => ws.on('close', (code) => r(code)));
  ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.type === 'final') finals.push(m.text); });
  await new Promise((r) => ws.on('open', r));
  ws.send(pcm.subarray(0, pcm.length / 2));
  await sleep(200);
  tiers.endpoint.proc.kill('SIGTERM');
  await sleep(300);
  const refused = await fetch(`http://${tiers.endpoint.listen}/v1/audio/transcriptions`, { method: 'POST', body: new FormData() });
  assert.equal(refused.status, 503, 'new requests are refused');
  assert.ok(refused.headers.get('retry-after'));
  assert.equal((await fetch(`${tiers.endpoint.adminUrl}/readyz`)).status, 503);
  ws.send(pcm.subarray(pcm.length / 2));
  ws.send(JSON.stringify({ type: 'end' }));
  assert.equal(await withTimeout(closed, 30000, 'drained stream close'), 1000);
  assert.ok(finals.join(' ').split(' ').length >= 10, `the whole clip was transcribed: ${finals.join(' ')}`);
  assert.equal((await withTimeout(tiers.endpoint.exited, 30000, 'endpoint exit')).code, 0);
  delete tiers.endpoint;
});
