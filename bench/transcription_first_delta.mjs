// stream=true on /v1/audio/transcriptions: how soon the first transcript.text.delta comes for a
// long file, beside the whole transcription without stream, in one run. A delta is due as its
// utterance is recognized, so the first should come within seconds whatever the file's length.
// Run by scripts/run-benchmarks.sh:   node bench/transcription_first_delta.mjs [REPEATS]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Server, librivoxClips, tempDir } from '../tests/integration/harness.mjs';

const repeats = Number(process.argv[2] ?? 8);  // the five LibriVox clips, this many times over
const dir = tempDir('voxgate-bench-');
const five = path.join(dir, 'five.wav');
const long = path.join(dir, 'long.wav');
execFileSync('sox', [...librivoxClips().map((c) => c.file), five]);
execFileSync('sox', [...Array(repeats).fill(five), long]);
const audio = readFileSync(long);
const server = await Server.start();

async function transcribe(stream) {
  const form = new FormData();
  form.append('file', new Blob([audio]), 'long.wav');
  form.append('model', 'whisper-1');
  form.append('stream', String(stream));
  const start = performance.now();
  const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  const reader = res.body.getReader();
  let first = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (first === 0 && new TextDecoder().decode(value).includes('transcript.text.delta')) first = performance.now() - start;
  }
  return { first_delta_s: first / 1000, total_s: (performance.now() - start) / 1000 };
}

const whole = await transcribe(false);
const streamed = await transcribe(true);
console.log(JSON.stringify({ audio_seconds: (audio.length - 44) / 32000, without_stream_total_s: +whole.total_s.toFixed(2),
  stream_first_delta_s: +streamed.first_delta_s.toFixed(2), stream_total_s: +streamed.total_s.toFixed(2),
  first_delta_of_total: +(streamed.first_delta_s / streamed.total_s).toFixed(3) }));
await server.stop();
