// What the benchmarks in front of voxgate-bench-instant-engine share: the engine process, the
// CPU a set of processes used, and the WebSocket client from the integration tests' packages.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { BIN, LoggingProcess } from '../tests/integration/harness.mjs';

export const { default: WebSocket } = await import(new URL('../tests/integration/node_modules/ws/wrapper.mjs', import.meta.url));
export const CHUNK_SAMPLES = 320;  // 20 ms at 16 kHz

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
