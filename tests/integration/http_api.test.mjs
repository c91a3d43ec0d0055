// The HTTP API against a real `voxgate serve` with a real pocketsphinx engine process, through
// real clients: the official openai SDK, curl and fetch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import WebSocket from 'ws';
import { Server, oneRecognizer, librivoxClips, streamFile, wordErrorRate, synthesize, tempDir, sleep, BIN } from './harness.mjs';

// Measured: WER 0.324 over the five LibriVox clips (pocketsphinx en-us, 71 words); bound just above.
const LIBRIVOX_WER_BOUND = 0.33;
// Measured: WER 0.432 on the seven espeak-ng en-us+klatt2 sentences below (44 words, same on every
// run since the audio is made without dither); bound just above. Synthetic voices are far from
// pocketsphinx's training data (LibriVox: 0.32).
const ESPEAK_WER_BOUND = 0.45;

let server;
let dir;
before(async () => {
  server = await Server.start();
  dir = tempDir();
});
after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, 'voxgate exits 0 after SIGTERM');
});

function curlTranscribe(file, fields = {}) {
  const args = ['-sS', '-o', '-', '-w', '\n%{http_code}', `${server.url}/v1/audio/transcriptions`, '-F', `file=@${file}`];
  for (const [k, v] of Object.entries({ model: 'whisper-1', ...fields })) args.push('-F', `${k}=${v}`);
  const out = execFileSync('curl', args).toString();
  const nl = out.lastIndexOf('\n');
  return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
}

test('the openai SDK transcribes real recorded speech', async () => {
  const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1` });
  let errors = 0, words = 0;
  for (const clip of librivoxClips()) {
    const result = await client.audio.transcriptions.create({ file: await toFile(readFileSync(clip.file), 'clip.wav'), model: 'whisper-1',
      temperature: 0.2, prompt: 'Sense and Sensibility' });  // taken, and without effect on these engines
    const n = clip.text.split(' ').length;
    errors += wordErrorRate(clip.text, result.text) * n;
    words += n;
  }
  const wer = errors / words;
  console.log(`librivox WER over the openai SDK: ${wer.toFixed(3)}`);
  assert.ok(wer < LIBRIVOX_WER_BOUND, `WER ${wer} >= ${LIBRIVOX_WER_BOUND}`);
});

test('speech generated with espeak-ng is recognised', async () => {
  const sentences = ['go forward ten meters', 'the quick brown fox jumps over the lazy dog', 'please call me back tomorrow morning',
    'i would like a cup of coffee', 'turn left at the next street', 'the weather is nice today', 'open the door and close the window'];
  let errors = 0, words = 0;
  for (const [i, text] of sentences.entries()) {
    const file = synthesize(text, path.join(dir, `s${i}.wav`));
    const { status, body } = curlTranscribe(file, { response_format: 'text' });
    assert.equal(status, 200, body);
    errors += wordErrorRate(text, body) * text.split(' ').length;
    words += text.split(' ').length;
  }
  const wer = errors / words;
  console.log(`espeak-ng klatt2 WER: ${wer.toFixed(3)}`);
  assert.ok(wer < ESPEAK_WER_BOUND, `WER ${wer}`);
});

test('curl: any sample rate, channel count and container is resampled', () => {
  const clip = librivoxClips()[1];
  const original = wordErrorRate(clip.text, JSON.parse(curlTranscribe(clip.file).body).text);
  for (const [name, soxArgs] of [['stereo44k.flac', ['-r', '44100', '-c', '2']], ['8k.ogg', ['-r', '8000']], ['48k.wav', ['-r', '48000']]]) {
    const file = path.join(dir, name);
    execFileSync('sox', ['-D', clip.file, ...soxArgs, file]);
    const { status, body } = curlTranscribe(file);
    assert.equal(status, 200, `${name}: ${body}`);
    const text = JSON.parse(body).text;
    // Resampling may change a word or two, never the whole: at most 2 (of 8) more errors than the
    // 16 kHz original (measured: +0 to +2), and 8 kHz, which loses half the spectrum, at most 4.
    const wer = wordErrorRate(clip.text, text);
    assert.ok(wer <= original + (name.startsWith('8k') ? 0.5 : 0.25), `${name}: "${text}" WER ${wer} vs ${original}`);
  }
});

test('response formats: text, srt, vtt, verbose_json with words', async () => {
  const clip = librivoxClips()[0];
  const srt = curlTranscribe(clip.file, { response_format: 'srt' });
  assert.equal(srt.status, 200);
  assert.match(srt.body, /^1\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n\S/);
  const vtt = curlTranscribe(clip.file, { response_format: 'vtt' });
  assert.match(vtt.body, /^WEBVTT\n\n\d\d:\d\d:\d\d\.\d\d\d --> /);
  const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1` });
  const verbose = await client.audio.transcriptions.create({
    file: await toFile(readFileSync(clip.file), 'clip.wav'), model: 'whisper-1',
    response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'],
  });
  assert.ok(Math.abs(verbose.duration - 7.1) < 0.05, `duration ${verbose.duration}`);
  assert.equal(verbose.language, 'english', 'named as OpenAI names it');
  assert.ok(verbose.segments.length >= 1);
  assert.ok(verbose.words.length >= 10);
  for (let i = 1; i < verbose.words.length; i++) assert.ok(verbose.words[i].start >= verbose.words[i - 1].start);
  assert.ok(verbose.words.at(-1).end <= verbose.duration + 0.01);
});

test('stream=true: the SDK gets a delta per final result as it is recognized, then done', async () => {
  const long = path.join(dir, 'five-clips.wav');
  execFileSync('sox', [...librivoxClips().map((c) => c.file), long]);
  const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1` });
  const file = async () => toFile(readFileSync(long), 'five-clips.wav');
  const whole = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'verbose_json' });
  const { data: stream, response } = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', stream: true }).withResponse();
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const events = [];
  for await (const event of stream) events.push(event);
  const done = events.pop();
  assert.equal(done.type, 'transcript.text.done');
  assert.ok(events.every((e) => e.type === 'transcript.text.delta'), JSON.stringify(events));
  assert.equal(events.length, whole.segments.length, 'one delta per final result');
  assert.ok(events.length >= 2, `${events.length} deltas`);
  assert.equal(events.map((e) => e.delta).join(''), done.text, 'the deltas add up to the text');
  assert.equal(done.text, whole.text, 'the same transcript as without stream');
  assert.ok(Math.abs(done.usage.seconds - whole.duration) < 0.01, JSON.stringify(done.usage));
  const id = response.headers.get('x-request-id');
  const line = await server.waitForLine((e) => e.message === 'request' && e.request_id === id, 'access line');
  assert.equal(line.httpRequest.status, 200);
  assert.equal(line.outcome, 'ok');
  assert.equal(line.language, 'en-US', 'the access line names the language');
  assert.ok(Math.abs(line.audio_seconds - whole.duration) < 0.01);

  // Refused before any event: a status, which the SDK raises (and would retry, were it a 503).
  await assert.rejects(client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', stream: true, language: 'fr' }),
    (e) => e.status === 404 && /served languages: en-US/.test(e.message));
  assert.match(curlTranscribe(long, { stream: 'yes' }).body, /stream takes true or false/);
  assert.equal(curlTranscribe(long, { stream: 'true', response_format: 'srt' }).status, 400);

  // A client that goes away after the first delta: the recognition stops and frees its engine.
  const abandoned = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', stream: true }).withResponse();
  for await (const event of abandoned.data) {
    assert.equal(event.type, 'transcript.text.delta');
    break;  // ends the stream: the SDK aborts the request
  }
  const gone = await server.waitForLine((e) => e.message === 'request' && e.request_id === abandoned.response.headers.get('x-request-id'), 'access line');
  assert.equal(gone.outcome, 'client_gone');
  assert.ok(gone.audio_seconds > 0);
  const freed = Date.now() + 10000;
  while (Date.now() < freed && (await server.metric('voxgate_pool_active_streams', '{pool="asr-en"}')) !== 0) await sleep(50);
  assert.equal(await server.metric('voxgate_pool_active_streams', '{pool="asr-en"}'), 0, 'the engine slot is free');

  // A client that resets the connection (RST) after the first delta: the next event's write fails.
  // That path once destroyed a temporary twice (g++ 12) and corrupted the heap: garbage in the
  // access line, then an abort a request or two later.
  const longer = path.join(dir, 'five-clips-x4.wav');
  execFileSync('sox', [long, long, long, long, longer]);
  const audio = readFileSync(longer);
  for (let i = 0; i < 5; i++) {
    const id = `rst-after-first-delta-${i}`;
    await new Promise((resolve, reject) => {
      const boundary = 'voxgate-test-boundary';
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="stream"\r\n\r\ntrue\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n`),
        audio, Buffer.from(`\r\n--${boundary}--\r\n`)]);
      const socket = net.connect(new URL(server.url).port, '127.0.0.1', () => {
        socket.write(`POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\n\r\n`);
        socket.write(body);
      });
      let received = '';
      socket.on('data', (d) => {
        received += d;
        if (received.includes('data: ')) { socket.resetAndDestroy(); resolve(); }
      });
      socket.on('error', reject);
      socket.on('end', () => reject(new Error(`closed before a delta: ${received}`)));
    });
    const line = await server.waitForLine((e) => e.message === 'request' && e.request_id === id, `access line of ${id}`);
    assert.equal(line.outcome, 'client_gone');
    assert.match(line.error, /^the client (went away|closed the connection)$/, JSON.stringify(line));
    // What was processed is what the engine says it took, not what was decoded ahead of it.
    const engine = await server.waitForLine((e) => e['logging.googleapis.com/labels']?.tier === 'engine' && e.request_id === id,
      `the engine's line of ${id}`);
    assert.ok(line.audio_seconds <= engine.audio_seconds + 0.5, `endpoint ${line.audio_seconds} s, engine ${engine.audio_seconds} s`);
  }
  const after = await client.audio.transcriptions.create({ file: await toFile(readFileSync(librivoxClips()[0].file), 'a.wav'), model: 'whisper-1' });
  assert.ok(after.text.length > 0, 'the server still serves');
});

test('GET /v1/models lists what the engines offer', async () => {
  const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1` });
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  assert.equal(models.length, 1);
  assert.deepEqual(models[0].languages, ['en-US']);
  // models.retrieve: the same object, by its id; an unknown id is a 404 that names what is served.
  assert.deepEqual(await client.models.retrieve(models[0].id), models[0]);
  await assert.rejects(client.models.retrieve('whisper-9'), (e) => e.status === 404 && /no model "whisper-9".*serve: en-us/.test(e.message));
  const encoded = await fetch(`${server.url}/v1/models/${encodeURIComponent(models[0].id).replace('-', '%2D')}`);
  assert.equal(encoded.status, 200, 'the id is percent-decoded');
  assert.equal((await fetch(`${server.url}/v1/models/en-us%zz`)).status, 400);
  assert.equal((await fetch(`${server.url}/v1/models/en-us`, { method: 'DELETE' })).status, 405);
});

test('bad input gets a clear JSON error and the server keeps serving', async () => {
  const garbage = path.join(dir, 'garbage.wav');
  writeFileSync(garbage, Buffer.from('this is not audio at all, just text pretending'.repeat(20)));
  const cases = [
    [garbage, {}, 400],
    [librivoxClips()[1].file, { language: 'fr' }, 404, /served languages: en-US/],
    [librivoxClips()[1].file, { response_format: 'mp3' }, 400, /response_format/],
    [librivoxClips()[1].file, { temperature: 'warm' }, 400, /temperature must be a number from 0 to 1/],
    [librivoxClips()[1].file, { temperature: '1.5' }, 400, /temperature/],
    [librivoxClips()[1].file, { model: 'whisper-9' }, 404, /unknown model/],
  ];
  // A WAV whose header claims far more data than the file has: decode what is there.
  const liar = path.join(dir, 'liar.wav');
  const wav = Buffer.from(readFileSync(librivoxClips()[1].file));
  wav.writeUInt32LE(0x7ffffff0, 40);
  writeFileSync(liar, wav);
  // Truncated: a header and a few bytes.
  const truncated = path.join(dir, 'truncated.wav');
  writeFileSync(truncated, wav.subarray(0, 30));
  cases.push([truncated, {}, 400]);
  for (const [file, fields, status, pattern] of cases) {
    const res = curlTranscribe(file, fields);
    assert.equal(res.status, status, res.body);
    const body = JSON.parse(res.body);
    assert.equal(typeof body.error.message, 'string');
    if (pattern) assert.match(body.error.message, pattern);
  }
  const liarRes = curlTranscribe(liar);
  assert.equal(liarRes.status, 200, liarRes.body);
  assert.ok(wordErrorRate(librivoxClips()[1].text, JSON.parse(liarRes.body).text) < 0.5);

  const noFile = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: new FormData() });
  assert.equal(noFile.status, 400);
  // A field given twice, or a granularity OpenAI does not have: refused, not settled silently.
  const twice = spawnSync('curl', ['-sS', '-w', '\n%{http_code}', '-F', `file=@${librivoxClips()[0].file}`, '-F', 'model=whisper-1',
    '-F', 'model=other', `${server.url}/v1/audio/transcriptions`]).stdout.toString();
  assert.match(twice, /the `model` part is given twice.*\n400$/s);
  assert.equal(curlTranscribe(librivoxClips()[0].file, { 'timestamp_granularities[]': 'words' }).status, 400);
  const notMultipart = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(notMultipart.status, 400);
  assert.match((await notMultipart.json()).error.message, /multipart\/form-data/);
  assert.equal((await fetch(`${server.url}/nope`)).status, 404);
  assert.equal((await fetch(`${server.url}/v1/recognize`)).status, 426);
  assert.equal((await fetch(`${server.url}/vosk`)).status, 426, 'the vosk endpoint is there, for a WebSocket');
  const upgradeByPost = await fetch(`${server.url}/v1/recognize`, { method: 'POST', body: 'x' });
  assert.equal(upgradeByPost.status, 405);
  assert.equal(upgradeByPost.headers.get('allow'), 'GET, HEAD');
  // A wrong method: 405, naming the one to use.
  for (const [method, url, allow] of [['GET', '/v1/audio/transcriptions', 'POST'], ['POST', '/v1/models', 'GET, HEAD'],
    ['DELETE', '/v1/audio/speech', 'POST']]) {
    const res = await fetch(`${server.url}${url}`, { method });
    assert.equal(res.status, 405, `${method} ${url}`);
    assert.equal(res.headers.get('allow'), allow);
    assert.match((await res.json()).error.message, new RegExp(`use ${allow.split(',')[0]}`));
  }
  // HEAD of a GET path: its header, with the length of the body it leaves out (curl -I).
  const get = await fetch(`${server.url}/v1/models`);
  const head = execFileSync('curl', ['-sS', '-I', `${server.url}/v1/models`]).toString();
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, new RegExp(`content-length: ${(await get.text()).length}\r\n`, 'i'));
  // A header over the limit is answered (431), not a reset connection.
  const huge = spawnSync('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', '-H', `x-big: ${'b'.repeat(20000)}`, `${server.url}/v1/models`]);
  const [hugeBody, hugeStatus] = huge.stdout.toString().split('\n');
  assert.equal(hugeStatus, '431', huge.stderr.toString());
  assert.match(JSON.parse(hugeBody).error.message, /exceed 16 KiB/);
  const hugeRaw = await rawRequest(new URL(server.url).port, [`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`]);
  assert.equal(hugeRaw.status, 431);
  assert.ok(hugeRaw.headers['x-request-id'], 'every response has its request id');
  // Still serving.
  assert.equal(curlTranscribe(librivoxClips()[1].file).status, 200);
});

test('a client value quoted in an error is cut short, in the reply and in the log line', async () => {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(librivoxClips()[0].file)]), 'clip.wav');
  form.append('model', 'm'.repeat(1 << 20));
  const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  assert.equal(res.status, 404);
  const body = await res.text();
  assert.ok(body.length < 5000, `a reply of ${body.length} bytes`);
  assert.match(JSON.parse(body).error.message, /^unknown model "m+… \(\d+ bytes\)$/);
  const id = res.headers.get('x-request-id');
  const line = await server.waitForLine((e) => e.message === 'request' && e.request_id === id, 'access line');
  assert.ok(JSON.stringify(line).length < 8000, `a log line of ${JSON.stringify(line).length} bytes`);
  // A "language" is logged in every access line, not only quoted in errors.
  const speech = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tts-1', input: 'Hello.', voice: 'alloy', language: 'x'.repeat(60000) }) });
  assert.equal(speech.status, 400, await speech.text());
  const speechId = speech.headers.get('x-request-id');
  const speechLine = await server.waitForLine((e) => e.message === 'request' && e.request_id === speechId, 'access line');
  assert.match(speechLine.language, /^x{64}… \(60000 bytes\)$/);
  assert.ok(JSON.stringify(speechLine).length < 8000, `a log line of ${JSON.stringify(speechLine).length} bytes`);
});

test('another region of a served language falls back to its pool, as the config promises', () => {
  const clip = librivoxClips()[1];
  const us = JSON.parse(curlTranscribe(clip.file, { language: 'en-US' }).body).text;
  for (const language of ['en-GB', 'en']) {
    const res = curlTranscribe(clip.file, { language });
    assert.equal(res.status, 200, `${language}: ${res.body}`);
    assert.equal(JSON.parse(res.body).text, us, language);
  }
  // The SDK's newer model names mean the default model too.
  for (const model of ['gpt-4o-transcribe', 'gpt-4o-mini-transcribe']) {
    const res = curlTranscribe(clip.file, { model });
    assert.equal(res.status, 200, `${model}: ${res.body}`);
    assert.equal(JSON.parse(res.body).text, us, model);
  }
});

const sha256 = (s) => execFileSync('sha256sum', { input: s }).toString().split(' ')[0];

// Writes `parts` on a raw connection, `gapMs` apart (or stops after them and closes, `abandon`),
// and returns what the server answered: status, headers and body, '' if nothing.
function rawRequest(port, parts, { gapMs = 0, abandon = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer: ${received}`)); }, 20000);
    socket.on('data', (d) => { received += d; });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const [head, ...body] = received.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: body.join('\r\n\r\n') });
    });
    socket.on('connect', async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        socket.write(part);
        await sleep(gapMs);
      }
      if (abandon) socket.destroy();
    });
  });
}

test('uploads: the key is checked first, then the size, before the body is read; a stalled, slow, malformed or abandoned one is answered and logged', async () => {
  const small = await Server.start({ config: oneRecognizer(`
limits: {max_upload_bytes: 100000, idle_timeout_seconds: 1, request_timeout_seconds: 3}
api_keys:
  - {name: team-a, sha256: ${sha256('the-key')}}`) });
  try {
    const big = path.join(dir, 'big.wav');
    execFileSync('sox', [librivoxClips()[0].file, big, 'repeat', '2']);
    const upload = (...auth) => {
      const res = spawnSync('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', `${small.url}/v1/audio/transcriptions`, ...auth,
        '-H', 'x-request-id: upload-' + auth.length, '-F', `file=@${big}`, '-F', 'model=whisper-1']);
      const out = res.stdout.toString();
      return { status: out.slice(out.lastIndexOf('\n') + 1), error: JSON.parse(out.slice(0, out.lastIndexOf('\n'))).error };
    };
    // No key: 401, whatever the size (a caller without a key learns nothing of the limits).
    const anonymous = upload();
    assert.equal(anonymous.status, '401');
    const tooBig = upload('-H', 'authorization: Bearer the-key');
    assert.equal(tooBig.status, '413');
    assert.match(tooBig.error.message, /exceeds the limit of 100000 bytes/);
    const line = await small.waitForLine((e) => e.message === 'request' && e.request_id === 'upload-2', 'access line of the 413');
    assert.equal(line.api_key, 'team-a');

    const port = new URL(small.url).port;
    const header = (id, length, extra = '') => `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer the-key\r\n` +
      `X-Request-Id: ${id}\r\nContent-Type: multipart/form-data; boundary=b\r\n${extra}${length === null ? '' : `Content-Length: ${length}\r\n`}\r\n`;
    // A body that stops coming: 408 after idle_timeout_seconds of silence, not a bare close.
    const stalled = await rawRequest(port, [header('stalled', 1000), 'x'.repeat(10)]);
    assert.equal(stalled.status, 408);
    assert.match(JSON.parse(stalled.body).error.message, /no byte of the upload \(limits.idle_timeout_seconds\) for 1 s/);
    // One that trickles (a byte every 0.5 s) past request_timeout_seconds: 504.
    const slow = await rawRequest(port, [header('slow', 1000), ...Array(12).fill('x')], { gapMs: 500 });
    assert.equal(slow.status, 504);
    assert.match(JSON.parse(slow.body).error.message, /did not finish within limits.request_timeout_seconds \(3 s\)/);
    // A chunked body with a chunk size that is no number: 400.
    const malformed = await rawRequest(port, [header('malformed', null, 'Transfer-Encoding: chunked\r\n'), 'zz\r\nxx\r\n']);
    assert.equal(malformed.status, 400);
    assert.match(JSON.parse(malformed.body).error.message, /malformed request body/);
    // A request head Beast cannot parse: 400 and a request id, not a bare close.
    const badHead = await rawRequest(port, ['POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n']);
    assert.equal(badHead.status, 400);
    assert.match(JSON.parse(badHead.body).error.message, /malformed request/);
    assert.ok(badHead.headers['x-request-id']);
    // A client that leaves mid-upload: nobody to answer, and still an access line.
    const abandoned = await rawRequest(port, [header('abandoned', 1000), 'x'.repeat(10)], { abandon: true });
    assert.equal(abandoned.status, 0);
    for (const [id, status, outcome] of [['stalled', 408, 'client_error'], ['slow', 504, 'server_error'], ['malformed', 400, 'client_error'],
      ['abandoned', 499, 'client_gone']]) {
      const l = await small.waitForLine((e) => e.message === 'request' && e.request_id === id, `access line of ${id}`);
      assert.equal(l.httpRequest.status, status, id);
      assert.equal(l.outcome, outcome, `${id}: ${JSON.stringify(l)}`);
      assert.equal(l.route, '/v1/audio/transcriptions');
    }
  } finally {
    await small.stop();
  }
});

test('admin: healthz, readyz and Prometheus metrics', async () => {
  assert.equal((await fetch(`${server.adminUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${server.adminUrl}/readyz`)).status, 200);
  const metrics = await (await fetch(`${server.adminUrl}/metrics`)).text();
  assert.match(metrics, /# TYPE voxgate_http_requests_total counter/);
  assert.match(metrics, /voxgate_http_requests_total\{route="\/v1\/audio\/transcriptions",code="200"\} \d+/);
  assert.match(metrics, /voxgate_pool_healthy_engines\{pool="asr-en"\} 1/);
  assert.ok((await server.metric('voxgate_audio_seconds_total', '{route="/v1/audio/transcriptions"}')) > 20);
  // These only report: another method is refused, not answered as a GET; HEAD is a GET's header.
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const res = await fetch(`${server.adminUrl}${path}`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 405, path);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${server.adminUrl}${path}`, { method: 'HEAD' });
    assert.equal(head.status, 200, `HEAD ${path}`);
    assert.equal(await head.text(), '');
  }
});

test('every log line is one JSON object with severity, message and time; requests have an access line', () => {
  assert.ok(server.logs.length > 5);
  for (const entry of server.logs) {
    assert.ok(!entry.unparsable, `not JSON: ${entry.unparsable}`);
    assert.match(entry.severity, /^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$/);
    assert.equal(typeof entry.message, 'string');
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  }
  const access = server.logs.filter((e) => e.message === 'request' && e.httpRequest?.requestUrl === '/v1/audio/transcriptions');
  assert.ok(access.length >= 5);
  assert.ok(access.every((e) => typeof e.request_id === 'string' && e.httpRequest.latency.endsWith('s')));
});

test('voxctl transcribe prints the transcript', () => {
  const clip = librivoxClips()[1];
  const out = execFileSync(`${BIN}/voxctl`, ['--server', server.url, 'transcribe', clip.file]).toString();
  assert.ok(wordErrorRate(clip.text, out) < 0.5, out);
  const streamed = execFileSync(`${BIN}/voxctl`, ['--server', server.url, 'transcribe', clip.file, '--stream', '--speed', '20']).toString();
  assert.ok(wordErrorRate(out, streamed) <= 0.15, `file: ${out} stream: ${streamed}`);
  const bad = spawnSync(`${BIN}/voxctl`, ['--server', server.url, 'transcribe', clip.file, '--language', 'xx']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr.toString(), /served languages/);
});

test('API keys: no key or a wrong one gets 401; a key\'s plan picks its own pool', async () => {
  process.env.VOXGATE_TEST_PREMIUM_KEY = 'premium-key-from-the-environment';
  const keyed = await Server.start({ config: `
pools:
  - {name: standard, languages: [en-US], engines: [{engine: pocketsphinx, capacity: 1}]}
  - {name: premium, languages: [en-US], engines: [{engine: pocketsphinx, capacity: 1}]}
routes:
  - {language: en, pool: standard}
  - {language: en, plan: premium, pool: premium}
api_keys:
  - {name: team-basic, sha256: ${sha256('basic-key')}}
  - {name: team-premium, plan: premium, env: VOXGATE_TEST_PREMIUM_KEY}
` });
  try {
    const clip = librivoxClips()[0];
    for (const auth of [null, 'Bearer wrong-key', 'basic-key']) {
      const res = await fetch(`${keyed.url}/v1/models`, { headers: auth ? { authorization: auth } : {} });
      assert.equal(res.status, 401, `${auth}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      const body = await res.text();
      assert.match(body, /API key|Authorization/);
      assert.ok(!body.includes('wrong-key'), 'a key is never echoed');
    }
    // The WebSocket upgrade is refused the same way, before any audio.
    const ws = spawnSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket',
      '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', `${keyed.url}/v1/recognize`]);
    assert.equal(ws.stdout.toString(), '401');

    const transcribe = async (apiKey) => new OpenAI({ apiKey, baseURL: `${keyed.url}/v1` }).audio.transcriptions.create(
      { file: await toFile(readFileSync(clip.file), 'clip.wav'), model: 'whisper-1' });
    const streams = async () => ({ standard: await keyed.metric('voxgate_router_streams_total', '{pool="standard"}') ?? 0,
      premium: await keyed.metric('voxgate_router_streams_total', '{pool="premium"}') ?? 0 });
    const basic = await transcribe('basic-key');
    assert.deepEqual(await streams(), { standard: 1, premium: 0 });
    const premium = await transcribe('premium-key-from-the-environment');
    assert.deepEqual(await streams(), { standard: 1, premium: 1 });
    assert.equal(premium.text, basic.text, 'the same engine and model behind both plans');
    const streamed = await streamFile(WebSocket, `${keyed.wsUrl}/v1/recognize`, clip.file,
      { headers: { authorization: 'Bearer premium-key-from-the-environment' } });
    assert.equal(streamed.code, 1000, streamed.reason);
    assert.deepEqual(await streams(), { standard: 1, premium: 2 });
    // voxctl takes the key from the environment, for HTTP and for streams.
    const voxctl = (args, key) => spawnSync(`${BIN}/voxctl`, ['--server', keyed.url, ...args],
      { env: { ...process.env, VOXGATE_API_KEY: key ?? '' } });
    assert.equal(voxctl(['models']).status, 1, 'no key: refused');
    assert.equal(voxctl(['models'], 'basic-key').status, 0);
    const streamed2 = voxctl(['transcribe', '--stream', '--speed', '20', clip.file], 'premium-key-from-the-environment');
    assert.equal(streamed2.status, 0, streamed2.stderr.toString());
    assert.deepEqual(await streams(), { standard: 1, premium: 3 });
    assert.ok(keyed.logs.some((e) => e.message === 'request' && e.api_key === 'team-premium'), 'access lines name the key');
    assert.ok(!JSON.stringify(keyed.logs).includes('premium-key-from-the-environment'), 'no log line holds a key');
  } finally {
    await keyed.stop();
  }
});
