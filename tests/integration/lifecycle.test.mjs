// The server as an operator meets it: config errors, engine crashes, SIGTERM drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Server, BIN, halfSentStream, librivoxClips, streamFile, tempDir, childPids, sleep, spawnOwned, withTimeout } from './harness.mjs';

test('config errors stop start-up with a message naming the key', () => {
  const dir = tempDir();
  const cases = [
    ['pools:\n  - name: a\n    languages: [en-US]\n    engines: [{engine: pocketsphinx, capacty: 2}]\n', /pools\[0\]\.engines\[0\]\.capacty: unknown key/],
    ['limits: {idle_timeout_seconds: soon}\n', /limits\.idle_timeout_seconds: expected a number/],
    ['listen: [oops\n', /not valid YAML/],
  ];
  for (const [yaml, pattern] of cases) {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, yaml);
    const r = spawnSync(`${BIN}/voxgate`, ['serve', '--config', file], { timeout: 10000 });
    assert.equal(r.status, 2, r.stderr.toString());
    assert.match(r.stderr.toString(), pattern);
  }
  const missing = spawnSync(`${BIN}/voxgate`, ['serve', '--config', path.join(dir, 'nope.yaml')], { timeout: 10000 });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr.toString(), /cannot read/);
});

test('without a config the embedded default serves English (what `make run` starts)', async () => {
  const server = await Server.start({ config: null });
  try {
    const r = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, librivoxClips()[1].file);
    assert.equal(r.code, 1000, r.reason);
    assert.ok(r.text.split(' ').length >= 5, r.text);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('an engine that dies is restarted and the server recovers', async () => {
  const server = await Server.start();
  try {
    const [engine] = childPids(server.proc.pid);
    assert.ok(engine, 'the engine runs as a child process');
    process.kill(engine, 'SIGKILL');
    // The pool notices (health checks every second here) and the supervisor restarts it.
    const deadline = Date.now() + 30000;
    let restarted = false;
    while (Date.now() < deadline && !restarted) {
      await sleep(200);
      const pids = childPids(server.proc.pid);
      restarted = pids.length === 1 && pids[0] !== engine;
    }
    assert.ok(restarted, 'a new engine process was started');
    assert.ok(server.logs.some((e) => e.message === 'engine process died; restarting' && e.signal), 'the death is logged');
    // A client that retries on close code 1013 ("try again later"), as the protocol asks, gets
    // through once the new engine is loaded.
    let r;
    const until = Date.now() + 30000;
    do {
      await server.waitReady(30000);
      r = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, librivoxClips()[1].file);
      if (r.code === 1013) await sleep(500);
      else break;
    } while (Date.now() < until);
    assert.equal(r.code, 1000, r.reason);
    assert.ok(r.text.length > 0);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('SIGTERM drains: not ready, new streams refused, the open stream finishes, exit 0', async () => {
  const server = await Server.start();
  const engines = childPids(server.proc.pid);
  const { finals, closed, finish } = await halfSentStream(WebSocket, `${server.wsUrl}/v1/recognize`, librivoxClips()[0].file);
  await sleep(200);
  server.proc.kill('SIGTERM');
  await sleep(300);
  assert.equal((await fetch(`${server.adminUrl}/readyz`)).status, 503);
  const refused = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: new FormData() });
  assert.equal(refused.status, 503);
  assert.ok(refused.headers.get('retry-after'));
  finish();
  assert.equal(await withTimeout(closed, 30000, 'drained stream close'), 1000);
  assert.ok(finals.join(' ').split(' ').length >= 10, `the whole clip was transcribed: ${finals.join(' ')}`);
  const { code } = await withTimeout(server.exited, 30000, 'exit after drain');
  assert.equal(code, 0);
  for (const pid of engines) assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 'engine stopped');
  await server.stop();
});

// The test runner stops a file that outlives its timeout with SIGTERM, and after() hooks do not
// run then: the harness itself must take down what the file started.
test('a test file stopped mid-test leaves no server running', async () => {
  const script = `import('${new URL('./harness.mjs', import.meta.url)}').then(async (h) => {
    const s = await h.Server.start({ config: null });
    console.log(s.proc.pid);
  });`;
  const file = spawnOwned(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  file.stdout.on('data', (d) => { out += d; });
  await withTimeout((async () => { while (!out.includes('\n')) await sleep(20); })(), 60000, 'the server pid');
  const serverPid = Number(out.trim());
  assert.doesNotThrow(() => process.kill(serverPid, 0), 'the server runs while its test file does');
  file.kill('SIGTERM');
  await withTimeout(new Promise((resolve) => file.on('exit', resolve)), 10000, 'the test file exit');
  // Dead, or a zombie until init reaps it: either way /proc no longer shows it running.
  const running = () => { try { return !/^State:\s+Z/m.test(readFileSync(`/proc/${serverPid}/status`, 'utf8')); } catch { return false; } };
  await withTimeout((async () => { while (running()) await sleep(20); })(), 5000, `server ${serverPid} still running`);
});
