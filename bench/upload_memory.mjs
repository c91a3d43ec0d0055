// Upload memory: the endpoint's peak RSS while it transcribes an hour of audio uploaded as a small
// file (FLAC of silence: 0.6 MB that decodes to 3600 s), one at a time and several at once, in
// front of an engine that answers at once (voxgate-bench-instant-engine), so only the endpoint's
// own memory is measured; beside it, the peak of decoding the same file whole and resampling it
// (voxgate-bench-whole-decode), as the endpoint did before. The instant engine's transcript is the
// sample count it was sent, which checks that every sample of the hour reached it.
// Run by scripts/run-benchmarks.sh:   node bench/upload_memory.mjs [CONCURRENT]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BIN, Server, tempDir } from '../tests/integration/harness.mjs';
import { startInstantEngine } from './instant.mjs';

const concurrent = Number(process.argv[2] ?? 4);
const seconds = 3599;
const dir = tempDir('voxgate-upload-bench-');
const file = path.join(dir, 'hour.flac');
execFileSync('sox', ['-D', '-n', '-r', '44100', '-c', '2', '-b', '16', file, 'trim', '0', String(seconds)]);

const engine = await startInstantEngine();
const server = await Server.start({ config: `
limits: {request_timeout_seconds: 1200}
pools:
  - name: asr
    languages: [en-US]
    engines: [{address: "${engine.address}"}]
` });

const peakMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))[1]) / 1024;

function transcribe() {
  return new Promise((resolve, reject) => {
    const curl = spawn('curl', ['-sS', '--fail-with-body', `${server.url}/v1/audio/transcriptions`, '-F', `file=@${file}`, '-F', 'model=whisper-1']);
    let out = '';
    curl.stdout.on('data', (d) => { out += d; });
    curl.on('close', (code) => (code === 0 ? resolve(JSON.parse(out).text) : reject(new Error(`curl ${code}: ${out}`))));
  });
}

try {
  const expected = `${seconds * 16000} samples`;
  console.log(`file: ${(readFileSync(file).length / 1e6).toFixed(2)} MB, ${seconds} s of 44.1 kHz stereo`);
  const whole = JSON.parse(execFileSync(`${BIN}/voxgate-bench-whole-decode`, [file]).toString());
  console.log(`decoded whole, then resampled (the endpoint before): peak RSS ${whole.peak_rss_mib} MiB, ${whole.samples_16k} samples at 16 kHz`);
  console.log(`endpoint peak RSS, started: ${peakMiB().toFixed(0)} MiB`);
  for (const n of [1, concurrent]) {
    const started = Date.now();
    const texts = await Promise.all(Array.from({ length: n }, transcribe));
    for (const t of texts) if (!t.endsWith(expected)) throw new Error(`transcript "${t}", expected "${expected}"`);
    console.log(`${n} upload(s) at once: every transcript "${expected}"; ${((Date.now() - started) / 1000).toFixed(1)} s; endpoint peak RSS ${peakMiB().toFixed(0)} MiB`);
  }
} finally {
  await server.stop();
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
}
