// Translation throughput: warm apertium pipelines behind `voxgate serve` (POST /v1/translate, one
// sentence a request) vs spawning `apertium -u eng-spa` for every sentence, as a script calling
// the command line would, side by side in one run.
// Run by scripts/run-benchmarks.sh:   node bench/translation_throughput.mjs [ROUNDS]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Server, tempDir } from '../tests/integration/harness.mjs';

const rounds = Number(process.argv[2] ?? 3);
const sentences = ['The weather is nice today.', 'I would like a cup of coffee, please.', 'Where is the train station?',
  'My brother works in a hospital.', 'They bought three red apples and a loaf of bread.', 'We will meet again next week.',
  'The children are playing in the garden.', 'Can you help me carry these boxes?'];
const server = await Server.start({ config: `
pools:
  - name: mt
    service: mt
    languages: [en]
    engines: [{engine: apertium}]
` });
const dir = tempDir('voxgate-mt-bench-');
const file = path.join(dir, 'sentence.txt');

async function translateOne(text) {
  const res = await fetch(`${server.url}/v1/translate`, { method: 'POST', body: JSON.stringify({ text, source: 'en', target: 'es' }) });
  if (res.status !== 200) throw new Error(await res.text());
  return (await res.json()).text;
}

// Sentences per second over `n` requests from `clients` concurrent clients.
async function warm(n, clients) {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < n) await translateOne(sentences[next++ % sentences.length]);
  }));
  return n / ((performance.now() - start) / 1000);
}

function spawned(n) {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    writeFileSync(file, sentences[i % sentences.length] + '\n');
    execFileSync('apertium', ['-u', 'eng-spa', file]);
  }
  return n / ((performance.now() - start) / 1000);
}

// The same answers both ways, or the comparison means nothing.
for (const s of sentences) {
  writeFileSync(file, s + '\n');
  const cli = execFileSync('apertium', ['-u', 'eng-spa', file]).toString().trim();
  if (cli !== await translateOne(s)) throw new Error(`different translations of "${s}"`);
}
const results = { warm_1_client: [], warm_4_clients: [], spawn_per_sentence: [] };
for (let r = 0; r < rounds; r++) {  // interleaved, so machine noise hits both
  results.warm_1_client.push(await warm(400, 1));
  results.warm_4_clients.push(await warm(400, 4));
  results.spawn_per_sentence.push(spawned(24));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Number(median(v).toFixed(1))]));
out.speedup_warm_1_client = Number((out.warm_1_client / out.spawn_per_sentence).toFixed(1));
out.speedup_warm_4_clients = Number((out.warm_4_clients / out.spawn_per_sentence).toFixed(1));
console.log(JSON.stringify({ sentences_per_second_median_of: rounds, ...out }));
await server.stop();
