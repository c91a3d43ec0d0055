// Starts real voxgate processes for integration tests and cleans up after them.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = process.env.VOXGATE_BIN_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../build/bin');
export const TESTDATA = '/usr/share/pocketsphinx/test/data';
export const LIBRIVOX = `${TESTDATA}/librivox`;

// The LibriVox clips and their reference transcripts.
export function librivoxClips() {
  const lines = readFileSync(`${LIBRIVOX}/transcription`, 'utf8').trim().split('\n');
  const ids = readFileSync(`${LIBRIVOX}/fileids`, 'utf8').trim().split('\n');
  return ids.map((id, i) => ({
    file: `${LIBRIVOX}/${id}.wav`,
    text: lines[i].replace(/\([^)]*\)\s*$/, '').replace(/<\/?s>/g, '').trim().toLowerCase(),
  }));
}

export function tempDir(prefix = 'voxgate-it-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function wordErrorRate(reference, hypothesis) {
  const norm = (s) => s.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
  const r = norm(reference), h = norm(hypothesis);
  if (r.length === 0) return h.length;
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[h.length] / r.length;
}

// Speech generated at test time: espeak-ng's klatt2 voice (pocketsphinx recognises it far better
// than the default voice), resampled to 16 kHz mono by sox.
export function synthesize(text, file, voice = 'en-us+klatt2') {
  const raw = file.replace(/\.wav$/, '.22k.wav');
  execFileSync('espeak-ng', ['-v', voice, '-s', '150', '-w', raw, text]);
  // Some silence around the speech, as a recording has, and headroom for resampling. (Measured:
  // longer leading silence hurts, as the engine starts each stream from the model's default
  // cepstral mean and adapts it from what it hears.) -D: no dither, which is random noise; with
  // it the word error rate varied from run to run (measured 0.41-0.61).
  execFileSync('sox', ['-D', raw, '-r', '16000', '-c', '1', '-b', '16', file, 'gain', '-3', 'pad', '0.2', '0.5']);
  rmSync(raw);
  return file;
}

// Every child a test started that has not exited yet. A test file killed at its timeout (the
// runner sends SIGTERM) or ending without its after() hooks must not leave them running: they
// get SIGKILL when this process exits or is told to stop.
const running = new Set();
process.on('exit', () => { for (const kill of running) kill(); });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
}

// Spawns like child_process.spawn, and kills the child (a detached one with its process group)
// if this process goes first.
export function spawnOwned(command, args, options = {}) {
  const child = spawn(command, args, options);
  const kill = () => {
    try { process.kill(options.detached ? -child.pid : child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  running.add(kill);
  child.on('exit', () => running.delete(kill));
  return child;
}

// A process that logs one JSON object per line; the lines are kept for assertions.
export class LoggingProcess {
  // Starts `argv` (with `env` added to this process's environment) and waits (bounded) for a log
  // line with `message`, which it returns.
  async spawn(argv, message, timeoutMs = 60000, env = {}) {
    this.logs = [];
    this.proc = spawnOwned(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    let buffered = '';
    const seen = new Promise((resolve, reject) => {
      this.proc.stdout.on('data', (chunk) => {
        buffered += chunk;
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          try {
            const entry = JSON.parse(line);
            this.logs.push(entry);
            if (entry.message === message) resolve(entry);
          } catch {
            this.logs.push({ unparsable: line });
          }
        }
      });
      this.proc.stderr.on('data', (chunk) => { this.stderr = (this.stderr ?? '') + chunk; });
      this.exited.then(({ code }) => reject(new Error(`${path.basename(argv[0])} exited with ${code}: ${this.stderr ?? ''}`)));
    });
    return withTimeout(seen, timeoutMs, `${path.basename(argv[0])}: no "${message}" log line`);
  }

  // The first log line `match` accepts, once it has come (bounded: fails naming `what`).
  async waitForLine(match, what, timeoutMs = 10000) {
    let found;
    await withTimeout((async () => { while (!(found = this.logs.find(match))) await sleep(20); })(), timeoutMs, what);
    return found;
  }

  // SIGTERM, then wait for exit; SIGKILL if it hangs.
  async stop(timeoutMs = 30000) {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

// A running `voxgate serve`.
// A config with one pocketsphinx engine of one slot, after `settings` (YAML: limits, api_keys, ...).
export function oneRecognizer(settings = '') {
  return `${settings}
pools:
  - name: asr-en
    languages: [en-US]
    engines: [{engine: pocketsphinx, capacity: 1}]
`;
}

export class Server extends LoggingProcess {
  // `config: null` runs the embedded default (no --config), as `make run` does.
  static async start({ config = '', args = [], readyTimeoutMs = 60000 } = {}) {
    const dir = tempDir();
    const configFile = path.join(dir, 'voxgate.yaml');
    writeFileSync(configFile, config || `
pools:
  - name: asr-en
    languages: [en-US]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines:
      - {engine: pocketsphinx, capacity: 2}
`);
    const s = new Server();
    s.dir = dir;
    const configArgs = config === null ? [] : ['--config', configFile];
    const info = await s.spawn([`${BIN}/voxgate`, 'serve', ...configArgs, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...args],
      'voxgate listening', 15000);
    s.url = `http://${info.listen}`;
    s.wsUrl = `ws://${info.listen}`;
    s.adminUrl = `http://${info.admin}`;
    await s.waitReady(readyTimeoutMs);
    return s;
  }

  async waitReady(timeoutMs = 60000) {
    return waitReady(this.adminUrl, timeoutMs);
  }

  async metric(name, labels = '') {
    const text = await (await fetch(`${this.adminUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(name + labels + ' '));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  }

  async stop(timeoutMs = 30000) {
    const result = await super.stop(timeoutMs);
    rmSync(this.dir, { recursive: true, force: true });
    return result;
  }
}

// Waits (bounded) until an admin listener's /readyz answers 200.
export async function waitReady(adminUrl, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${adminUrl}/readyz`)).status === 200) return;
    } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`${adminUrl} did not become ready`);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} (after ${ms} ms)`)), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function childPids(pid) {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// Streams a 16 kHz mono WAV file over the native WebSocket protocol. `chunkMs` of audio a frame;
// `paceMs` between frames (0: as fast as the server's flow control allows); `onMessage` sees each
// JSON message as it arrives.
export async function streamFile(WebSocket, url, file, { chunkMs = 100, paceMs = 0, configMessage, timeoutMs = 120000, onMessage, headers } = {}) {
  const pcm = readFileSync(file).subarray(44);
  const ws = new WebSocket(url, { headers });
  const messages = [];
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    messages.push(JSON.parse(data.toString()));
    onMessage?.(messages.at(-1));
  });
  await withTimeout(new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); }), 10000, 'WebSocket open');
  if (configMessage) ws.send(JSON.stringify(configMessage));
  const step = 32 * chunkMs;  // bytes of 16 kHz s16
  for (let pos = 0; pos < pcm.length && ws.readyState === WebSocket.OPEN; pos += step) {
    ws.send(pcm.subarray(pos, pos + step));
    if (paceMs > 0) await sleep(paceMs);
  }
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'end' }));
  const close = await withTimeout(closed, timeoutMs, 'stream close');
  const finals = messages.filter((m) => m.type === 'final');
  return { ...close, messages, finals, partials: messages.filter((m) => m.type === 'partial'),
           text: finals.map((m) => m.text).filter(Boolean).join(' ') };
}

export { existsSync };

// Drain tests stop a server mid-stream: a stream with the first half of `file` sent. `finish()`
// sends the rest and the end; `closed` resolves to the close code; `finals` collects final texts.
export async function halfSentStream(WebSocket, url, file) {
  const pcm = readFileSync(file).subarray(44);
  const ws = new WebSocket(url);
  const finals = [];
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.type === 'final') finals.push(m.text); });
  await new Promise((resolve) => ws.on('open', resolve));
  ws.send(pcm.subarray(0, pcm.length / 2));
  const finish = () => {
    ws.send(pcm.subarray(pcm.length / 2));
    ws.send(JSON.stringify({ type: 'end' }));
  };
  return { finals, closed, finish };
}
