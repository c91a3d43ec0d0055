// Failover time: a stream at real-time pace; its engine is killed (SIGKILL); how long until the
// client gets the next result, now from another engine. Run by scripts/run-benchmarks.sh.
//   node bench/failover_time.mjs [TRIALS]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Server, librivoxClips, streamFile, tempDir, sleep } from '../tests/integration/harness.mjs';

const { default: WebSocket } = await import(new URL('../tests/integration/node_modules/ws/wrapper.mjs', import.meta.url));
const trials = Number(process.argv[2] ?? 5);

// All five LibriVox clips in a row: 31 s of speech with pauses, so a kill lands mid-utterance or
// between utterances.
const dir = tempDir('voxgate-failover-bench-');
const clips = librivoxClips().map((c, i) => {
  const padded = path.join(dir, `c${i}.wav`);
  execFileSync('sox', ['-D', c.file, padded, 'pad', '0', '1.5']);
  return padded;
});
const recording = path.join(dir, 'all.wav');
execFileSync('sox', ['-D', ...clips, recording]);

const server = await Server.start({ config: `
pools:
  - name: asr-en
    languages: [en-US]
    health_check: {interval_seconds: 1, timeout_seconds: 1}
    engines: [{engine: pocketsphinx, capacity: 2, replicas: 2}]
` });

async function status() {
  return (await (await fetch(`${server.adminUrl}/v1/status`)).json()).pools[0].engines;
}

const gaps = [];
try {
  for (let t = 0; t < trials; t++) {
    while ((await status()).some((e) => e.state !== 'healthy')) await sleep(200);
    let killedAt = 0;
    let firstAfter = 0;
    const onMessage = (m) => {
      if (killedAt && !firstAfter && (m.type === 'partial' || m.type === 'final')) firstAfter = performance.now();
    };
    const stream = streamFile(WebSocket, `${server.wsUrl}/v1/recognize`, recording, { paceMs: 100, onMessage });
    await sleep(4000 + 2000 * t);  // a different point of the recording each time
    const engines = await status();
    const busy = engines.findIndex((e) => e.outstanding > 0);
    // Engine processes are the server's children in the order of their sockets (-0, -1).
    const pids = execFileSync('pgrep', ['-P', String(server.proc.pid)]).toString().trim().split('\n').map(Number).sort((a, b) => a - b);
    const victim = pids.find((pid) => execFileSync('ps', ['-o', 'args=', '-p', String(pid)]).toString().includes(`asr-en-${busy}.sock`));
    killedAt = performance.now();
    process.kill(victim, 'SIGKILL');
    const r = await stream;
    if (r.code !== 1000) throw new Error(`stream failed: ${r.code} ${r.reason}`);
    gaps.push((firstAfter - killedAt) / 1000);
    console.log(`trial ${t + 1}: first result ${gaps.at(-1).toFixed(3)} s after the kill`);
  }
} finally {
  await server.stop();
}
gaps.sort((a, b) => a - b);
console.log(JSON.stringify({ trials, failover_seconds: { min: gaps[0], median: gaps[Math.floor(gaps.length / 2)], max: gaps.at(-1) } }));
