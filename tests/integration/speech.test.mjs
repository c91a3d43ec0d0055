// Speech synthesis through `voxgate serve` (the embedded default: pocketsphinx, apertium and two
// espeak-ng engine processes): the official openai SDK's audio.speech.create, a round trip
// through the platform's own recognizer, every format, bad input, voxctl speak, spoken speech
// translation, and an engine killed under load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import WebSocket from 'ws';
import { Server, BIN, sleep, synthesize, tempDir, wordErrorRate, withTimeout } from './harness.mjs';

const TEXT = 'The quick brown fox jumps over the lazy dog. Five hundred people came to the meeting yesterday.';
let server, client;
before(async () => {
  server = await Server.start({ config: null });
  client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1` });
});
after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, 'voxgate exits 0 after SIGTERM');
});

// The fields of a PCM WAV header (RIFF, "fmt " at 12, "data" at 36).
function wavHeader(bytes) {
  assert.equal(bytes.toString('latin1', 0, 4), 'RIFF');
  assert.equal(bytes.toString('latin1', 8, 16), 'WAVEfmt ');
  assert.equal(bytes.toString('latin1', 36, 40), 'data');
  return { format: bytes.readUInt16LE(20), channels: bytes.readUInt16LE(22), rate: bytes.readUInt32LE(24),
           bits: bytes.readUInt16LE(34), riffSize: bytes.readUInt32LE(4), dataSize: bytes.readUInt32LE(40) };
}

async function transcribe(wavBytes) {
  const r = await client.audio.transcriptions.create({ file: await toFile(wavBytes, 'speech.wav'), model: 'whisper-1' });
  return r.text;
}

async function speech(body) {
  const res = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' },
                                                             body: typeof body === 'string' ? body : JSON.stringify(body) });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, json: () => JSON.parse(bytes.toString()) };
}

test('the openai SDK speaks a text; the WAV plays and the platform recognizes what it says', async () => {
  const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: TEXT, response_format: 'wav' });
  assert.equal(response.headers.get('content-type'), 'audio/wav');
  assert.equal(response.headers.get('transfer-encoding'), 'chunked', 'streamed as it is synthesized');
  const wav = Buffer.from(await response.arrayBuffer());
  const h = wavHeader(wav);
  assert.deepEqual([h.format, h.channels, h.rate, h.bits], [1, 1, 24000, 16], 'PCM, mono, 24 kHz, 16-bit as OpenAI sends');
  assert.equal(h.dataSize, 0xFFFFFFFF, 'a streamed WAV states "unknown length", as OpenAI\'s does');
  assert.equal((wav.length - 44) % 2, 0, 'whole samples');
  const seconds = (wav.length - 44) / 2 / 24000;
  const words = TEXT.split(' ').length;
  assert.ok(seconds > words * 0.2 && seconds < words * 0.8, `${seconds} s for ${words} words`);
  // sox, a player's decoder, reads all of it.
  const dir = tempDir();
  const file = path.join(dir, 'speech.wav');
  execFileSync('sh', ['-c', `cat > ${file}`], { input: wav });
  const stat = spawnSync('sox', [file, '-n', 'stat']).stderr.toString();
  assert.ok(Math.abs(Number(/Length \(seconds\):\s+([\d.]+)/.exec(stat)[1]) - seconds) < 0.01, stat);
  // TTS → ASR round trip.
  const heard = await transcribe(wav);
  const wer = wordErrorRate(TEXT, heard);
  console.log(`TTS→ASR round trip WER ${wer.toFixed(2)}: "${heard}"`);
  assert.ok(wer < 0.5, `WER ${wer}: "${heard}"`);
});

test('every OpenAI voice name speaks, and the voices are listed', async () => {
  const voices = (await (await fetch(`${server.url}/v1/audio/voices`)).json()).data;
  const names = voices.map((v) => v.id);
  for (const v of ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse']) {
    assert.ok(names.includes(v), `${v} is listed`);
    const r = await speech({ model: 'tts-1', voice: v, input: 'Good morning.', response_format: 'pcm' });
    assert.equal(r.status, 200, `${v}: ${r.bytes.toString().slice(0, 200)}`);
    assert.ok(r.bytes.length > 24000 * 2 * 0.3, `${v}: ${r.bytes.length} bytes of audio`);
  }
  assert.ok(voices.some((v) => v.language === 'es'), 'other languages are spoken too');
  assert.ok((await (await fetch(`${server.url}/v1/models`)).json()).data.some((m) => m.service === 'tts'));
});

test('every format: wav, pcm, flac and Ogg Opus carry the same speech', async () => {
  const input = 'One two three four five.';
  const wav = await speech({ input, voice: 'onyx', response_format: 'wav' });
  const pcm = await speech({ input, voice: 'onyx', response_format: 'pcm' });
  const flac = await speech({ input, voice: 'onyx', response_format: 'flac' });
  const opus = await speech({ input, voice: 'onyx', response_format: 'opus' });
  assert.equal(pcm.headers.get('content-type'), 'audio/pcm');
  assert.equal(flac.bytes.toString('latin1', 0, 4), 'fLaC');
  assert.equal(opus.bytes.toString('latin1', 0, 4), 'OggS');
  assert.ok(opus.bytes.includes(Buffer.from('OpusHead')));
  const seconds = (wav.bytes.length - 44) / 2 / 24000;
  // espeak's timing varies a little from run to run; each is the same text at the same speed.
  assert.ok(Math.abs(pcm.bytes.length / 2 / 24000 - seconds) < 0.15 * seconds);
  const dir = tempDir();
  for (const [name, r] of [['flac', flac], ['ogg', opus]]) {
    const file = path.join(dir, `speech.${name}`);
    execFileSync('sh', ['-c', `cat > ${file}`], { input: r.bytes });
    assert.ok(r.bytes.length < wav.bytes.length * (name === 'flac' ? 0.8 : 0.2), `${name} is compressed`);
    if (name === 'flac') {
      const stat = spawnSync('sox', [file, '-n', 'stat']).stderr.toString();
      assert.ok(Math.abs(Number(/Length \(seconds\):\s+([\d.]+)/.exec(stat)[1]) - seconds) < 0.15 * seconds, stat);
    }
  }
  const heard = await transcribe(flac.bytes);  // the server's own decoder reads FLAC
  assert.ok(wordErrorRate(input, heard) < 0.5, heard);
});

test('speed and language: speed 2 is about half as long; Spanish has its own voice', async () => {
  const normal = await speech({ input: TEXT, voice: 'echo', response_format: 'pcm' });
  const fast = await speech({ input: TEXT, voice: 'echo', response_format: 'pcm', speed: 2 });
  const ratio = fast.bytes.length / normal.bytes.length;
  assert.ok(ratio > 0.4 && ratio < 0.65, `speed 2: ${ratio} of the length`);
  const spanish = await speech({ input: 'Buenos días a todos.', language: 'es', response_format: 'pcm' });
  assert.equal(spanish.status, 200);
  assert.ok(spanish.bytes.length > 24000);
});

test('bad input gets a clear 4xx with a JSON body; markup is read, never obeyed', async () => {
  const cases = [
    [{ model: 'tts-1', voice: 'alloy', input: '' }, 400, /"input" is required/],
    [{ model: 'tts-1', voice: 'alloy', input: 'a'.repeat(4097) }, 413, /4096/],
    [{ model: 'tts-1', voice: 'alloy', input: 'bell\u0007' }, 400, /control character/],
    [{ model: 'tts-1', voice: 'nova2', input: 'Hello' }, 404, /unknown voice "nova2"; voices: alloy, /],
    [{ model: 'tts-1', voice: 'alloy', input: 'Hola', language: 'es' }, 400, /voice "alloy" speaks en-US, not "es"; leave the language out/],
    [{ model: 'tts-1', voice: 'es', input: 'Bonjour', language: 'fr' }, 400, /voice "es" speaks es, not "fr"/],
    [{ model: 'tts-1', voice: 'alloy', input: 'Hello', speed: 5 }, 400, /0.25 to 4.0/],
    [{ model: 'tts-1', voice: 'alloy', input: 'Hello', speed: 3.5 }, 400, /speaking rate 3.5 is out of range: espeak-ng speaks from 0.46 to 2.57/],
    [{ model: 'tts-1', voice: 'alloy', input: 'Hello', response_format: 'mp3' }, 400, /mp3 and aac are not supported/],
    [{ model: 'piper', voice: 'alloy', input: 'Hello' }, 404, /piper/],
    [{ model: 'tts-1', voice: 'alloy', input: '...' }, 400, /nothing to speak/],
    ['{"input": "unterminated', 400, /the body is not valid JSON: .*missing closing quote/],
  ];
  for (const [body, status, message] of cases) {
    const r = await speech(body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)}: ${r.bytes.toString().slice(0, 300)}`);
    assert.match(r.json().error.message, message, JSON.stringify(body).slice(0, 80));
  }
  const notUtf8 = await speech(Buffer.from('{"input": "caf\xe9", "voice": "alloy"}', 'latin1'));
  assert.equal(notUtf8.status, 400);
  // An SSML break of 10 s, were it obeyed, would make this over 10 s long.
  const markup = await speech({ voice: 'alloy', input: 'Hello <break time="10s"/> world [[h@l@U]]', response_format: 'pcm' });
  assert.equal(markup.status, 200);
  assert.ok(markup.bytes.length / 2 / 24000 < 6, `${markup.bytes.length / 48000} s`);
  const get = await fetch(`${server.url}/v1/audio/speech`);
  assert.equal(get.status, 405, 'GET is not a synthesis');
  assert.equal(get.headers.get('allow'), 'POST');
});

test('voxctl speak writes a WAV file of the stated length, or prints the server\'s error', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'out.wav');
  execFileSync(`${BIN}/voxctl`, ['--server', server.url, 'speak', 'Seven green apples are on the table.', '-o', file, '--voice', 'fable']);
  const wav = readFileSync(file);
  const h = wavHeader(wav);
  assert.equal(h.dataSize, wav.length - 44, 'the file states its real length');
  assert.equal(h.riffSize, wav.length - 8);
  const heard = await transcribe(wav);
  assert.ok(wordErrorRate('Seven green apples are on the table.', heard) < 0.5, heard);
  const bad = spawnSync(`${BIN}/voxctl`, ['--server', server.url, 'speak', 'Hello', '-o', file, '--voice', 'nobody']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr.toString(), /unknown voice "nobody"/);
});

test('spoken speech translation: an English utterance comes back as its Spanish translation, in text and in audio', async () => {
  const dir = tempDir();
  const clip = synthesize('I have two big dogs.', path.join(dir, 'dogs.wav'));
  const pcm = readFileSync(clip).subarray(44);
  const ws = new WebSocket(`${server.wsUrl}/v1/recognize?language=en-US&translate_to=es&speak=true`);
  const events = [];
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data, isBinary) => events.push(isBinary ? { audio: data.length } : JSON.parse(data.toString())));
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  for (let pos = 0; pos < pcm.length; pos += 3200) ws.send(pcm.subarray(pos, pos + 3200));
  ws.send(JSON.stringify({ type: 'end' }));
  const { code, reason } = await withTimeout(closed, 60000, 'stream close');
  assert.equal(code, 1000, reason);
  const finals = events.filter((e) => e.type === 'final' && e.text);
  assert.ok(finals.length >= 1, JSON.stringify(events));
  for (const f of finals) {
    // The recognizer writes "i"; the translation is of "I" (else apertium keeps "i" as unknown).
    const direct = await (await fetch(`${server.url}/v1/translate`, { method: 'POST',
      body: JSON.stringify({ text: f.text.replace(/\bi\b/g, 'I'), source: 'en', target: 'es' }) })).json();
    assert.equal(f.translation, direct.text, 'the Spanish translation of its transcript');
    assert.doesNotMatch(f.translation, /\bi\b/);
    // Its audio follows it: speech_start, binary frames, speech_end.
    const i = events.indexOf(f);
    assert.equal(events[i + 1].type, 'speech_start');
    assert.equal(events[i + 1].text, f.translation);
    assert.equal(events[i + 1].sample_rate, 16000);
    let bytes = 0, j = i + 2;
    for (; events[j].audio !== undefined; ++j) bytes += events[j].audio;
    assert.equal(events[j].type, 'speech_end');
    assert.ok(bytes > 16000, `${bytes} bytes of Spanish speech`);
    assert.ok(Math.abs(events[j].duration - bytes / 32000) < 0.001);
  }
  console.log(`heard "${finals.map((f) => f.text).join(' ')}", spoke "${finals.map((f) => f.translation).join(' ')}"`);
  // Without translate_to there is nothing to speak; a voice that does not speak Spanish is refused at once.
  for (const [query, code, message] of [['speak=true', 1007, /speak needs translate_to/],
                                        ['translate_to=es&speak=true&voice=alloy', 1007, /voice "alloy" speaks en-US, not "es"/]]) {
    const refused = new WebSocket(`${server.wsUrl}/v1/recognize?${query}`);
    const messages = [];
    refused.on('message', (d) => messages.push(JSON.parse(d.toString())));
    const c = await new Promise((resolve) => refused.on('close', (closeCode) => resolve(closeCode)));
    assert.equal(c, code);
    assert.match(messages.at(-1).message, message);
  }
});

test('kill -9 of a synthesizer under load: requests go to the other one; none gets a silently short answer', async () => {
  const states = async () => (await (await fetch(`${server.adminUrl}/v1/status`)).json()).pools.find((p) => p.name === 'tts').engines.map((e) => e.state);
  while ((await states()).some((s) => s !== 'healthy')) await sleep(100);
  const engines = execFileSync('pgrep', ['-P', String(server.proc.pid), '-f', 'voxgate-engine-espeak']).toString().trim().split('\n');
  assert.equal(engines.length, 2);
  const expected = (await speech({ voice: 'sage', input: 'The weather is nice today.', response_format: 'pcm' })).bytes.length;
  const failures = [], cutOff = [];
  let done = 0;
  const worker = async () => {
    for (let i = 0; i < 40; i++) {
      try {
        const r = await speech({ voice: 'sage', input: 'The weather is nice today.', response_format: 'pcm' });
        // espeak's timing varies a little from run to run: the same text, about the same length.
        if (r.status !== 200 || Math.abs(r.bytes.length - expected) > 0.1 * expected) failures.push(`${r.status} ${r.bytes.length} ${r.bytes.toString().slice(0, 200)}`);
      } catch (e) {
        cutOff.push(String(e.cause ?? e));  // the body ended without its last chunk: visibly incomplete
      }
      done++;
    }
  };
  const load = Promise.all([worker(), worker(), worker()]);
  while (done < 30) await sleep(5);
  process.kill(Number(engines[0]), 'SIGKILL');
  await load;
  // A synthesis that dies before its first audio is retried on the other engine; one that had
  // already sent audio cannot be taken back and ends the response without its last chunk.
  assert.deepEqual(failures, [], 'every answer is whole');
  assert.ok(cutOff.length <= 3, `at most the requests the engine was speaking are cut off: ${cutOff.join('; ')}`);
});

test('after all of that, the metrics are clean for promtool and count the synthesis', async () => {
  const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text });
  assert.equal(check.status, 0, check.stdout.toString() + check.stderr.toString());
  assert.ok(await server.metric('voxgate_router_syntheses_total', '{pool="tts"}') > 10);
  assert.ok(await server.metric('voxgate_audio_seconds_total', '{route="/v1/audio/speech"}') > 10);
  assert.ok(await server.metric('voxgate_synthesis_first_audio_seconds_count') > 10);
});
