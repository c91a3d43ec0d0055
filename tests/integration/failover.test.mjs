// The pool under faults, with real engine processes: killed and hung engines, saturation, and a
// rolling restart. Every stream's final results are compared with a run without the fault.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Server, BIN, librivoxClips, streamFile, tempDir, childPids, sleep, withTimeout } from './harness.mjs';

// Two-utterance recordings (two LibriVox clips, 1.5 s of silence after each), so that a failover
// can come after a final result and must resume from there.
let recordings;
before(() => {
  const dir = tempDir('voxgate-failover-');
  const clips = librivoxClips();
  recordings = [0, 1, 2, 3, 4].map((i) => {
    const file = path.join(dir, `pair-${i}.wav`);
    const first = path.join(dir, `first-${i}.wav`);
    execFileSync('sox', ['-D', clips[i].file, first, 'pad', '0', '1.5']);
    execFileSync('sox', ['-D', first, clips[(i + 1) % 5].file, file, 'pad', '0', '1.5']);
    return file;
  });
});

function poolConfig({ replicas = 2, capacity = 12, queue = '', extra = '' } = {}) {
  return `
pools:
  - name: asr-en
    languages: [en-US]
    health_check: {interval_seconds: 1, timeout_seconds: 1, jitter_seconds: 0.1}
    failover: {timeout_seconds: 90}
    ${queue}
    ${extra}
    engines:
      - {engine: pocketsphinx, capacity: ${capacity}, replicas: ${replicas}}
`;
}

function finalsOf(result) {
  return result.finals.map((m) => m.text).filter(Boolean);
}

// What each recording gives without any fault.
async function baseline(server) {
  return Promise.all(recordings.map(async (file) => {
    const r = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, file);
    assert.equal(r.code, 1000, r.reason);
    return finalsOf(r);
  }));
}

function logTime(server, message, after = 0) {
  const entry = server.logs.find((e) => e.message === message && Date.parse(e.time) >= after);
  return entry ? Date.parse(entry.time) : undefined;
}

test('kill -9 of an engine under 20 concurrent streams: every stream ends with the transcript it would have had', async () => {
  // 20 streams at full speed are ten times what 2 cores decode: a starved stream can go 15 s
  // without a result, which the hang check would take for a hang. The kill is what is tested here
  // (its streams see UNAVAILABLE at once), so the hang check waits longer.
  const server = await Server.start({ config: poolConfig({ extra: 'progress: {result_timeout_seconds: 120}' }) });
  try {
    const expected = await baseline(server);
    assert.ok(expected.every((f) => f.length === 2), `two final results per recording: ${JSON.stringify(expected)}`);
    const failoversBefore = (await server.metric('voxgate_pool_failovers_total', '{pool="asr-en"}')) ?? 0;
    let finals = 0;
    let finished = 0;
    const onMessage = (m) => { if (m.type === 'final') finals++; };
    const streams = Array.from({ length: 20 }, (_, i) =>
      streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, recordings[i % 5], { timeoutMs: 240000, onMessage })
        .then((r) => { finished++; return r; }));
    // Kill one engine once streams are under way: several have a final result (so they resume
    // after it), none has finished.
    const [victim] = childPids(server.proc.pid);
    const deadline = Date.now() + 120000;
    while (Date.now() < deadline && finals < 4) await sleep(20);
    assert.ok(finals >= 4 && finished === 0, `under way at the kill: ${finals} finals, ${finished} finished`);
    process.kill(victim, 'SIGKILL');
    const results = await Promise.all(streams);
    results.forEach((r, i) => {
      assert.equal(r.code, 1000, `stream ${i}: ${r.reason}`);
      assert.deepEqual(finalsOf(r), expected[i % 5], `stream ${i}`);
    });
    const failovers = (await server.metric('voxgate_pool_failovers_total', '{pool="asr-en"}')) - failoversBefore;
    assert.ok(failovers >= 1, `streams were moved (${failovers})`);
    assert.ok((await server.metric('voxgate_pool_replayed_audio_seconds_total', '{pool="asr-en"}')) > 0);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('SIGSTOP of an engine (a hang): detected within interval + timeout, its streams move, SIGCONT brings it back after two passing checks', async () => {
  const server = await Server.start({ config: poolConfig({ capacity: 3 }) });
  let victim;
  try {
    const expected = await baseline(server);
    // Real-time pace, so the streams are still open when the engine hangs.
    const streams = [0, 1, 2, 3].map((i) => streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, recordings[i], { paceMs: 100, timeoutMs: 120000 }));
    await sleep(2000);
    [victim] = childPids(server.proc.pid);
    const stoppedAt = Date.now();
    process.kill(victim, 'SIGSTOP');
    const results = await Promise.all(streams);
    results.forEach((r, i) => {
      assert.equal(r.code, 1000, `stream ${i}: ${r.reason}`);
      assert.deepEqual(finalsOf(r), expected[i], `stream ${i}`);
    });
    const outAt = logTime(server, 'engine out of rotation', stoppedAt - 1000);
    assert.ok(outAt !== undefined, 'the hang was detected');
    // interval 1 s (+ jitter 0.1 s) x unhealthy_threshold 1 + timeout 1 s, and a little slack for
    // log timestamps on a busy machine.
    assert.ok(outAt - stoppedAt <= 3500, `detected after ${outAt - stoppedAt} ms`);

    const contAt = Date.now();
    process.kill(victim, 'SIGCONT');
    victim = undefined;
    const until = Date.now() + 20000;
    let backAt;
    while (Date.now() < until && (backAt = logTime(server, 'engine in rotation', contAt)) === undefined) await sleep(100);
    assert.ok(backAt !== undefined, 'the engine came back');
    // healthy_threshold 2: the first passing check alone does not bring it back.
    assert.ok(backAt - contAt >= 900, `back after ${backAt - contAt} ms`);
  } finally {
    if (victim) process.kill(victim, 'SIGCONT');
    assert.equal((await server.stop()).code, 0);
  }
});

test('a client that pauses mid-utterance is not taken for a hung engine', async () => {
  const server = await Server.start({ config: poolConfig({ replicas: 1, extra: 'progress: {result_timeout_seconds: 3}' }) });
  try {
    // One stream at a time: under the load of many, a first result can take longer than 3 s.
    const alone = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, recordings[0]);
    assert.equal(alone.code, 1000, alone.reason);
    const expected = finalsOf(alone);
    // 1.05 s of speech, then 5 s of nothing: the engine has decoded what it could and keeps back
    // half a 100 ms piece; it owes nothing, whatever the result timeout.
    const pcm = readFileSync(recordings[0]).subarray(44);
    const ws = new WebSocket(`${server.wsUrl}/v1/recognize`);
    const finals = [];
    const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.type === 'final' && m.text) finals.push(m.text); });
    await new Promise((resolve) => ws.on('open', resolve));
    const split = 32 * 1050;
    ws.send(pcm.subarray(0, split));
    await sleep(5000);
    ws.send(pcm.subarray(split));
    ws.send(JSON.stringify({ type: 'end' }));
    const close = await withTimeout(closed, 60000, 'stream close');
    assert.equal(close.code, 1000, close.reason);
    assert.deepEqual(finals, expected);
    assert.equal(logTime(server, 'engine stopped making progress on a stream'), undefined, 'no hang reported');
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('saturation: beyond every slot streams queue, then get "over capacity, retry" after the queue timeout', async () => {
  const server = await Server.start({ config: poolConfig({ replicas: 1, capacity: 2, queue: 'queue: {max_streams: 2, timeout_seconds: 1}' }) });
  try {
    const open = [];
    const closed = [];
    const openStream = async () => {
      const ws = new WebSocket(`${server.wsUrl}/v1/recognize?language=en-US`);
      closed.push(new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() }))));
      await new Promise((r) => ws.on('open', r));
      ws.send(Buffer.alloc(3200));
      open.push(ws);
    };
    for (let i = 0; i < 4; i++) await openStream();  // 2 on the engine, 2 queued
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await server.metric('voxgate_pool_queued_streams', '{pool="asr-en"}')) !== 2) await sleep(20);
    assert.equal(await server.metric('voxgate_pool_queued_streams', '{pool="asr-en"}'), 2);
    // What an operator sees.
    const table = execFileSync(`${BIN}/voxctl`, ['status', '--admin', server.adminUrl]).toString();
    assert.match(table, /^POOL\s+ENGINE\s+STATE\s+STREAMS\s+LAST CHECK$/m);
    assert.match(table, /^asr-en\s+unix:\S+\s+healthy\s+2\/2\s+ok$/m);
    assert.match(table, /^asr-en\s+\(queue\)\s+waiting\s+2/m);
    // Queue full: refused at once.
    await openStream();
    const full = await withTimeout(closed[4], 5000, 'refusal');
    assert.equal(full.code, 1013);
    assert.match(full.reason, /over capacity.*retry after 1 s/);
    // The two queued ones time out after 1 s with the same advice; the two running ones go on.
    const timedOut = await withTimeout(Promise.all([closed[2], closed[3]]), 5000, 'queue timeout');
    for (const c of timedOut) {
      assert.equal(c.code, 1013);
      assert.match(c.reason, /over capacity/);
    }
    assert.equal(open[0].readyState, WebSocket.OPEN);
    assert.equal(await server.metric('voxgate_pool_queue_rejections_total', '{pool="asr-en",reason="full"}'), 1);
    assert.equal(await server.metric('voxgate_pool_queue_rejections_total', '{pool="asr-en",reason="timeout"}'), 2);
    assert.equal(await server.metric('voxgate_pool_queued_streams', '{pool="asr-en"}'), 0);
    // A file upload while full: HTTP 503 with Retry-After.
    const form = new FormData();
    const wav = execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', '-t', 'wav', '-', 'trim', '0', '0.5']);
    form.append('file', new Blob([wav]), 'silence.wav');
    form.append('model', 'whisper-1');
    const busy = fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    const second = fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    const third = fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    const statuses = await Promise.all([busy, second, third]);
    const refused = statuses.find((r) => r.status === 503);
    assert.ok(refused, `one upload beyond the queue is refused: ${statuses.map((r) => r.status)}`);
    assert.equal(refused.headers.get('retry-after'), '1');
    for (const ws of open) ws.terminate();
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('rolling restart of every engine under steady load: no stream fails', async () => {
  const server = await Server.start({ config: poolConfig({ capacity: 3 }) });
  try {
    const expected = await baseline(server);
    let stop = false;
    const outcomes = [];
    const client = async (k) => {
      for (let n = 0; !stop; n++) {
        const i = (k + n) % 5;
        const r = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, recordings[i], { paceMs: 25, timeoutMs: 120000 });
        outcomes.push({ code: r.code, reason: r.reason, ok: JSON.stringify(finalsOf(r)) === JSON.stringify(expected[i]) });
      }
    };
    const clients = [0, 1, 2].map(client);
    await sleep(2000);
    for (let round = 0; round < 2; round++) {
      const engines = childPids(server.proc.pid).sort();
      const victim = engines[round];
      const since = Date.now();
      process.kill(victim, 'SIGTERM');  // the engine drains, exits, and is started again
      const deadline = Date.now() + 60000;
      while (Date.now() < deadline && logTime(server, 'engine in rotation', since) === undefined) await sleep(200);
      assert.ok(logTime(server, 'engine in rotation', since) !== undefined, `engine ${round} came back`);
    }
    stop = true;
    await Promise.all(clients);
    assert.ok(outcomes.length >= 6, `load ran throughout (${outcomes.length} streams)`);
    const failed = outcomes.filter((o) => o.code !== 1000 || !o.ok);
    assert.deepEqual(failed, []);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('shadow traffic: identical engines compare equal, a differently configured one shows a difference; clients see only the primary', async () => {
  const engines = (args) => `engines: [{engine: pocketsphinx, capacity: 2, args: ${args}}]`;
  const server = await Server.start({ config: `
pools:
  - {name: primary, languages: [en-US, en-GB], health_check: {interval_seconds: 1}, ${engines('[]')}}
  - {name: same, languages: [en-US, en-GB], health_check: {interval_seconds: 1}, ${engines('[]')}}
  - {name: different, languages: [en-US, en-GB], health_check: {interval_seconds: 1}, ${engines('[--fast-final]')}}
routes:
  - {language: en-US, pool: primary, shadow: {pool: same, share: 1}}
  - {language: en-GB, pool: primary, shadow: {pool: different, share: 1}}
` });
  try {
    // Readiness is the primary's business alone; the shadows may still be loading.
    for (const pool of ['same', 'different']) {
      const deadline = Date.now() + 60000;
      while (Date.now() < deadline && (await server.metric('voxgate_pool_healthy_engines', `{pool="${pool}"}`)) !== 1) await sleep(100);
    }
    const clips = librivoxClips();
    const run = async (language) => {
      const texts = [];
      for (const clip of clips) {
        const r = await streamFile(WebSocket, `${server.wsUrl}/v1/recognize?language=${language}`, clip.file);
        assert.equal(r.code, 1000, r.reason);
        texts.push(r.text);
      }
      return texts;
    };
    const viaSame = await run('en-US');
    const viaDifferent = await run('en-GB');
    assert.deepEqual(viaDifferent, viaSame, 'clients get the primary\'s transcripts whatever the shadow says');
    const comparisons = (pool) => {
      const deadline = Date.now() + 30000;
      return (async () => {
        let found;
        while (Date.now() < deadline && (found = server.logs.filter((e) => e.message === 'shadow comparison' && e.shadow_pool === pool)).length < clips.length) await sleep(100);
        return found;
      })();
    };
    const same = await comparisons('same');
    assert.equal(same.length, clips.length);
    for (const c of same) assert.equal(c.word_error_rate, 0, JSON.stringify(c));
    const different = await comparisons('different');
    assert.equal(different.length, clips.length);
    const total = different.reduce((sum, c) => sum + c.word_error_rate, 0);
    console.log(`shadow with --fast-final: mean WER against the primary ${(total / clips.length).toFixed(3)}`);
    assert.ok(total > 0, 'the differently configured engine differs somewhere');
    assert.equal(await server.metric('voxgate_shadow_comparisons_total', '{pool="primary",shadow_pool="same",outcome="compared"}'), clips.length);
    assert.equal(await server.metric('voxgate_shadow_word_error_rate_sum', '{pool="primary",shadow_pool="same"}'), 0);
    assert.ok(await server.metric('voxgate_shadow_word_error_rate_sum', '{pool="primary",shadow_pool="different"}') > 0);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});
