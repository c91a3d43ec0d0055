// The native streaming protocol (GET /v1/recognize) through node's `ws` client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { BIN, Server, librivoxClips, wordErrorRate, streamFile, tempDir, withTimeout, sleep } from './harness.mjs';

let server;
let dir;
before(async () => {
  server = await Server.start();
  dir = tempDir();
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
});

async function transcribeFile(file) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)]), 'a.wav');
  form.append('model', 'whisper-1');
  const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  assert.equal(res.status, 200);
  return (await res.json()).text;
}

// Opens a stream and returns the first error frame and the close code.
async function expectRejected(url, send = () => {}) {
  const ws = new WebSocket(url);
  const messages = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('open', () => send(ws));
  ws.on('error', () => {});
  const close = await withTimeout(closed, 15000, 'close');
  return { ...close, error: messages.find((m) => m.type === 'error') };
}

test('streaming and file transcription of the same audio agree', async () => {
  for (const clip of librivoxClips().slice(0, 3)) {
    const streamed = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize?language=en-US`, clip.file);
    assert.equal(streamed.code, 1000, streamed.reason);
    assert.equal(streamed.messages[0].type, 'ready');
    assert.ok(streamed.finals.length >= 1);
    const fromFile = await transcribeFile(clip.file);
    assert.ok(wordErrorRate(fromFile, streamed.text) <= 0.1, `stream "${streamed.text}" vs file "${fromFile}"`);
    assert.ok(wordErrorRate(clip.text, streamed.text) < 0.5);
    for (const f of streamed.finals) {
      for (const w of f.words) assert.ok(w.start <= w.end && w.conf >= 0 && w.conf <= 1);
    }
  }
  assert.ok((await server.metric('voxgate_stream_end_to_close_seconds_count')) >= 3);
  assert.ok((await server.metric('voxgate_streams_total', '{route="/v1/recognize",outcome="ok"}')) >= 3);
});

test('partial results arrive while audio streams in, and not when interim_results is off', async () => {
  const clip = librivoxClips()[0];
  const withPartials = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, clip.file, { paceMs: 5 });
  assert.ok(withPartials.partials.length >= 3, `${withPartials.partials.length} partials`);
  const firstFinal = withPartials.messages.findIndex((m) => m.type === 'final');
  assert.ok(withPartials.messages.findIndex((m) => m.type === 'partial') < firstFinal);
  const without = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, clip.file,
    { configMessage: { type: 'config', interim_results: false } });
  assert.equal(without.partials.length, 0);
  assert.ok(without.finals.length >= 1);
});

test('a WAV file streamed in arbitrary chunks, and 8 kHz audio, are resampled', async () => {
  const clip = librivoxClips()[1];
  const reference = await transcribeFile(clip.file);
  // encoding=wav: the whole file, header included, in 1000-byte frames.
  const ws = new WebSocket(`${server.wsUrl}/v1/recognize?encoding=wav`);
  const finals = [];
  let ready;
  const closed = new Promise((r) => ws.on('close', (code) => r(code)));
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'ready') ready = m;
    if (m.type === 'final') finals.push(m.text);
  });
  await new Promise((r) => ws.on('open', r));
  const bytes = readFileSync(clip.file);
  for (let i = 0; i < bytes.length; i += 1000) ws.send(bytes.subarray(i, i + 1000));
  ws.send(JSON.stringify({ type: 'end' }));
  assert.equal(await withTimeout(closed, 60000, 'close'), 1000);
  assert.ok(wordErrorRate(reference, finals.join(' ')) <= 0.1, finals.join(' '));
  assert.equal(ready.encoding, 'wav');
  assert.equal(ready.sample_rate, null, 'the header, not a default, gives a WAV stream its rate');

  const raw8k = path.join(dir, '8k.wav');
  execFileSync('sox', ['-D', clip.file, '-r', '8000', raw8k]);
  const at8k = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, raw8k,
    { configMessage: { type: 'config', sample_rate: 8000 }, chunkMs: 200 });  // 200 ms of 16 kHz bytes = 400 ms at 8 kHz
  assert.equal(at8k.code, 1000);
  assert.ok(wordErrorRate(reference, at8k.text) <= 0.5, at8k.text);
});

test('bad config and bad frames get an error frame and a close code that says why', async () => {
  let r = await expectRejected(`${server.wsUrl}/v1/recognize?sample_rate=0`);
  assert.equal(r.code, 1007);
  assert.match(r.error.message, /sample_rate 0 Hz is out of range/);
  r = await expectRejected(`${server.wsUrl}/v1/recognize?sample_rate=10000000`);
  assert.equal(r.code, 1007);
  r = await expectRejected(`${server.wsUrl}/v1/recognize?language=xx-YY`);
  assert.equal(r.code, 1008);
  assert.match(r.error.message, /served languages: en-US/);
  r = await expectRejected(`${server.wsUrl}/v1/recognize`, (ws) => ws.send('{not json'));
  assert.equal(r.code, 1007);
  assert.match(r.error.message, /JSON/);
  r = await expectRejected(`${server.wsUrl}/v1/recognize?encoding=flac`);
  assert.match(r.error.message, /unsupported encoding/);
  // Two rates for one stream: the WAV header's, and one that would be ignored.
  r = await expectRejected(`${server.wsUrl}/v1/recognize?encoding=wav&sample_rate=44100`);
  assert.equal(r.code, 1007);
  assert.match(r.error.message, /the file's header gives the rate/);
  // A text frame where audio was expected.
  r = await expectRejected(`${server.wsUrl}/v1/recognize`, (ws) => { ws.send(Buffer.alloc(3200)); ws.send('hello'); });
  assert.equal(r.code, 1007);
  // A frame over the 1 MiB default limit, first or later: the error says so, then 1009.
  for (const send of [(ws) => ws.send(Buffer.alloc(2 << 20)), (ws) => { ws.send(Buffer.alloc(3200)); ws.send(Buffer.alloc(2 << 20)); }]) {
    r = await expectRejected(`${server.wsUrl}/v1/recognize`, send);
    assert.equal(r.code, 1009, r.reason);
    assert.match(r.error?.message ?? '', /message exceeds the limit of 1048576 bytes/);
  }
  // A WAV stream that is not 16-bit PCM.
  r = await expectRejected(`${server.wsUrl}/v1/recognize?encoding=wav`, (ws) => ws.send(Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x03\x00\x01\x00\x80\x3e\x00\x00\x00\xfa\x00\x00\x04\x00\x20\x00', 'latin1')));
  assert.equal(r.code, 1007);
});

// A raw upgrade request, as a hand-rolled client might send it: the status, headers and JSON body.
function upgradeRequest(urlPath, headers) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${urlPath}`, { headers: { connection: 'Upgrade', upgrade: 'websocket', ...headers } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode, headers: res.headers, body: '' }); });
    req.on('error', reject);
    req.end();
  }), 10000, `upgrade ${urlPath}`);
}

test('a malformed WebSocket handshake is refused with a JSON error and an access line', async () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  for (const urlPath of ['/v1/recognize', '/vosk']) {
    const cases = [[{ 'sec-websocket-version': '13' }, 400, /Sec-WebSocket-Key/],
      [{ 'sec-websocket-version': '13', 'sec-websocket-key': 'c2hvcnQ=' }, 400, /base64 of 16 bytes/],
      [{ 'sec-websocket-key': key }, 400, /Sec-WebSocket-Version: 13/],
      [{ 'sec-websocket-version': '8', 'sec-websocket-key': key }, 426, /version 13/]];
    for (const [headers, status, message] of cases) {
      const res = await upgradeRequest(urlPath, headers);
      assert.equal(res.status, status, `${urlPath} ${JSON.stringify(headers)}: ${res.body}`);
      assert.match(res.headers['content-type'], /^application\/json/);
      assert.match(JSON.parse(res.body).error.message, message);
      if (status === 426) assert.equal(res.headers['sec-websocket-version'], '13');
      const id = res.headers['x-request-id'];
      const line = await server.waitForLine((e) => e.message === 'request' && e.request_id === id, `access line of ${id}`);
      assert.equal(line.httpRequest.status, status);
      assert.equal(line.route, urlPath);
    }
  }
  // A conforming handshake still opens the stream.
  const ok = await upgradeRequest('/v1/recognize', { 'sec-websocket-version': '13', 'sec-websocket-key': key });
  assert.equal(ok.status, 101);
});

async function waitIdle() {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline && (await server.metric('voxgate_pool_active_streams', '{pool="asr-en"}')) !== 0) await sleep(50);
}

test('a client that vanishes mid-stream is cleaned up and the server keeps serving', async () => {
  await waitIdle();
  const goneBefore = (await server.metric('voxgate_streams_total', '{route="/v1/recognize",outcome="client_gone"}')) ?? 0;
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(`${server.wsUrl}/v1/recognize?language=en-US`);
    const ready = new Promise((r) => ws.on('message', r));
    await new Promise((r) => ws.on('open', r));
    await ready;
    ws.send(readFileSync(librivoxClips()[0].file).subarray(44, 44 + 64000));
    await sleep(100);
    ws.terminate();  // no close frame, no end message
    // Freeing a decoder mid-utterance takes the engine a moment (~0.1-0.2 s measured); only then
    // is the slot free for the next client.
    await waitIdle();
  }
  // Each vanished stream is counted and its engine slot freed, without any client help.
  const deadline = Date.now() + 10000;
  const gone = () => server.metric('voxgate_streams_total', '{route="/v1/recognize",outcome="client_gone"}');
  while (Date.now() < deadline && (await gone()) < goneBefore + 3) await sleep(50);
  assert.equal(await gone(), goneBefore + 3);
  await waitIdle();
  assert.equal(await server.metric('voxgate_pool_active_streams', '{pool="asr-en"}'), 0);
  const after = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, librivoxClips()[1].file);
  assert.equal(after.code, 1000);
});

// Opens a stream and returns its x-request-id once the upgrade is done, and its close.
async function openWithId(url) {
  const ws = new WebSocket(url);
  const id = new Promise((resolve) => ws.on('upgrade', (res) => resolve(res.headers['x-request-id'])));
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  await withTimeout(new Promise((r) => ws.on('open', r)), 10000, 'open');
  return { ws, id: await id, closed };
}

test('a client that leaves before its first message, or breaks the WebSocket protocol, still gets its access line', async () => {
  const streams = (outcome) => server.metric('voxgate_streams_total', `{route="/v1/recognize",outcome="${outcome}"}`);
  const goneBefore = (await streams('client_gone')) ?? 0;
  for (const leave of [(ws) => ws.terminate(), (ws) => ws.close(1000)]) {
    const s = await openWithId(`${server.wsUrl}/v1/recognize`);  // no query: the config is still owed
    leave(s.ws);
    const line = await server.waitForLine((e) => e.message === 'stream' && e.request_id === s.id, `access line of ${s.id}`);
    assert.equal(line.outcome, 'client_gone', JSON.stringify(line));
    assert.equal(line.route, '/v1/recognize');
  }
  assert.equal(await streams('client_gone'), goneBefore + 2);

  // A text frame that is not UTF-8, before the config and mid-stream: Beast closes with 1007, and
  // the line says the client broke the protocol, not that it went away.
  for (const query of ['', '?language=en-US']) {
    const s = await openWithId(`${server.wsUrl}/v1/recognize${query}`);
    if (query) s.ws.send(Buffer.alloc(3200));
    s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    const close = await withTimeout(s.closed, 10000, 'close');
    assert.equal(close.code, 1007);
    const line = await server.waitForLine((e) => e.message === 'stream' && e.request_id === s.id, `access line of ${s.id}`);
    assert.equal(line.outcome, 'client_error', JSON.stringify(line));
    assert.match(line.error, /broke the WebSocket protocol/);
  }
});

// voxctl bench, the load tool of docs/BENCHMARKS.md, against this server (--server after the
// subcommand works as before it).
test('voxctl bench: a latency per final result; no final, no latency (null, not 0); a refused language fails the run', async () => {
  await waitIdle();
  const bench = (file, ...args) => {
    const r = spawnSync(`${BIN}/voxctl`, ['bench', file, '--server', server.url, '--speed', '10', ...args], { timeout: 60000 });
    return { status: r.status, result: JSON.parse(r.stdout.toString()), stderr: r.stderr.toString() };
  };
  const speech = bench(librivoxClips()[1].file, '--streams', '2');
  assert.equal(speech.status, 0, speech.stderr);
  assert.equal(speech.result.streams, 2);
  assert.equal(speech.result.failed_streams, 0);
  assert.ok(speech.result.finals >= 2, JSON.stringify(speech.result));
  const l = speech.result.final_latency_seconds;
  assert.ok(l.p50 > 0 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));

  const silence = path.join(dir, 'silence.wav');
  execFileSync('sox', ['-n', '-r', '16000', '-b', '16', '-c', '1', silence, 'trim', '0', '2']);
  const quiet = bench(silence);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.result.finals, 0);
  assert.equal(quiet.result.final_latency_seconds, null);

  const refused = bench(silence, '--language', 'xx-YY');
  assert.equal(refused.status, 1);
  assert.equal(refused.result.failed_streams, 1);
  assert.match(refused.stderr, /xx-YY/);
});

test('over capacity: a stream beyond every engine slot is told to retry later', async () => {
  await waitIdle();
  const open = [];
  for (let i = 0; i < 2; i++) {  // the test server's capacity
    const ws = new WebSocket(`${server.wsUrl}/v1/recognize`);
    await new Promise((r) => ws.on('open', r));
    ws.send(Buffer.alloc(3200));
    open.push(ws);
  }
  await sleep(300);
  const r = await expectRejected(`${server.wsUrl}/v1/recognize`, (ws) => ws.send(Buffer.alloc(3200)));
  assert.equal(r.code, 1013);
  assert.match(r.error.message, /over capacity.*retry after/);
  for (const ws of open) ws.close();
});
