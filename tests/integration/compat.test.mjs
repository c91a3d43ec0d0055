// Clients written to the vosk-server and mimi protocols as published, with node `ws`, against a
// real `voxgate serve`: the messages they expect, in the order they expect them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Server, oneRecognizer, librivoxClips, streamFile, sleep, synthesize, tempDir, wordErrorRate, withTimeout } from './harness.mjs';

let server, voskUrl;
const clip = librivoxClips()[1];
const pcm16k = readFileSync(clip.file).subarray(44);
before(async () => {
  server = await Server.start({ config: `
vosk_listen: 127.0.0.1:0
pools:
  - name: asr-en
    languages: [en-US]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines: [{engine: pocketsphinx, capacity: 4}]
  - name: mt
    service: mt
    languages: [en]
    engines: [{engine: apertium}]
  - name: tts
    service: tts
    languages: ["*"]
    engines: [{engine: espeak}]
` });
  voskUrl = `ws://${server.logs.find((e) => e.message === 'voxgate listening').vosk_listen}`;
});
after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0);
});

function open(url, options) {
  const ws = new WebSocket(url, options);
  const inbox = [];
  let waiting = null;
  ws.on('message', (data, isBinary) => {
    inbox.push({ data: data.toString(), isBinary });
    if (waiting) { waiting(); waiting = null; }
  });
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); ws.on('unexpected-response', (req, res) => reject(res)); });
  // The next message, as vosk's test.py awaits one after each send.
  const recv = async () => {
    if (inbox.length === 0) await withTimeout(new Promise((r) => { waiting = r; }), 30000, 'a reply');
    return JSON.parse(inbox.shift().data);
  };
  return { ws, inbox, closed, opened, recv };
}

// vosk-server's websocket/test.py: config, then 8000-byte frames each answered once, then eof.
// `paceMs` between frames, as a microphone client sends; 0: as fast as the replies come.
async function voskSession(url, { pcm = pcm16k, rate = 16000, eof = '{"eof" : 1}', config = true, eofBinary = false, paceMs = 0,
                                   configMessage = {} } = {}) {
  const c = open(url);
  await c.opened;
  if (config) c.ws.send(JSON.stringify({ config: { sample_rate: rate, ...configMessage } }));
  const replies = [];
  let sent = 0;
  for (let pos = 0; pos < pcm.length; pos += 8000) {
    c.ws.send(pcm.subarray(pos, pos + 8000));
    sent++;
    replies.push(await c.recv());
    if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
  }
  c.ws.send(eofBinary ? Buffer.from(eof) : eof);
  const final = await c.recv();
  const close = await withTimeout(c.closed, 30000, 'server closes after eof');
  await new Promise((r) => setTimeout(r, 50));
  return { sent, replies, final, close, extra: c.inbox };
}

function voskText(s) {
  return [...s.replies.filter((r) => r.text !== undefined).map((r) => r.text), s.final.text].filter(Boolean).join(' ');
}

test('vosk: one reply per audio message, partial or result; eof gives the final result and the server closes', async () => {
  // 0.25 s frames at real time, as from a microphone, so replies carry partials as the recognizer
  // hears. It runs behind the client by as much as the machine's load makes it (over 3 s in CI,
  // beside the failover tests), so the clip is the longest one (7.1 s): a short one could be sent
  // whole before the first partial came back.
  const long = librivoxClips()[0];
  const s = await voskSession(voskUrl, { pcm: readFileSync(long.file).subarray(44), paceMs: 250 });
  console.log(`paced session: ${s.replies.filter((r) => r.partial).length} of ${s.replies.length} replies carry a partial`);
  assert.equal(s.replies.length, s.sent, 'exactly one reply per audio message');
  assert.deepEqual(s.extra, [], 'nothing else arrives');
  for (const r of s.replies) {
    assert.ok(typeof r.partial === 'string' || typeof r.text === 'string', JSON.stringify(r));
    if (r.text) {
      assert.ok(Array.isArray(r.result) && r.result.length > 0, 'words are on by default, as in vosk-server');
      for (const w of r.result) assert.deepEqual(Object.keys(w).sort(), ['conf', 'end', 'start', 'word']);
    }
  }
  assert.ok(s.replies.some((r) => r.partial), 'partials while speech goes on');
  assert.equal(typeof s.final.text, 'string');
  assert.equal(s.close.code, 1000);
  const wer = wordErrorRate(long.text, voskText(s));
  assert.ok(wer < 0.5, `WER ${wer}: ${voskText(s)}`);
});

test('vosk: /vosk on the main listener too; 8 kHz audio; eof without spaces or as a binary frame; no config', async () => {
  const dir = tempDir();
  const file8k = path.join(dir, 'clip8k.raw');
  execFileSync('sox', ['-D', clip.file, '-r', '8000', '-t', 'raw', file8k]);
  const pcm8k = readFileSync(file8k);
  const a = await voskSession(`${server.wsUrl}/vosk`, { pcm: pcm8k, rate: 8000, eof: '{"eof":1}' });
  assert.equal(a.replies.length, a.sent);
  assert.ok(wordErrorRate(clip.text, voskText(a)) < 0.6, voskText(a));
  const b = await voskSession(voskUrl, { eofBinary: true, config: false });
  assert.equal(b.replies.length, b.sent);
  assert.equal(b.close.code, 1000);
  assert.ok(wordErrorRate(clip.text, voskText(b)) < 0.5, voskText(b));
});

test('vosk: phrase_list restricts the words recognized, as a grammar', async () => {
  const dir = tempDir();
  const digits = synthesize('three five seven nine two', path.join(dir, 'digits.wav'));
  const vocabulary = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  const s = await voskSession(voskUrl, { pcm: readFileSync(digits).subarray(44), configMessage: { phrase_list: [...vocabulary, '[unk]'] } });
  const text = voskText(s);
  assert.ok(text.length > 0);
  console.log(`phrase_list recognition: "${text}"`);
  for (const w of text.split(' ')) assert.ok(vocabulary.includes(w), `"${w}" is not in the phrase list: ${text}`);
  assert.ok(wordErrorRate('three five seven nine two', text) < 0.5, text);
});

test('vosk: words off, max_alternatives, and what is refused', async () => {
  const c = open(voskUrl);
  await c.opened;
  c.ws.send(JSON.stringify({ config: { sample_rate: 16000, words: 0, max_alternatives: 3 } }));
  for (let pos = 0; pos < pcm16k.length; pos += 32000) {
    c.ws.send(pcm16k.subarray(pos, pos + 32000));
    await c.recv();
  }
  c.ws.send('{"eof" : 1}');
  const final = await c.recv();
  assert.ok(Array.isArray(final.alternatives) && final.alternatives.length === 1, JSON.stringify(final));
  assert.equal(final.alternatives[0].result, undefined, 'words off');
  assert.equal((await c.closed).code, 1000);
  for (const [message, code, reason] of [
    [JSON.stringify({ config: { sample_rate: 16000, phrase_list: ['yes', 'zorblax'] } }), 1007, /phrase_list: not in the recognizer's dictionary: zorblax/],
    [JSON.stringify({ config: { sample_rate: 'fast' } }), 1007, /sample_rate must be a number/],
    ['hello', 1007, /text messages are/],
  ]) {
    const r = open(voskUrl);
    await r.opened;
    r.ws.send(message);
    r.ws.send(pcm16k.subarray(0, 8000));
    const close = await withTimeout(r.closed, 10000, 'close');
    assert.equal(close.code, code, close.reason);
    assert.match(close.reason, reason);
  }
  const big = open(voskUrl);
  await big.opened;
  big.ws.send(Buffer.alloc(2 << 20));
  const tooBig = await withTimeout(big.closed, 10000, 'close');
  assert.equal(tooBig.code, 1009, tooBig.reason);
  assert.match(tooBig.reason, /message exceeds the limit of 1048576 bytes/);
  const late = open(voskUrl);
  await late.opened;
  late.ws.send(pcm16k.subarray(0, 8000));
  await late.recv();
  late.ws.send(JSON.stringify({ config: { sample_rate: 8000 } }));
  const refused = await withTimeout(late.closed, 10000, 'close');
  assert.equal(refused.code, 1008, refused.reason);
  assert.match(refused.reason, /a config must come before the first audio frame/);
  const page = await fetch(`http://${voskUrl.slice(5)}/`);
  assert.equal(page.status, 404, 'the vosk listener speaks only the vosk protocol');
});

const mimiHeaders = (process, extra = {}) => ({ 'x-mimi-process': process, 'x-mimi-input-language': 'en',
  'content-type': 'audio/x-pcm;bit=16;rate=16000;channels=1', ...extra });

// A mimi client: audio in 16 KiB frames without waiting (libmimiio's tx thread), then recog-break.
async function mimiSession(url, headers, pcm = pcm16k) {
  const c = open(url, { headers });
  await c.opened;
  for (let pos = 0; pos < pcm.length; pos += 16384) c.ws.send(pcm.subarray(pos, pos + 16384));
  c.ws.send(JSON.stringify({ command: 'recog-break' }));
  const close = await withTimeout(c.closed, 60000, 'server closes after recog-finished');
  return { close, messages: c.inbox.map((m) => JSON.parse(m.data)) };
}

test('mimi asr: in-progress messages, then one recog-finished with every word, then close 1000', async () => {
  const { close, messages } = await mimiSession(server.wsUrl + '/', mimiHeaders('asr'));
  assert.equal(close.code, 1000, close.reason);
  assert.ok(messages.length >= 2);
  const sessions = new Set(messages.map((m) => m.session_id));
  assert.equal(sessions.size, 1);
  assert.match([...sessions][0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const m of messages) assert.equal(m.type, 'asr#mimilvcsr');
  assert.ok(messages.slice(0, -1).every((m) => m.status === 'recog-in-progress'));
  const last = messages.at(-1);
  assert.equal(last.status, 'recog-finished');
  let previousEnd = 0;
  for (const w of last.response) {
    assert.deepEqual(Object.keys(w).sort(), ['pronunciation', 'result', 'time']);
    assert.ok(Number.isInteger(w.time[0]) && w.time[0] <= w.time[1] && w.time[0] >= previousEnd - 1, JSON.stringify(w));
    previousEnd = w.time[1];
  }
  const text = last.response.map((w) => w.result).join(' ');
  assert.ok(wordErrorRate(clip.text, text) < 0.5, text);
});

test('mimi nict-asr v2 (headers) and v1 (browser query parameters)', async () => {
  const v2 = await mimiSession(server.wsUrl + '/', mimiHeaders('nict-asr', { 'x-mimi-nict-asr-options': 'response_format=v2;progressive=true;temporary=true' }));
  assert.equal(v2.close.code, 1000, v2.close.reason);
  for (const m of v2.messages) assert.equal(m.type, 'asr#nictlvcsr2');
  assert.ok(v2.messages.some((m) => m.response[0].determined === false), 'temporary hypotheses');
  assert.equal(v2.messages.at(-1).status, 'recog-finished');
  assert.equal(v2.messages.filter((m) => m.status === 'recog-finished').length, 1);
  const determined = v2.messages.filter((m) => m.response[0].determined).map((m) => m.response[0].result).join(' ');
  assert.ok(wordErrorRate(clip.text, determined) < 0.5, determined);
  const query = new URLSearchParams({ process: 'nict-asr', 'input-language': 'en', 'content-type': 'audio/x-pcm;bit=16;rate=16000;channels=1' });
  const v1 = await mimiSession(`${server.wsUrl}/?${query}`, {});
  assert.equal(v1.close.code, 1000, v1.close.reason);
  const finished = v1.messages.at(-1);
  assert.equal(finished.type, 'asr#nictlvcsr');
  assert.equal(finished.response.at(-1).result, '|||UTT-END||||');
  const words = v1.messages.flatMap((m) => m.response.map((r) => r.result.split('|')[0])).filter(Boolean).join(' ');
  assert.ok(wordErrorRate(clip.text, words) < 0.5, words);
});

test('mimi: refusals come in the handshake; HTTP recognition, translation and synthesis', async () => {
  for (const [headers, status, message] of [
    [mimiHeaders('asr', { 'x-mimi-input-language': 'ja' }), 404, /no engine serves language "ja"/],
    [mimiHeaders('google-asr'), 400, /x-mimi-process "google-asr" is not supported here \(supported: asr, nict-asr\)/],
    [mimiHeaders('asr', { 'content-type': 'audio/x-flac;rate=16000' }), 400, /Content-Type/],
  ]) {
    const c = open(server.wsUrl + '/', { headers });
    const res = await c.opened.then(() => null, (r) => r);
    assert.equal(res?.statusCode, status);
    const body = await new Promise((resolve) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(JSON.parse(b))); });
    assert.match(body.error.message, message);
    // Counted and logged with the mimi streams it refused, not as an unknown route.
    const id = res.headers['x-request-id'];
    const line = await server.waitForLine((e) => e.request_id === id, `access line of ${id}`);
    assert.equal(line.route, '/mimi', JSON.stringify(line));
  }
  const http = await fetch(`${server.url}/`, { method: 'POST', headers: mimiHeaders('asr'), body: pcm16k });
  const recognized = await http.json();
  assert.equal(recognized.status, 'recog-finished');
  assert.ok(wordErrorRate(clip.text, recognized.response.map((w) => w.result).join(' ')) < 0.5);
  const translated = await fetch(`${server.url}/machine_translation`, { method: 'POST',
    body: new URLSearchParams({ text: 'Good morning.', source_lang: 'en', target_lang: 'es' }) });
  assert.deepEqual(await translated.json(), ['Buenos días.']);
  const spoken = await fetch(`${server.url}/speech_synthesis`, { method: 'POST',
    body: new URLSearchParams({ text: 'Good morning.', lang: 'en', engine: 'nict', gender: 'female', audio_format: 'WAV' }) });
  assert.equal(spoken.status, 200);
  const wav = Buffer.from(await spoken.arrayBuffer());
  assert.equal(wav.toString('latin1', 0, 4), 'RIFF');
  assert.equal(wav.readUInt32LE(40), wav.length - 44, 'a whole WAV file states its length');
  const bad = await fetch(`${server.url}/speech_synthesis`, { method: 'POST', body: new URLSearchParams({ text: 'x', lang: 'en', audio_format: 'Speex' }) });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /Speex/);
});

// The idle timeout counts the client's silence only. Each client here sends 21 s of audio as fast
// as it may, so the server keeps it waiting for longer than the 1 s timeout: its audio is held
// back (the pool takes 10 s ahead), then the last results take seconds after its end of audio.
test('idle timeout: a client the server keeps waiting is never cut off; a silent one gets close 1008 and the reason', async () => {
  const idle = await Server.start({ config: oneRecognizer('vosk_listen: 127.0.0.1:0\nlimits: {idle_timeout_seconds: 1}') });
  try {
    const url = `ws://${idle.logs.find((e) => e.message === 'voxgate listening').vosk_listen}`;
    const short = librivoxClips()[0];
    const file = path.join(idle.dir, 'long.wav');
    execFileSync('sox', [short.file, file, 'repeat', '2']);
    const pcm = readFileSync(file).subarray(44);
    const reference = Array(3).fill(short.text).join(' ');

    const vosk = await voskSession(url, { pcm });
    const mimi = await mimiSession(idle.wsUrl + '/', mimiHeaders('asr'), pcm);
    const native = await streamFile(WebSocket, `${idle.wsUrl}/v1/recognize?language=en-US`, file, { chunkMs: 250 });
    assert.equal(vosk.close.code, 1000, vosk.close.reason);
    assert.ok(wordErrorRate(reference, voskText(vosk)) < 0.5, voskText(vosk));
    assert.equal(mimi.close.code, 1000, mimi.close.reason);
    const mimiText = mimi.messages.at(-1).response.map((w) => w.result).join(' ');
    assert.ok(wordErrorRate(reference, mimiText) < 0.5, mimiText);
    assert.equal(native.code, 1000, native.reason);
    assert.ok(wordErrorRate(reference, native.text) < 0.5, native.text);

    // The last native client sends not even its config.
    const silentClients = [open(url), open(idle.wsUrl + '/', { headers: mimiHeaders('asr') }), open(`${idle.wsUrl}/v1/recognize?language=en-US`),
      open(`${idle.wsUrl}/v1/recognize`)];
    for (const silent of silentClients) {
      await silent.opened;
      const close = await withTimeout(silent.closed, 10000, 'close of a silent client');
      assert.equal(close.code, 1008, close.reason);
      assert.match(close.reason, /no message for 1 s/);
    }
    // The client's silence is its own doing, not a server error.
    for (const [route, clients] of [['/vosk', 1], ['/mimi', 1], ['/v1/recognize', 2]]) {
      const silentLine = (e) => e.message === 'stream' && e.route === route && e.error_code === 'deadline_exceeded';
      const deadline = Date.now() + 5000;
      while (idle.logs.filter(silentLine).length < clients && Date.now() < deadline) await sleep(20);
      const lines = idle.logs.filter(silentLine);
      assert.equal(lines.length, clients, `${route}: an access line for each silent client: ${JSON.stringify(idle.logs.filter((e) => e.route === route))}`);
      for (const line of lines) assert.equal(line.outcome, 'client_error', JSON.stringify(line));
    }
  } finally {
    await idle.stop();
  }
});

// limits.max_stream_seconds counts the client's samples at the client's rate: a stream of exactly
// the limit keeps its results on every protocol (the resampler's tail once pushed vosk and mimi
// over at the end of audio, losing the whole stream), and one sample more is refused with 1009.
test('a stream of exactly max_stream_seconds keeps its results on every protocol; one sample more gets 1009', async () => {
  const limited = await Server.start({ config: oneRecognizer('limits: {max_stream_seconds: 2}') });
  try {
    const rate = 8000;  // resampled to the model's 16 kHz
    const audio = (samples) => pcm16k.subarray(0, samples * 2);
    const protocols = {
      vosk: { url: `${limited.wsUrl}/vosk`, options: {}, config: JSON.stringify({ config: { sample_rate: rate } }), eof: '{"eof" : 1}' },
      mimi: { url: `${limited.wsUrl}/`, options: { headers: mimiHeaders('asr', { 'content-type': `audio/x-pcm;bit=16;rate=${rate};channels=1` }) },
        eof: '{"command":"recog-break"}' },
      native: { url: `${limited.wsUrl}/v1/recognize?sample_rate=${rate}`, options: {}, eof: '{"type":"end"}' },
    };
    for (const [name, p] of Object.entries(protocols)) {
      for (const [samples, code] of [[2 * rate, 1000], [2 * rate + 1, 1009]]) {
        const c = open(p.url, p.options);
        await withTimeout(c.opened, 10000, `${name} opens`);
        if (p.config) c.ws.send(p.config);
        c.ws.send(audio(samples));
        c.ws.send(p.eof);
        const close = await withTimeout(c.closed, 30000, `${name} closes`);
        assert.equal(close.code, code, `${name}, ${samples} samples: ${close.reason}`);
        if (code === 1009) assert.match(close.reason, /stream exceeds the limit of 2 s of audio/);
      }
    }
  } finally {
    await limited.stop();
  }
});
