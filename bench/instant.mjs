// What the benchmarks in front of voxgate-bench-instant-engine share: the engine process, the
// CPU a set of processes used, the WebSocket client from the integration tests' packages, and
// the ping-pong stream.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { BIN, LoggingProcess } from '../tests/integration/harness.mjs';

const { default: WebSocket } = await import(new URL('../tests/integration/node_modules/ws/wrapper.mjs', import.meta.url));
const CHUNK_SAMPLES = 320;  // 20 ms at 16 kHz

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString());

// An engine that answers every chunk at once; `address` is where it listens.
export async function startInstantEngine() {
  const engine = new LoggingProcess();
  engine.address = (await engine.spawn([`${BIN}/voxgate-bench-instant-engine`, '--listen', '127.0.0.1:0', '--capacity', '1024'],
    'engine serving')).listen;
  return engine;
}

// User + system CPU seconds the processes have used so far.
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);  // utime, stime
  }
  return ticks / TICKS_PER_SECOND;
}

// One native stream of `chunks` round trips: it sends a 20 ms chunk and waits for the partial
// that covers it (the instant engine answers "N samples"), then ends. Resolves to each chunk's
// round trip in ms.
export function pingPong(url, chunks) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const rtts = [];
    const chunk = Buffer.alloc(CHUNK_SAMPLES * 2);
    let sent = 0, sentAt = 0;
    const send = () => {
      sent++;
      sentAt = performance.now();
      ws.send(chunk);
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'config', language: 'en-US' })));
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'ready') return send();
      if (m.type === 'error') return reject(new Error(m.message));
      if (m.type !== 'partial' || parseInt(m.text, 10) < sent * CHUNK_SAMPLES) return;
      rtts.push(performance.now() - sentAt);
      if (sent < chunks) return send();
      ws.send(JSON.stringify({ type: 'end' }));
    });
    ws.on('close', (code, reason) => (code === 1000 && rtts.length === chunks ? resolve(rtts) : reject(new Error(`closed ${code} ${reason}`))));
    ws.on('error', reject);
  });
}
