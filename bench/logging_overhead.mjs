// Logging overhead on the streaming hot path: two all-in-one servers in front of one engine that
// answers every chunk at once (voxgate-bench-instant-engine), one logging at INFO (an access line
// per stream, with trace, hops and metrics), one with logging off (set on its admin listener),
// driven by the same load in interleaved rounds. Short streams (a config, CHUNKS chunks of 20 ms,
// each waiting for its partial, then the end) make the per-stream logging as heavy as it gets.
// Reported: streams per second and server CPU per stream, and INFO's difference to off.
// Run by scripts/run-benchmarks.sh:   node bench/logging_overhead.mjs [STREAMS] [PER_STREAM] [CHUNKS] [ROUNDS]
import { Server } from '../tests/integration/harness.mjs';
import { cpuSeconds, pingPong, startInstantEngine } from './instant.mjs';

const concurrency = Number(process.argv[2] ?? 8);
const perWorker = Number(process.argv[3] ?? 50);
const chunks = Number(process.argv[4] ?? 10);
const rounds = Number(process.argv[5] ?? 6);

const engine = await startInstantEngine();
const engineAddress = engine.address;
const config = `
limits: {idle_timeout_seconds: 120}
pools:
  - name: instant
    languages: [en-US]
    engines: [{address: "${engineAddress}"}]
`;

async function load(url) {
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = 0; i < perWorker; i++) await pingPong(url, chunks);
  }));
}

const servers = { info: await Server.start({ config }), off: await Server.start({ config }) };
const put = await fetch(`${servers.off.adminUrl}/v1/log-levels`, { method: 'PUT', body: JSON.stringify({ default: 'off' }) });
if (put.status !== 200) throw new Error(`cannot turn logging off: ${put.status}`);
const shapes = Object.entries(servers).map(([name, s]) => ({ name, server: s, url: `${s.wsUrl}/v1/recognize`, seconds: 0, cpu: 0, streams: 0 }));
try {
  for (const shape of shapes) await load(shape.url);  // warm up
  for (let r = 0; r < rounds; r++) {
    for (const shape of r % 2 ? [...shapes].reverse() : shapes) {
      const cpu = cpuSeconds([shape.server.proc.pid]);
      const start = performance.now();
      await load(shape.url);
      shape.seconds += (performance.now() - start) / 1000;
      shape.cpu += cpuSeconds([shape.server.proc.pid]) - cpu;
      shape.streams += concurrency * perWorker;
    }
  }
} finally {
  const lines = servers.info.logs.filter((e) => e.message === 'stream').length;
  const silent = servers.off.logs.filter((e) => e.message === 'stream').length;
  for (const p of [servers.info, servers.off, engine]) await p.stop();
  console.log(`access lines written: info ${lines}, off ${silent}`);
}

console.log(`${concurrency} concurrent clients x ${perWorker} streams of ${chunks} chunks, ${rounds} rounds per server, interleaved`);
const r = {};
for (const s of shapes) {
  r[s.name] = { rate: s.streams / s.seconds, cpuUs: (s.cpu / s.streams) * 1e6 };
  console.log(`logging ${s.name.padEnd(4)}: ${r[s.name].rate.toFixed(1)} streams/s, server CPU ${r[s.name].cpuUs.toFixed(0)} µs per stream`);
}
const pct = (a, b) => `${((a / b - 1) * 100 >= 0 ? '+' : '')}${((a / b - 1) * 100).toFixed(1)} %`;
console.log(`INFO vs off: throughput ${pct(r.info.rate, r.off.rate)}, CPU per stream ${pct(r.info.cpuUs, r.off.cpuUs)}`);
