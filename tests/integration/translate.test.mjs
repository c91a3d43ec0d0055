// Machine translation through `voxgate serve` with two real apertium engine processes: the HTTP
// API (curl, fetch), voxctl, bad input, and an engine killed under load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Server, BIN, librivoxClips, sleep, streamFile, tempDir } from './harness.mjs';

let server;
before(async () => {
  server = await Server.start({ config: `
pools:
  - name: mt-en
    service: mt
    languages: [en]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines: [{engine: apertium, replicas: 2}]
` });
});
after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, 'voxgate exits 0 after SIGTERM');
});

async function translate(body) {
  const res = await fetch(`${server.url}/v1/translate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: await res.json() };
}

test('curl translates a text and a batch; the language pairs are listed', async () => {
  const out = execFileSync('curl', ['-sS', '-X', 'POST', `${server.url}/v1/translate`, '-H', 'content-type: application/json',
    '-H', 'x-request-id: translate-curl', '-d', '{"text": "Hello world. The cat is black.", "source": "en", "target": "es"}']).toString();
  assert.deepEqual(JSON.parse(out), { text: 'Hola Mundo. El gato es negro.', source: 'en', target: 'es', model: 'apertium-eng-spa' });
  const line = await server.waitForLine((e) => e.message === 'request' && e.request_id === 'translate-curl', 'access line');
  assert.equal(line.language, 'en', 'the access line names the language translated from');
  const batch = await translate(JSON.stringify({ texts: ['Good morning.', 'I have two dogs.\nThey are big.'], source: 'en', target: 'es' }));
  assert.equal(batch.status, 200, JSON.stringify(batch.body));
  assert.deepEqual(batch.body.texts, ['Buenos días.', 'Tengo dos perros.\nSon grandes.']);
  const pairs = await (await fetch(`${server.url}/v1/translate/languages`)).json();
  assert.deepEqual(pairs, { pairs: [{ source: 'en', target: 'es', model: 'apertium-eng-spa' }] });
});

// The API returns apertium's text without its "*unknown" and "#generation-error" marks, which is
// what `apertium -u` prints.
test('a fixed sentence set translates exactly as apertium\'s own command line does', async () => {
  const sentences = ['The weather is nice today.', 'I would like a cup of coffee, please.', 'Where is the train station?',
    'My brother works in a hospital.', 'They bought three red apples and a loaf of bread.', 'Hello world.', 'The zorblax is here.'];
  const { body, status } = await translate(JSON.stringify({ texts: sentences, source: 'en', target: 'es' }));
  assert.equal(status, 200, JSON.stringify(body));
  // A file: apertium reads standard input only when it is a pipe, and node's are sockets.
  const file = path.join(tempDir(), 'sentences.txt');
  for (const [i, text] of sentences.entries()) {
    writeFileSync(file, text + '\n');
    const cli = execFileSync('apertium', ['-u', 'eng-spa', file]).toString().trim();
    assert.equal(body.texts[i], cli, text);
  }
});

test('bad input gets a clear 4xx with a JSON body; markup is text', async () => {
  const cases = [
    [JSON.stringify({ text: '', source: 'en', target: 'es' }), 400, /empty text/],
    [JSON.stringify({ text: '   ', source: 'en', target: 'es' }), 400, /empty text/],
    [JSON.stringify({ text: 'a'.repeat(20000), source: 'en', target: 'es' }), 413, /exceeds the limit/],
    [JSON.stringify({ text: 'bell\u0007', source: 'en', target: 'es' }), 400, /control character 0x7/],
    [JSON.stringify({ text: 'Hello', source: 'en', target: 'de' }), 404, /no engine translates en->de; pairs served: en->es/],
    [JSON.stringify({ text: 'Hello', source: 'fr', target: 'en' }), 404, /translates from language "fr"; served languages: en/],
    [JSON.stringify({ text: 'Hello', source: 'en' }), 400, /"target" is required/],
    ['{"text": "Hello", "source": "en", "target": "es"', 400, /not valid JSON: .*unexpected end of input/],
    [Buffer.from('{"text": "caf\xe9", "source": "en", "target": "es"}', 'latin1'), 400, /not valid JSON: .*UTF-8/],  // not UTF-8
  ];
  for (const [body, status, message] of cases) {
    const r = await translate(body);
    assert.equal(r.status, status, `${body.toString().slice(0, 60)}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, message);
  }
  const markup = await translate(JSON.stringify({ text: 'The [cat] is ^black$ <b>today</b>.', source: 'en', target: 'es' }));
  assert.equal(markup.status, 200);
  assert.match(markup.body.text, /\[.*\^.*\$.*<b>/, markup.body.text);
  const get = await fetch(`${server.url}/v1/translate`);
  assert.equal(get.status, 405, 'GET is not a translation');
  assert.equal(get.headers.get('allow'), 'POST');
});

test('the largest batch the limits allow (128 texts of 10 000 bytes) is translated, not timed out', async () => {
  const sentence = 'The cat is black. ';
  const text = sentence.repeat(Math.floor(10000 / sentence.length));
  const r = await translate(JSON.stringify({ texts: Array(128).fill(text), source: 'en', target: 'es' }));
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  assert.equal(r.body.texts.length, 128);
  for (const t of r.body.texts) assert.equal(t.match(/El gato es negro\./g)?.length, Math.floor(10000 / sentence.length), t.slice(0, 200));
});

test('voxctl translate prints the translation, or the server\'s error', () => {
  const out = execFileSync(`${BIN}/voxctl`, ['--server', server.url, 'translate', 'I like green apples.', '--from', 'en', '--to', 'es']);
  assert.equal(out.toString(), 'Me gustan las manzanas verdes.\n');
  const bad = spawnSync(`${BIN}/voxctl`, ['--server', server.url, 'translate', 'Hello', '--from', 'en', '--to', 'de']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr.toString(), /no engine translates en->de/);
});

test('kill -9 of an engine under load: every request still gets its translation', async () => {
  const sentences = ['The house is big.', 'We go to the beach tomorrow.', 'She reads a book.', 'The weather is nice today.'];
  const expected = [];
  for (const text of sentences) expected.push((await translate(JSON.stringify({ text, source: 'en', target: 'es' }))).body.text);
  // Both engines in rotation first: the one left takes over.
  const states = async () => (await (await fetch(`${server.adminUrl}/v1/status`)).json()).pools[0].engines.map((e) => e.state);
  while ((await states()).some((s) => s !== 'healthy')) await sleep(100);
  const engines = execFileSync('pgrep', ['-P', String(server.proc.pid), '-f', 'voxgate-engine-apertium']).toString().trim().split('\n');
  assert.equal(engines.length, 2);
  const failures = [];
  let done = 0;
  const worker = async (w) => {
    for (let i = 0; i < 60; i++) {
      const k = (w + i) % sentences.length;
      const r = await translate(JSON.stringify({ text: sentences[k], source: 'en', target: 'es' }));
      if (r.status !== 200 || r.body.text !== expected[k]) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
      done++;
    }
  };
  // Four clients: at most two calls on the killed engine, within the retry budget's floor of 3
  // (beyond it, retries are limited to 20 % of the calls in flight).
  const load = Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)));
  while (done < 40) await sleep(5);
  process.kill(Number(engines[0]), 'SIGKILL');
  await load;
  const health = server.logs.filter((e) => /rotation|unreachable|ejected|died/.test(e.message ?? '')).map((e) => `${e.message} ${e.engine} ${e.reason ?? ''}`);
  assert.deepEqual(failures, [], `no client saw the dead engine; pool saw: ${health.join('; ')}`);
  assert.ok(await server.metric('voxgate_pool_retries_total', '{pool="mt-en"}') >= 1, 'the failed calls were retried elsewhere');
});

test('speech translation: each final result of an English stream carries its Spanish translation', async () => {
  const both = await Server.start({ config: null });  // the embedded default: en-US recognition, en/es translation
  try {
    const clip = librivoxClips()[0];
    const r = await streamFile(WebSocket, `${both.wsUrl}/v1/recognize?language=en-US&translate_to=es`, clip.file);
    assert.equal(r.code, 1000, r.reason);
    const finals = r.messages.filter((m) => m.type === 'final');
    assert.ok(finals.length >= 1);
    for (const f of finals) {
      const direct = await (await fetch(`${both.url}/v1/translate`, { method: 'POST',
        body: JSON.stringify({ text: f.text.replace(/\bi\b/g, 'I'), source: 'en', target: 'es' }) })).json();
      assert.equal(f.translation, direct.text, 'the same translation as /v1/translate gives (of the transcript with its "I")');
      assert.notEqual(f.translation, f.text);
    }
    // A pair nobody translates is refused before any audio, with the pairs that exist.
    const refused = await streamFile(WebSocket, `${both.wsUrl}/v1/recognize?language=en-US&translate_to=de`, clip.file);
    assert.equal(refused.code, 1008, refused.reason);
    assert.match(refused.messages.at(-1).message, /no engine translates en-US->de; pairs served: .*en->es/);
  } finally {
    await both.stop();
  }
});
