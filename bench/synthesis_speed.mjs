// Speech synthesis speed through the full stack (HTTP → gateway → router → pool → gRPC →
// voxgate-engine-espeak → chunked HTTP response) vs espeak-ng called directly
// (voxgate-bench-espeak-direct), side by side in one run: time to the first audio byte, and
// synthesis speed in times real time, for a sentence and for a long text.
// Run by scripts/run-benchmarks.sh:   node bench/synthesis_speed.mjs [TRIALS]
import { execFileSync } from 'node:child_process';
import { BIN, Server } from '../tests/integration/harness.mjs';

const trials = Number(process.argv[2] ?? 7);
const sentence = 'The quick brown fox jumps over the lazy dog.';
const paragraph = Array(12).fill('Five hundred people came to the meeting yesterday, and most of them stayed until the very end.').join(' ');
const server = await Server.start({ config: `
pools:
  - name: tts
    service: tts
    languages: ["*"]
    engines: [{engine: espeak}]
` });

// Over HTTP, as a client sees it: first body byte, and the whole body.
async function stack(text) {
  const start = performance.now();
  const res = await fetch(`${server.url}/v1/audio/speech`, { method: 'POST',
    body: JSON.stringify({ model: 'tts-1', voice: 'en-us+klatt', input: text, response_format: 'pcm' }) });
  const reader = res.body.getReader();
  let first = 0, bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (bytes === 0) first = performance.now() - start;
    bytes += value.length;
  }
  const total = performance.now() - start;
  return { first_audio_ms: first, total_ms: total, audio_seconds: bytes / 2 / 24000 };
}

function direct(text) {
  return JSON.parse(execFileSync(`${BIN}/voxgate-bench-espeak-direct`, ['gmw/en-US+klatt', text]).toString());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await stack(sentence);  // warm the connection and the engine
for (const [name, text] of [['sentence', sentence], ['paragraph', paragraph]]) {
  const s = [], d = [];
  for (let i = 0; i < trials; i++) {  // interleaved
    d.push(direct(text));
    s.push(await stack(text));
  }
  const summary = (runs) => ({
    first_audio_ms: Number(median(runs.map((r) => r.first_audio_ms)).toFixed(2)),
    total_ms: Number(median(runs.map((r) => r.total_ms)).toFixed(1)),
    audio_seconds: Number(median(runs.map((r) => r.audio_seconds)).toFixed(2)),
    times_real_time: Math.round(median(runs.map((r) => r.audio_seconds / (r.total_ms / 1000)))),
  });
  console.log(JSON.stringify({ text: name, trials, direct: summary(d), full_stack: summary(s) }));
}
await server.stop();
