// secure-kube end to end with the real kubectl: two kubeconfig contexts point at two fake
// Kubernetes API servers on loopback (node HTTP servers that record every request and answer
// minimal valid API JSON), so every test can check which server, which namespace and which
// request a command reached, and that a refused command reached none. Confirmation prompts are
// answered through a pseudo-terminal (util-linux `script`); "no terminal" runs are detached (no
// controlling terminal). HOME, the environments file and the audit log live in a temp dir.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync, mkdirSync, copyFileSync, statSync, chmodSync, existsSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { BIN, tempDir, sleep, withTimeout, childPids, spawnOwned } from './harness.mjs';

const SK = path.join(BIN, 'secure-kube');
const RUN_TIMEOUT_MS = 30000;

function findKubectl() {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir || '.', 'kubectl');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

// A Kubernetes API server just real enough for kubectl: discovery, pods and configmaps in any
// namespace (list, get, watch, create, dry-run create, patch, delete), exec upgrades refused.
class FakeApiServer {
  constructor(name) {
    this.name = name;
    this.requests = [];
    this.objects = new Map();
    this.open = new Set();
  }

  async start() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    // kubectl exec asks for a WebSocket, then SPDY: recorded, then refused.
    this.server.on('upgrade', (req, socket) => {
      this.record(req, '');
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
  }

  async stop() {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  record(req, body) {
    const url = new URL(req.url, 'http://fake');
    const entry = { method: req.method, path: url.pathname, query: url.searchParams, body, closed: false, at: Date.now() };
    this.requests.push(entry);
    return entry;
  }

  // The requests that touched objects (not discovery), as "METHOD path[?dryRun]".
  resourceRequests() {
    return this.requests
      .filter((r) => r.path.startsWith('/api/v1/namespaces/'))
      .map((r) => `${r.method} ${r.path}${r.query.get('dryRun') ? ' dryRun' : ''}${r.query.get('watch') ? ' watch' : ''}`);
  }

  pod(ns, name) {
    this.objects.set(`${ns}/pods/${name}`, {
      kind: 'Pod', apiVersion: 'v1',
      metadata: { name, namespace: ns, uid: `uid-${name}`, resourceVersion: '5', creationTimestamp: '2025-01-01T00:00:00Z' },
      spec: { containers: [{ name: 'main', image: 'busybox' }] },
      status: { phase: 'Running' },
    });
  }

  handle(req, res) {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const entry = this.record(req, body);
      const send = (code, object) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(object));
      const notFound = (resource, name) => send(404, {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${resource} "${name}" not found`,
        reason: 'NotFound', details: { name, kind: resource }, code: 404,
      });
      const p = entry.path;
      if (p === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' });
      if (p === '/api') {
        return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }] });
      }
      if (p === '/apis') return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
      if (p === '/api/v1') {
        const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
        return send(200, {
          kind: 'APIResourceList', groupVersion: 'v1', resources: [
            { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs, shortNames: ['po'] },
            { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
            { name: 'configmaps', singularName: 'configmap', namespaced: true, kind: 'ConfigMap', verbs, shortNames: ['cm'] },
          ],
        });
      }
      // kubectl looks the namespace up after a 404, to say which of the two is missing.
      const namespace = p.match(/^\/api\/v1\/namespaces\/([^/]+)$/);
      if (namespace && req.method === 'GET') {
        return send(200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: namespace[1] }, status: { phase: 'Active' } });
      }
      const m = p.match(/^\/api\/v1\/(?:namespaces\/([^/]+)\/)?(pods|configmaps)(?:\/([^/]+))?$/);
      if (!m) return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', code: 404 });
      const [, ns, resource, name] = m;
      const key = (n) => `${ns}/${resource}/${n}`;
      if (req.method === 'GET' && !name) {
        if (entry.query.get('watch') === 'true') {  // a watch: one event, then held open until the client goes
          res.writeHead(200, { 'content-type': 'application/json' });
          // kubectl handles SIGINT and SIGTERM only once the watch is open (it sends the request
          // first): a test that signals it waits for this event to be printed.
          res.write(`${JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: WATCHED_POD, namespace: ns, resourceVersion: '11' } } })}\n`);
          this.open.add(res);
          res.on('close', () => { entry.closed = true; this.open.delete(res); });
          return;
        }
        const items = [...this.objects].filter(([k]) => (ns ? k.startsWith(`${ns}/${resource}/`) : k.includes(`/${resource}/`))).map(([, v]) => v);
        return send(200, { kind: resource === 'pods' ? 'PodList' : 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '10' }, items });
      }
      const existing = name ? this.objects.get(key(name)) : undefined;
      if (req.method === 'GET') return existing ? send(200, existing) : notFound(resource, name);
      if (req.method === 'DELETE') {
        if (!existing) return notFound(resource, name);
        this.objects.delete(key(name));
        return send(200, existing);
      }
      if (req.method === 'POST') {
        const object = JSON.parse(body);
        object.metadata = { ...object.metadata, namespace: ns, uid: `uid-${object.metadata.name}`, resourceVersion: '11', creationTimestamp: '2025-01-01T00:00:00Z' };
        if (entry.query.get('dryRun') !== 'All') this.objects.set(key(object.metadata.name), object);
        return send(201, object);
      }
      if (req.method === 'PATCH') return existing ? send(200, existing) : notFound(resource, name);
      return send(405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 405 });
    });
  }
}

let dir, home, envFile, auditFile, kubeconfig, pluginDir, fakeKubectl, a, b;

function baseEnv(extra = {}) {
  return {
    PATH: `${pluginDir}:${process.env.PATH}`,
    HOME: home,
    SHELL: '/bin/sh',
    LANG: 'C',
    SECURE_KUBE_ENVIRONMENTS: envFile,
    SECURE_KUBE_AUDIT_LOG: auditFile,
    ...extra,
  };
}

// The name of the pod every watch of the fake API servers reports.
const WATCHED_POD = 'watched-pod';

// Resolves once `stream` has carried `text` (bounded by the caller's withTimeout).
function printed(stream, text) {
  let out = '';
  return new Promise((resolve) => stream.on('data', (c) => { out += c; if (out.includes(text)) resolve(); }));
}

// Runs secure-kube without a controlling terminal (detached: its own session); `input`, when
// given, is its stdin (a pipe).
function run(args, { env = {}, onSpawn, input } = {}) {
  const proc = spawnOwned(SK, args, { env: baseEnv(env), detached: true, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (input !== undefined) proc.stdin.end(input);
  let stdout = '', stderr = '';
  proc.stdout.on('data', (c) => { stdout += c; });
  proc.stderr.on('data', (c) => { stderr += c; });
  const done = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  onSpawn?.(proc);
  return withTimeout(done, RUN_TIMEOUT_MS, `secure-kube ${args.join(' ')}`).finally(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
}

const quote = (arg) => `'${String(arg).replaceAll("'", "'\\''")}'`;

// Runs secure-kube on a pseudo-terminal; once the confirmation prompt shows, types `answer`
// (null: ends the input instead). stdout and stderr both arrive as the terminal's output.
// Runs `cat FILE | secure-kube ARGS` (a real pipe: /dev/stdin on node's socket cannot be opened).
function runPiped(file, args) {
  const proc = spawnOwned('sh', ['-c', 'f=$1; shift; cat "$f" | "$@"', 'sh', file, SK, ...args], {
    env: baseEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '', stderr = '';
  proc.stdout.on('data', (c) => { stdout += c; });
  proc.stderr.on('data', (c) => { stderr += c; });
  const done = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return withTimeout(done, RUN_TIMEOUT_MS, `cat | secure-kube ${args.join(' ')}`).finally(() => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(-proc.pid, 'SIGKILL');
  });
}

// `shellSuffix` is appended to the command line (e.g. a redirection).
function runOnTerminal(args, answer, { env = {}, shellSuffix = '' } = {}) {
  const proc = spawnOwned('script', ['-qfec', [SK, ...args].map(quote).join(' ') + shellSuffix, '/dev/null'], {
    env: baseEnv(env), detached: true, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let answered = false;
  const result = { answeredAt: null };
  const onData = (chunk) => {
    output += chunk;
    if (!answered && output.includes("Type the environment's name")) {
      answered = true;
      result.answeredAt = Date.now();
      if (answer === null) proc.stdin.end(); else proc.stdin.write(`${answer}\n`);
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const done = new Promise((resolve) => proc.on('close', (code, signal) => resolve(Object.assign(result, { code, signal, output, prompted: answered }))));
  return withTimeout(done, RUN_TIMEOUT_MS, `secure-kube (terminal) ${args.join(' ')}`).finally(() => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(-proc.pid, 'SIGKILL');
  });
}

function auditLines(file = auditFile) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

// The audit lines written since `mark` (a count of lines).
const auditSince = (mark) => auditLines().slice(mark);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(predicate, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

before(async () => {
  assert.ok(existsSync(SK), `${SK} is missing: build the secure-kube target (VOXGATE_BIN_DIR=${BIN})`);
  assert.ok(findKubectl(), 'kubectl is not in PATH: this test runs the real kubectl (v1.32), which is preinstalled on '
    + 'the build machines (not installed by scripts/install-deps.sh)');
  dir = tempDir('secure-kube-it-');
  home = path.join(dir, 'home');
  mkdirSync(home);
  pluginDir = path.join(dir, 'plugins');
  mkdirSync(pluginDir);
  // A kubectl plugin that prints the arguments it was given.
  writeFileSync(path.join(pluginDir, 'kubectl-hello'), '#!/bin/sh\necho "hello-plugin $*"\n');
  chmodSync(path.join(pluginDir, 'kubectl-hello'), 0o755);
  // One that ignores its flags and says which kubeconfig it would use.
  writeFileSync(path.join(pluginDir, 'kubectl-whereami'), '#!/bin/sh\necho "KUBECONFIG=${KUBECONFIG:-unset}"\n');
  chmodSync(path.join(pluginDir, 'kubectl-whereami'), 0o755);
  mkdirSync(path.join(pluginDir, 'kubectl-folder'), { mode: 0o755 });  // a folder is no plugin
  // A stand-in for kubectl that records its arguments, KUBECONFIG and what its stdin is;
  // `diff` reports changes (exit 1).
  fakeKubectl = path.join(dir, 'fake-kubectl');
  writeFileSync(fakeKubectl, `#!/bin/sh
echo "$* | KUBECONFIG=\${KUBECONFIG:-unset} | stdin=$(readlink /proc/self/fd/0)" >> "$FAKE_KUBECTL_LOG"
case " $* " in *" diff "*) exit 1;; esac
exit 0
`);
  chmodSync(fakeKubectl, 0o755);
  a = new FakeApiServer('a');
  b = new FakeApiServer('b');
  await a.start();
  await b.start();
  kubeconfig = path.join(dir, 'kubeconfig.yaml');
  writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters:
- name: cluster-a
  cluster: {server: "http://127.0.0.1:${a.port}"}
- name: cluster-b
  cluster: {server: "http://127.0.0.1:${b.port}"}
users:
- name: dev-user
  user: {token: dev-token}
contexts:
- name: ctx-a
  context: {cluster: cluster-a, user: dev-user}
- name: ctx-b
  context: {cluster: cluster-b, user: dev-user}
current-context: ctx-a
`);
  envFile = path.join(dir, 'environments.yaml');
  // kubeconfig relative to the environments file.
  writeFileSync(envFile, `environments:
  dev:
    context: ctx-a
    namespace: dev-ns
    kubeconfig: kubeconfig.yaml
    protection: none
  stage:
    context: ctx-b
    namespace: stage-ns
    kubeconfig: kubeconfig.yaml
    protection: confirm
    allow_plugins: [hello]
  prod:
    context: ctx-b
    namespace: prod-ns
    kubeconfig: kubeconfig.yaml
    protection: locked
  ghost:
    context: no-such-context
    namespace: dev-ns
    kubeconfig: kubeconfig.yaml
    protection: none
`);
  auditFile = path.join(dir, 'audit', 'audit.jsonl');
  writeFileSync(path.join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: debug\n');
});

after(async () => {
  await a?.stop();
  await b?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  a.requests = [];
  b.requests = [];
  a.objects.clear();
  b.objects.clear();
  a.pod('dev-ns', 'web-a');
  b.pod('stage-ns', 'web-b');
  b.pod('prod-ns', 'web-p');
});

test('each environment reaches its own server and namespace', async () => {
  const dev = await run(['dev', 'get', 'pods']);
  assert.equal(dev.code, 0, dev.stderr);
  assert.match(dev.stdout, /^NAME\s+AGE\nweb-a\s/);
  assert.deepEqual(a.resourceRequests(), ['GET /api/v1/namespaces/dev-ns/pods']);
  assert.equal(b.requests.length, 0);
  // Read-only: no confirmation on a confirm environment nor on a locked one (no terminal here).
  const stage = await run(['stage', 'get', 'pods', '-o', 'name']);
  assert.equal(stage.code, 0, stage.stderr);
  assert.equal(stage.stdout, 'pod/web-b\n');
  const prod = await run(['prod', '-n', 'prod-ns', 'get', 'pods', '-o', 'name']);
  assert.equal(prod.code, 0, prod.stderr);
  assert.equal(prod.stdout, 'pod/web-p\n');
  assert.deepEqual(b.resourceRequests(), ['GET /api/v1/namespaces/stage-ns/pods', 'GET /api/v1/namespaces/prod-ns/pods']);
  assert.equal(a.resourceRequests().length, 1);
});

test('stdout, stderr and the exit code are kubectl\'s own', async () => {
  const direct = await new Promise((resolve) => {
    const proc = spawnOwned('kubectl', [`--kubeconfig=${kubeconfig}`, '--context=ctx-a', '--namespace=dev-ns', 'get', 'pod', 'missing'], { env: baseEnv() });
    let stdout = '', stderr = '';
    proc.stdout.on('data', (c) => { stdout += c; });
    proc.stderr.on('data', (c) => { stderr += c; });
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const viaSk = await run(['dev', 'get', 'pod', 'missing']);
  assert.equal(viaSk.code, 1);
  assert.equal(viaSk.stdout, '');
  assert.equal(viaSk.stderr, 'Error from server (NotFound): pods "missing" not found\n');
  assert.deepEqual(viaSk, { ...direct, signal: null });
  const json = await run(['dev', 'get', 'pods', '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout).items.map((p) => p.metadata.name), ['web-a']);
  const version = await run(['dev', 'version', '--client']);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^Client Version: v1\.\d+/);
});

test('a context missing from the kubeconfig fails loudly and reaches no server', async () => {
  const r = await run(['ghost', 'get', 'pods']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /context "no-such-context" does not exist/);
  assert.equal(a.requests.length + b.requests.length, 0);
});

test('flags that leave the environment are refused before kubectl runs', async () => {
  const mark = auditLines().length;
  for (const args of [
    ['dev', 'get', 'pods', '--context', 'ctx-b'],
    ['dev', '--context=ctx-b', 'get', 'pods'],
    ['dev', 'get', 'pods', '--kubeconfig=/tmp/other'],
    ['dev', 'get', 'pods', '-s', `http://127.0.0.1:${b.port}`],
    ['dev', 'get', 'pods', '--as_group=system:masters'],
    ['dev', '-n', 'other', 'get', 'pods'],
    ['dev', 'get', 'pods', '-nother'],
    ['dev', 'delete', 'pods', '--all', '-A'],
    // kubectl reads -fv as -f v (a filename), so --context=ctx-b is a flag of its own.
    ['dev', 'get', '-fv', '--context=ctx-b'],
    ['dev', 'apply', '-kv', '--context=ctx-b'],
    ['dev', 'patch', 'pod', 'web-a', '-pv', '--context=ctx-b'],
    ['dev', 'get', '-f=dev', '--context=ctx-b'],
    // --raw sends a change to any path, whatever --namespace says.
    ['dev', 'delete', '--raw', '/api/v1/namespaces/other-ns/pods/web-x'],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 77, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^secure-kube: /);
  }
  assert.equal(a.requests.length + b.requests.length, 0);
  const refused = auditSince(mark);
  assert.equal(refused.length, 13);
  for (const line of refused) {
    assert.equal(line.decision, 'refused');
    assert.equal(line.exit_code, 77);
    assert.ok(line.reason);
  }
  // The environment's own namespace is fine, and -A is fine for reading.
  assert.equal((await run(['dev', '-n', 'dev-ns', 'get', 'pods'])).code, 0);
  const all = await run(['dev', 'get', 'pods', '-A', '-o', 'name']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, 'pod/web-a\n');
  assert.ok(a.requests.some((q) => q.path === '/api/v1/pods'));
  // Reading with --raw is fine.
  const raw = await run(['dev', 'get', '--raw', '/api/v1/namespaces/dev-ns/pods']);
  assert.equal(raw.code, 0, raw.stderr);
  assert.deepEqual(JSON.parse(raw.stdout).items.map((p) => p.metadata.name), ['web-a']);
});

test('a shorthand\'s value after "=" is a value: apply -f=FILE runs', async () => {
  const r = await run(['dev', 'apply', `-f=${path.join(dir, 'cm.yaml')}`, '--validate=false']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'configmap/settings created\n');
  assert.ok(a.objects.has('dev-ns/configmaps/settings'));
  assert.equal(b.requests.length, 0);
});

test('the environment\'s flags go before "--": exec\'s remote command is untouched', async () => {
  const r = await run(['dev', 'exec', 'web-a', '--', '/bin/echo', '--context=ctx-b', '-n', 'other']);
  assert.notEqual(r.code, 0);  // the fake server refuses the stream
  const execs = a.requests.filter((q) => q.path === '/api/v1/namespaces/dev-ns/pods/web-a/exec');
  assert.ok(execs.length > 0, `no exec request: ${a.resourceRequests().join(', ')}`);
  for (const q of execs) assert.deepEqual(q.query.getAll('command'), ['/bin/echo', '--context=ctx-b', '-n', 'other']);
  assert.equal(b.requests.length, 0);
});

test('plugins run with the environment\'s flags and KUBECONFIG; protected ones only when allowed', async () => {
  const r = await run(['dev', 'hello', 'world']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `hello-plugin --kubeconfig=${dir}/kubeconfig.yaml --context=ctx-a --namespace=dev-ns world\n`);
  // A plugin that ignores its flags still gets the environment's kubeconfig, not the user's.
  const where = await run(['dev', 'whereami'], { env: { KUBECONFIG: '/users/own/kubeconfig' } });
  assert.equal(where.code, 0, where.stderr);
  assert.equal(where.stdout, `KUBECONFIG=${dir}/kubeconfig.yaml\n`);
  // stage allows hello (a change: it needs confirmation), not whereami.
  const staged = await run(['stage', 'hello']);
  assert.equal(staged.code, 76, staged.stderr);
  const notAllowed = await run(['--yes', 'stage', 'whereami']);
  assert.equal(notAllowed.code, 77);
  assert.match(notAllowed.stderr, /plugin 'whereami' is not allowed .*allow_plugins/);
  assert.equal(notAllowed.stdout, '');
  const unknown = await run(['dev', 'frobnicate']);
  assert.equal(unknown.code, 64);
  assert.match(unknown.stderr, /unknown kubectl command 'frobnicate'/);
  const folder = await run(['dev', 'folder']);
  assert.equal(folder.code, 64);
  assert.match(folder.stderr, /unknown kubectl command 'folder'/);
});

test('every child gets KUBECONFIG; the diff before apply never reads stdin', async () => {
  const log = path.join(dir, 'fake-kubectl.log');
  rmSync(log, { force: true });
  const env = { FAKE_KUBECTL_LOG: log, KUBECONFIG: '/users/own/kubeconfig' };
  const r = await run(['--kubectl', fakeKubectl, '--yes', 'stage', 'apply', '-f', path.join(dir, 'cm.yaml')], { env, input: 'not for diff\n' });
  assert.equal(r.code, 0, r.stderr);
  const [diff, apply] = readFileSync(log, 'utf8').trim().split('\n');
  assert.match(diff, / diff -f .*\| KUBECONFIG=.*\/kubeconfig\.yaml \| stdin=\/dev\/null$/);
  assert.match(apply, / apply -f .*\| KUBECONFIG=.*\/kubeconfig\.yaml \| stdin=(pipe|socket):/);  // node's pipes are sockets
  const [line] = auditLines().slice(-1);
  assert.equal(line.kubeconfig, `${dir}/kubeconfig.yaml`);
  assert.equal(line.kubeconfig_from, 'environment');
});

test('apply from a pipe (-f /dev/stdin, a FIFO) shows no diff and applies what was piped', async () => {
  const piped = await runPiped(path.join(dir, 'cm.yaml'), ['--yes', 'stage', 'apply', '-f', '/dev/stdin', '--validate=false']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(piped.stderr, /no diff shown: the manifests come from stdin/);
  assert.equal(piped.stdout, 'configmap/settings created\n');
  assert.deepEqual(b.resourceRequests().filter((q) => q.startsWith('POST')), ['POST /api/v1/namespaces/stage-ns/configmaps']);

  b.objects.delete('stage-ns/configmaps/settings');
  b.requests = [];
  const fifo = path.join(dir, 'manifests.fifo');
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);
  const writer = spawnOwned('sh', ['-c', `cat "${path.join(dir, 'cm.yaml')}" > "${fifo}"`], { stdio: 'ignore' });
  try {
    const r = await run(['--yes', 'stage', 'apply', '-f', fifo, '--validate=false']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no diff shown: .*manifests\.fifo is not a regular file/);
    assert.equal(r.stdout, 'configmap/settings created\n');
  } finally {
    writer.kill('SIGKILL');
    rmSync(fifo, { force: true });
  }
});

test('confirm: the wrong name refuses and kubectl never runs', async () => {
  const mark = auditLines().length;
  const r = await runOnTerminal(['stage', 'delete', 'pod', 'web-b'], 'prod');
  assert.ok(r.prompted, r.output);
  assert.equal(r.code, 75, r.output);
  assert.match(r.output, /PROTECTED ENVIRONMENT 'stage'/);
  assert.match(r.output, /namespace: stage-ns/);
  assert.match(r.output, /not confirmed/);
  assert.equal(b.requests.length, 0);
  const lines = auditSince(mark);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].decision, 'refused');
  assert.equal(lines[0].exit_code, 75);
  assert.equal(lines[0].verb, 'delete');
  // The banner and the question go to the terminal, so 2>/dev/null hides neither; control
  // characters in the arguments are shown escaped, not sent to the terminal.
  const hidden = await runOnTerminal(['stage', 'delete', 'pod', 'web\x1b[2J'], 'no', { shellSuffix: ' 2>/dev/null' });
  assert.ok(hidden.prompted, hidden.output);
  assert.match(hidden.output, /PROTECTED ENVIRONMENT 'stage'/);
  assert.ok(hidden.output.includes("kubectl delete pod $'web\\x1b[2J'"), hidden.output);
  assert.ok(!hidden.output.includes('\x1b[2J'), 'a raw escape sequence reached the terminal');
  assert.doesNotMatch(hidden.output, /not confirmed/);  // that one is an error: stderr, hidden
  assert.equal(hidden.code, 75);
  // The input ending (Ctrl-D) declines too.
  const eof = await runOnTerminal(['stage', 'delete', 'pod', 'web-b'], null);
  assert.equal(eof.code, 75, eof.output);
  assert.equal(b.requests.length, 0);
});

test('confirm: the right name runs the change', async () => {
  const mark = auditLines().length;
  const r = await runOnTerminal(['stage', 'delete', 'pod', 'web-b'], 'stage');
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /pod "web-b" deleted/);
  const deletes = b.requests.filter((q) => q.method === 'DELETE');
  assert.deepEqual(deletes.map((q) => q.path), ['/api/v1/namespaces/stage-ns/pods/web-b']);
  assert.ok(b.requests[0].at >= r.answeredAt, 'kubectl ran before the name was typed');
  const [start, end] = auditSince(mark);
  assert.equal(start.event, 'start');
  assert.equal(start.confirmed_by, 'terminal');
  assert.equal(end.event, 'end');
  assert.equal(end.decision, 'confirmed');
  assert.equal(end.exit_code, 0);
  assert.equal(end.id, start.id);
});

test('confirm without a terminal needs --yes; locked refuses even with --yes', async () => {
  const noTty = await run(['stage', 'delete', 'pod', 'web-b']);
  assert.equal(noTty.code, 76);
  assert.match(noTty.stderr, /no terminal to ask on; nothing was run \(pass --yes/);
  assert.equal(b.requests.length, 0);
  const misplaced = await run(['stage', 'delete', 'pod', 'web-b', '--yes']);
  assert.equal(misplaced.code, 64);
  assert.match(misplaced.stderr, /put it before the environment name/);
  const misplacedShort = await run(['stage', 'delete', 'pod', 'web-b', '-y']);
  assert.equal(misplacedShort.code, 64);
  assert.match(misplacedShort.stderr, /-y is secure-kube's option: put it before the environment name \(secure-kube -y stage/);
  const yes = await run(['--yes', 'stage', 'delete', 'pod', 'web-b']);
  assert.equal(yes.code, 0, yes.stderr);
  assert.equal(yes.stdout, 'pod "web-b" deleted\n');
  assert.deepEqual(b.requests.filter((q) => q.method === 'DELETE').map((q) => q.path), ['/api/v1/namespaces/stage-ns/pods/web-b']);
  b.requests = [];
  const locked = await run(['--yes', 'prod', 'delete', 'pod', 'web-p']);
  assert.equal(locked.code, 77);
  assert.match(locked.stderr, /'prod' is locked/);
  const lockedTty = await runOnTerminal(['prod', 'delete', 'pod', 'web-p'], 'prod');
  assert.equal(lockedTty.code, 77, lockedTty.output);
  assert.equal(lockedTty.prompted, false);
  assert.equal(b.requests.length, 0);
  const lines = auditLines();
  assert.equal(lines.at(-1).decision, 'refused');
  assert.equal(lines.at(-1).environment, 'prod');
  const yesEnd = lines.find((l) => l.event === 'end' && l.confirmed_by === '--yes');
  assert.ok(yesEnd, 'no audit line confirmed by --yes');
});

test('apply shows kubectl diff first, asks, then applies; no changes: nothing applied', async () => {
  const cm = path.join(dir, 'cm.yaml');
  // --validate=false is apply's own flag (the fake server has no OpenAPI): left out of the diff.
  const declined = await runOnTerminal(['stage', 'apply', '-f', cm, '--validate=false'], 'no');
  assert.equal(declined.code, 75, declined.output);
  const diffAt = declined.output.indexOf('+  level: debug');
  assert.ok(diffAt >= 0, `no diff shown: ${declined.output}`);
  assert.ok(diffAt < declined.output.indexOf("Type the environment's name"), 'the diff came after the prompt');
  assert.deepEqual(b.resourceRequests().filter((r) => r.startsWith('POST')), ['POST /api/v1/namespaces/stage-ns/configmaps dryRun']);
  assert.equal(b.objects.has('stage-ns/configmaps/settings'), false);

  b.requests = [];
  const applied = await runOnTerminal(['stage', 'apply', '-f', cm, '--validate=false'], 'stage');
  assert.equal(applied.code, 0, applied.output);
  assert.match(applied.output, /configmap\/settings created/);
  const posts = b.requests.filter((q) => q.method === 'POST');
  assert.deepEqual(posts.map((q) => q.query.get('dryRun')), ['All', null]);
  assert.ok(posts[0].at < applied.answeredAt && posts[1].at >= applied.answeredAt, 'diff before the prompt, apply after');
  assert.ok(b.objects.has('stage-ns/configmaps/settings'));

  b.requests = [];
  const mark = auditLines().length;
  const again = await run(['--yes', 'stage', 'apply', '-f', cm, '--validate=false']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /kubectl diff reports no changes in 'stage'; nothing to apply/);
  assert.deepEqual(b.requests.filter((q) => q.method !== 'GET'), []);
  const [line] = auditSince(mark);
  assert.equal(line.reason, 'no changes');
  assert.equal(line.diff_exit_code, 0);
});

test('signals reach kubectl; secure-kube dies of the signal that killed kubectl', async () => {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT']) {
    a.requests = [];
    let proc;
    const result = run(['dev', 'get', 'pods', '--watch'], { onSpawn: (p) => { proc = p; } });
    await withTimeout(printed(proc.stdout, WATCHED_POD), RUN_TIMEOUT_MS, 'the watch event');
    const [kubectl] = childPids(proc.pid);
    assert.ok(kubectl, 'no kubectl child');
    proc.kill(signal);
    const r = await result;
    // secure-kube survives to report kubectl's exit (kubectl handles these signals and exits 1).
    assert.equal(r.signal, null, signal);
    assert.notEqual(r.code, null, signal);
    await until(() => !alive(kubectl), `kubectl to end after ${signal}`);
    await until(() => a.requests.find((q) => q.query.get('watch') === 'true').closed, 'the watch to close');
  }
  // Ctrl-C on a terminal reaches kubectl through the process group (not forwarded twice), and
  // secure-kube lives on to write the audit line with kubectl's exit code.
  a.requests = [];
  let mark = auditLines().length;
  const term = spawnOwned('script', ['-qfec', [SK, 'dev', 'get', 'pods', '--watch'].map(quote).join(' '), '/dev/null'], {
    env: baseEnv(), detached: true, stdio: ['pipe', 'pipe', 'pipe'],
  });
  term.stderr.resume();
  const termExit = new Promise((resolve) => term.on('close', (code) => resolve(code)));
  try {
    await withTimeout(printed(term.stdout, WATCHED_POD), RUN_TIMEOUT_MS, 'the watch event (terminal)');
    term.stdin.write('\x03');
    await withTimeout(termExit, RUN_TIMEOUT_MS, 'secure-kube after Ctrl-C');
  } finally {
    if (term.exitCode === null && term.signalCode === null) process.kill(-term.pid, 'SIGKILL');
  }
  const [ctrlC] = auditSince(mark);
  assert.equal(ctrlC?.event, 'end');
  assert.ok(ctrlC.exit_code < 128, `kubectl exited ${ctrlC.exit_code}`);  // kubectl's own exit, not a death

  a.requests = [];
  mark = auditLines().length;
  let proc;
  const result = run(['dev', 'get', 'pods', '--watch'], { onSpawn: (p) => { proc = p; } });
  await until(() => a.requests.some((q) => q.query.get('watch') === 'true'), 'the watch request');
  const [kubectl] = childPids(proc.pid);
  process.kill(kubectl, 'SIGKILL');
  const r = await result;
  // Like kubectl itself, so a shell reports "Killed" (status 137) and a loop stops.
  assert.equal(r.code, null);
  assert.equal(r.signal, 'SIGKILL');
  const [line] = auditSince(mark);
  assert.equal(line.exit_code, 137);
  assert.equal(line.signal, 9);

  // timeout(1) signals its whole process group: kubectl gets it from there (secure-kube, in
  // the same group, does not send it again) and ends.
  a.requests = [];
  const timed = spawnOwned('timeout', ['-s', 'TERM', '2', SK, 'dev', 'get', 'pods', '--watch'], { env: baseEnv(), stdio: 'ignore' });
  const timedExit = new Promise((resolve) => timed.on('close', (code) => resolve(code)));
  try {
    assert.equal(await withTimeout(timedExit, RUN_TIMEOUT_MS, 'timeout secure-kube'), 124);
  } finally {
    if (timed.exitCode === null && timed.signalCode === null) timed.kill('SIGKILL');
  }
  await until(() => a.requests.find((q) => q.query.get('watch') === 'true')?.closed, 'the watch to close after timeout');
});

test('audit log: fields, mode 0600, and changes refused when it cannot be written', async () => {
  const lines = auditLines();
  assert.ok(lines.length > 10);
  const user = execFileSync('id', ['-un']).toString().trim();
  for (const line of lines) {
    assert.match(line.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.match(line.id, /^[0-9a-f]{32}$/);
    assert.equal(line.user, user);
    assert.ok(Array.isArray(line.argv));
    assert.ok(['start', 'end'].includes(line.event));
    if (line.event === 'end') assert.equal(typeof line.exit_code, 'number');
  }
  const read = lines.find((l) => l.verb === 'get' && l.environment === 'dev');
  assert.equal(read.decision, 'allowed');
  assert.equal(read.changing, false);
  assert.deepEqual(read.kubectl.slice(1, 4), [`--kubeconfig=${dir}/kubeconfig.yaml`, '--context=ctx-a', '--namespace=dev-ns']);
  assert.equal(statSync(auditFile).mode & 0o777, 0o600);

  const broken = { SECURE_KUBE_AUDIT_LOG: path.join(dir, 'cm.yaml', 'audit.jsonl') };  // under a file
  const change = await run(['dev', 'delete', 'pod', 'web-a'], { env: broken });
  assert.equal(change.code, 74);
  assert.match(change.stderr, /fail closed/);
  assert.equal(a.requests.length, 0);
  const reading = await run(['dev', 'get', 'pods', '-o', 'name'], { env: broken });
  assert.equal(reading.code, 0);
  assert.equal(reading.stdout, 'pod/web-a\n');
  assert.match(reading.stderr, /warning: .*read-only command run unaudited/);

  // A FIFO in the log's place must not hang secure-kube; a symbolic link is not followed.
  const fifo = path.join(dir, 'audit.fifo');
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);
  const link = path.join(dir, 'audit-link.jsonl');
  rmSync(link, { force: true });
  symlinkSync(auditFile, link);
  for (const log of [fifo, link]) {
    const version = await run(['--audit-log', log, 'dev', 'version', '--client']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stderr, /warning: .*(not a regular file|symbolic link).*read-only command run unaudited/);
    const change = await run(['--audit-log', log, 'dev', 'delete', 'pod', 'web-a']);
    assert.equal(change.code, 74, change.stderr);
  }
  assert.equal(a.requests.filter((q) => q.method === 'DELETE').length, 0);

  // Secrets typed on the command line are masked in the log; the kubeconfig used is recorded.
  const mark = auditLines().length;
  // (--dry-run=client: the fake server cannot read the protobuf kubectl creates configmaps with.)
  const secret = await run(['dev', 'create', 'configmap', 'creds', '--from-literal=password=hunter2', '--dry-run=client', '-o', 'name']);
  assert.equal(secret.code, 0, secret.stderr);
  assert.equal(secret.stdout, 'configmap/creds\n');
  assert.ok(!readFileSync(auditFile, 'utf8').includes('hunter2'), 'the secret value is in the audit log');
  const [start] = auditSince(mark);
  assert.deepEqual(start.argv, ['create', 'configmap', 'creds', '--from-literal=password=***', '--dry-run=client', '-o', 'name']);
  assert.ok(start.kubectl.includes('--from-literal=password=***'));
  const ghost = { ...auditLines().find((l) => l.environment === 'ghost') };
  assert.equal(ghost.kubeconfig, `${dir}/kubeconfig.yaml`);
});

test('default files under HOME, envs, prompt, bad files and a missing kubectl', async () => {
  mkdirSync(path.join(home, '.config', 'secure-kube'), { recursive: true });
  copyFileSync(envFile, path.join(home, '.config', 'secure-kube', 'environments.yaml'));
  copyFileSync(kubeconfig, path.join(home, '.config', 'secure-kube', 'kubeconfig.yaml'));
  const defaults = { SECURE_KUBE_ENVIRONMENTS: '', SECURE_KUBE_AUDIT_LOG: '' };
  const r = await run(['dev', 'get', 'pods', '-o', 'name'], { env: defaults });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'pod/web-a\n');
  const defaultLog = path.join(home, '.local', 'state', 'secure-kube', 'audit.jsonl');
  assert.equal(statSync(defaultLog).mode & 0o777, 0o600);
  assert.equal(auditLines(defaultLog).length, 1);

  const envs = await run(['envs']);
  assert.equal(envs.code, 0, envs.stderr);
  assert.match(envs.stdout, /^NAME\s+PROTECTION\s+CONTEXT\s+NAMESPACE\s+KUBECONFIG\n/);
  assert.match(envs.stdout, /\nstage\s+confirm\s+ctx-b\s+stage-ns\s/);
  assert.match(envs.stdout, /\nprod\s+locked\s+ctx-b\s+prod-ns\s/);
  assert.equal((await run(['prompt', 'dev'])).stdout, '\x01\x1b[32m\x02dev\x01\x1b[0m\x02');
  assert.equal((await run(['prompt', '--shell', 'plain', 'prod'])).stdout, '\x1b[1;31mprod\x1b[0m');
  assert.equal((await run(['prompt', '--shell=zsh'], { env: { SECURE_KUBE_ENV: 'stage' } })).stdout, '%F{red}stage%f');
  assert.equal((await run(['prompt'])).stdout, '');

  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'environments:\n  prod:\n    context: c\n    namespace: n\n    protection: strict\n');
  const invalid = await run(['--environments', bad, 'prod', 'get', 'pods']);
  assert.equal(invalid.code, 78);
  assert.match(invalid.stderr, /bad\.yaml:5: environment 'prod': unknown protection 'strict'/);
  const unknown = await run(['nope', 'get', 'pods']);
  assert.equal(unknown.code, 64);
  assert.match(unknown.stderr, /unknown environment 'nope'.*defines dev, stage, prod, ghost/);

  a.requests = [];
  const missing = await run(['--kubectl', '/nonexistent/kubectl', 'dev', 'get', 'pods']);
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /cannot run \/nonexistent\/kubectl/);
  assert.equal(a.requests.length, 0);
  assert.match((await run(['--help'])).stdout, /secure-kube \[options\] ENV KUBECTL-ARGS/);
});
