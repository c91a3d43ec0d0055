// Per-hop overhead: the same streams through the all-in-one server (endpoint, router and pool in
// one process, one gRPC hop to the engine) and through the fully split tiers (endpoint → router →
// pool → engine: three gRPC hops), side by side, in front of an engine that answers every chunk at
// once (voxgate-bench-instant-engine), so only the platform is measured.
// Each stream plays ping-pong: it sends a 20 ms chunk and waits for the partial result that covers
// it, so every round trip is one chunk's latency through every hop. CPU is read from /proc for the
// tier processes (not the engine, which is the same in both shapes).
// Run by scripts/run-benchmarks.sh:   node bench/per_hop_overhead.mjs [STREAMS] [CHUNKS] [ROUNDS]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, LoggingProcess, Server, tempDir, waitReady } from '../tests/integration/harness.mjs';
import { cpuSeconds, pingPong, startInstantEngine } from './instant.mjs';

const streams = Number(process.argv[2] ?? 8);
const chunks = Number(process.argv[3] ?? 250);
const rounds = Number(process.argv[4] ?? 3);

const dir = tempDir('voxgate-hop-bench-');
const engine = await startInstantEngine();
const engineAddress = engine.address;

function config(name, upstream) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `
limits: {idle_timeout_seconds: 120}
pools:
  - name: ${name}
    languages: [en-US]
    queue: {max_streams: 0}
    engines: [{address: "${upstream}"}]
`);
  return file;
}

async function startTier(role, upstream) {
  const p = new LoggingProcess();
  const ready = await p.spawn([`${BIN}/voxgate`, role, '--config', config(role, upstream), '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0'], 'voxgate listening');
  p.listen = ready.listen;
  await waitReady(`http://${ready.admin}`);
  return p;
}

const allInOne = await Server.start({ config: readFileSync(config('serve', engineAddress)).toString() });
const pool = await startTier('pool', engineAddress);
const router = await startTier('router', pool.listen);
const endpoint = await startTier('endpoint', router.listen);
const shapes = [
  { name: 'all-in-one', url: `${allInOne.wsUrl}/v1/recognize`, pids: [allInOne.proc.pid], rtts: [], cpu: 0, chunks: 0 },
  { name: 'split', url: `ws://${endpoint.listen}/v1/recognize`, pids: [endpoint, router, pool].map((p) => p.proc.pid), rtts: [], cpu: 0, chunks: 0 },
];

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
try {
  for (const shape of shapes) await pingPong(shape.url, chunks);  // warm up connections and threads
  for (let r = 0; r < rounds; r++) {
    for (const shape of r % 2 ? [...shapes].reverse() : shapes) {
      const before = cpuSeconds(shape.pids);
      const results = await Promise.all(Array.from({ length: streams }, () => pingPong(shape.url, chunks)));
      shape.cpu += cpuSeconds(shape.pids) - before;
      shape.chunks += streams * chunks;
      for (const rtts of results) shape.rtts.push(...rtts);
    }
  }
} finally {
  for (const p of [endpoint, router, pool, allInOne, engine]) await p.stop();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`${streams} concurrent ping-pong streams x ${chunks} chunks of 20 ms, ${rounds} rounds per shape, interleaved`);
const summary = {};
for (const shape of shapes) {
  const sorted = shape.rtts.sort((a, b) => a - b);
  summary[shape.name] = { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), cpuUs: (shape.cpu / shape.chunks) * 1e6 };
  const s = summary[shape.name];
  console.log(`${shape.name.padEnd(10)} chunk round trip p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms; ` +
    `tier CPU ${s.cpuUs.toFixed(1)} µs per chunk (${shape.chunks} chunks)`);
}
const [a, b] = [summary['all-in-one'], summary.split];
const signed = (x, digits) => (x >= 0 ? '+' : '') + x.toFixed(digits);
console.log(`per added gRPC hop (split has 2 more): p50 ${signed((b.p50 - a.p50) / 2, 3)} ms, ` +
  `p99 ${signed((b.p99 - a.p99) / 2, 3)} ms, CPU ${signed((b.cpuUs - a.cpuUs) / 2, 1)} µs per chunk`);
