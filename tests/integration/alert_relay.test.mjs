// `voxgate alert-relay` end to end: Alertmanager, Cloud Monitoring and voxgate events in; node
// HTTP servers playing Discord, Slack and a generic webhook receiver out; a 429 honoured; and a
// kill -9 mid-delivery, after which every notification arrives exactly once (by its
// Idempotency-Key) and nothing is lost. No log line may contain a webhook URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LoggingProcess, BIN, tempDir, sleep, withTimeout } from './harness.mjs';

const TOKEN = 'relay-input-token-123';

// An HTTP server that records each request; `answer(record, res)` replies (default 200 {}).
class Receiver {
  static async start() {
    const r = new Receiver();
    r.requests = [];
    r.answer = (rec, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "1234"}');
    r.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const rec = { url: req.url, headers: req.headers, text: body, at: Date.now() };
        try { rec.body = JSON.parse(body); } catch { rec.body = undefined; }
        r.requests.push(rec);
        r.answer(rec, res);
      });
    });
    await new Promise((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.base = `http://127.0.0.1:${r.server.address().port}`;
    return r;
  }
  async waitFor(predicate, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.requests.filter(predicate);
      if (found.length > 0) return found;
      await sleep(20);
    }
    throw new Error(`${what}: not received within ${timeoutMs} ms`);
  }
  close() {
    this.server.closeAllConnections();
    this.server.close();
  }
}

function alertmanager(alerts, status = 'firing') {
  return {
    version: '4', groupKey: '{}:{alertname="EngineDown"}', truncatedAlerts: 0, status, receiver: 'voxgate',
    groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager:9093',
    alerts: alerts.map(({ labels, annotations = {}, state = status, startsAt = '2026-12-01T10:00:00Z' }) => ({
      status: state, labels, annotations, startsAt,
      endsAt: state === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph', fingerprint: 'x',
    })),
  };
}

async function post(relay, route, body, { token = TOKEN, contentType = 'application/json', query = '' } = {}) {
  const headers = { 'content-type': contentType };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${relay.url}${route}${query}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

// Starts the relay on `dir`'s database; env holds the webhook URLs (secrets).
async function startRelay(dir, config, env) {
  const file = path.join(dir, 'relay.yaml');
  writeFileSync(file, config);
  Object.assign(process.env, env);
  const relay = new LoggingProcess();
  const info = await relay.spawn([`${BIN}/voxgate`, 'alert-relay', '--config', file, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
    'alert relay listening', 15000);
  relay.url = `http://${info.listen}`;
  relay.adminUrl = `http://${info.admin}`;
  return relay;
}

async function metric(relay, name) {
  const text = await (await fetch(`${relay.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

function assertNoSecretInLogs(relay, secrets) {
  const all = relay.logs.map((l) => JSON.stringify(l)).join('\n') + (relay.stderr ?? '');
  for (const s of secrets) assert.ok(!all.includes(s), `a log line contains the secret ${s}`);
}

function relayConfig(dir, { groupWait = 1, groupInterval = 2, destinations }) {
  return `
alert_relay:
  database: ${dir}/alerts.db
  input_token: {env: IT_RELAY_TOKEN}
  limits: {max_body_bytes: 65536}
  retry: {initial_backoff_seconds: 0.2, max_backoff_seconds: 1}
  destinations:
${destinations}
  routes:
    - group_by: [alertname]
      group_wait_seconds: ${groupWait}
      group_interval_seconds: ${groupInterval}
      repeat_interval_seconds: 3600
`;
}

test('inputs are checked, grouped for group_wait, and delivered to Discord, Slack and a webhook', async () => {
  const dir = tempDir('voxgate-alerts-');
  const receiver = await Receiver.start();
  writeFileSync(path.join(dir, 'hook-url'), `${receiver.base}/hook/SECRET-hook-path\n`);
  const secrets = ['SECRET-discord-token', 'SECRET-slack-path', 'SECRET-hook-path'];
  const relay = await startRelay(dir, relayConfig(dir, {
    destinations: `    - {name: discord, type: discord, url_env: IT_DISCORD_URL}
    - {name: slack, type: slack, url_env: IT_SLACK_URL}
    - {name: hook, type: webhook, url_file: ${dir}/hook-url}`,
  }), {
    IT_RELAY_TOKEN: TOKEN,
    IT_DISCORD_URL: `${receiver.base}/api/webhooks/123/SECRET-discord-token`,
    IT_SLACK_URL: `${receiver.base}/services/T0/B0/SECRET-slack-path`,
  });
  try {
    const payload = alertmanager([
      { labels: { alertname: 'EngineDown', pool: 'asr-en', severity: 'critical' }, annotations: { summary: 'engine asr-en-0 is down @everyone' } },
      { labels: { alertname: 'EngineDown', pool: 'mt', severity: 'critical' }, annotations: { summary: 'engine mt-0 is down' } },
    ]);
    // Refusals: no token, bad JSON, a body over the limit, an unknown path.
    assert.equal((await post(relay, '/v1/alerts/alertmanager', payload, { token: '' })).status, 401);
    assert.equal((await post(relay, '/v1/alerts/alertmanager', payload, { token: 'wrong' })).status, 401);
    const bad = await post(relay, '/v1/alerts/alertmanager', '{"alerts": [{"labels": {}}]}');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /alerts\[0\]\.labels: required/);
    assert.equal((await post(relay, '/v1/alerts/alertmanager', 'x'.repeat(100000))).status, 413);
    assert.equal((await post(relay, '/v1/alerts/nowhere', payload)).status, 404);

    const sentAt = Date.now();
    const ok = await post(relay, '/v1/alerts/alertmanager', payload);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.accepted, 2);
    const [discord] = await receiver.waitFor((r) => r.url.startsWith('/api/webhooks/'), 10000, 'the Discord message');
    assert.ok(discord.at - sentAt >= 900, `delivered ${discord.at - sentAt} ms after the input; group_wait is 1 s`);
    assert.equal(discord.url, '/api/webhooks/123/SECRET-discord-token?wait=true');
    assert.deepEqual(discord.body.allowed_mentions, { parse: [] });
    assert.equal(discord.body.embeds.length, 2, 'one message for the group, an embed per alert');
    for (const e of discord.body.embeds) {
      assert.equal(e.title, '[FIRING] EngineDown');
      assert.equal(e.color, 0xE01E2B, 'critical is red');
    }
    assert.deepEqual(discord.body.embeds.map((e) => e.description).sort(), ['engine asr-en-0 is down @everyone', 'engine mt-0 is down']);
    const [slack] = await receiver.waitFor((r) => r.url.startsWith('/services/'), 5000, 'the Slack message');
    assert.equal(slack.body.blocks[0].type, 'header');
    assert.match(slack.body.text, /FIRING:2/);
    const [hook] = await receiver.waitFor((r) => r.url.startsWith('/hook/'), 5000, 'the webhook');
    assert.equal(hook.headers['idempotency-key'], hook.body.id);
    assert.equal(hook.body.status, 'firing');
    assert.equal(hook.body.alerts.length, 2);
    assert.match(discord.body.embeds[0].footer.text, /voxgate alert-relay · discord · id [0-9a-f]{32}/);

    // Alertmanager sends the same notification again (e.g. a retry): deduplicated, no new message.
    const again = await post(relay, '/v1/alerts/alertmanager', payload);
    assert.equal(again.status, 200);
    assert.equal(again.body.deduplicated, 2);
    await sleep(3000);
    assert.equal(receiver.requests.length, 3);
    assert.equal(await metric(relay, 'voxgate_alert_notifications_sent_total{destination="discord"}'), 1);

    // One resolves: a notification at the next group_interval lists it as resolved.
    const resolved = alertmanager([{ labels: { alertname: 'EngineDown', pool: 'mt', severity: 'critical' }, state: 'resolved' }], 'resolved');
    assert.equal((await post(relay, '/v1/alerts/alertmanager', resolved)).status, 200);
    const hooks = await receiver.waitFor((r) => r.url.startsWith('/hook/') && r.body.alerts.some((a) => a.status === 'resolved'), 8000, 'the resolved notification');
    assert.equal(hooks[0].body.alerts.find((a) => a.status === 'resolved').labels.pool, 'mt');

    // Cloud Monitoring with its token in the URL, and voxgate's own events as log lines.
    const incident = {
      version: '1.2',
      incident: { incident_id: '0.abc', state: 'open', policy_name: 'GPU saturated', condition_name: 'duty > 95%',
        summary: 'GPU busy', url: 'https://console.cloud.google.com/monitoring', started_at: Math.floor(Date.now() / 1000),
        resource: { type: 'k8s_container', labels: { cluster_name: 'gpu' } }, policy_user_labels: { severity: 'warning' } },
    };
    assert.equal((await post(relay, '/v1/alerts/cloud-monitoring', incident, { token: '', query: `?auth_token=${TOKEN}` })).status, 200);
    const lines = [
      { severity: 'WARNING', message: 'engine unreachable', pool: 'asr-en', engine: '10.0.0.5:50051', event: 'engine_unhealthy' },
      { severity: 'INFO', message: 'request', httpRequest: { status: 200 } },
    ].map((l) => JSON.stringify(l)).join('\n');
    const events = await post(relay, '/v1/alerts/events', lines, { contentType: 'application/x-ndjson' });
    assert.equal(events.status, 200);
    assert.equal(events.body.ignored, 1, 'an INFO line is no alert');
    await receiver.waitFor((r) => r.url.startsWith('/hook/') && r.body.group_labels.alertname === 'GPU saturated', 8000, 'the incident');
    await receiver.waitFor((r) => r.url.startsWith('/hook/') && r.body.group_labels.alertname === 'VoxgateEngineUnhealthy', 8000, 'the event');
  } finally {
    await relay.stop();
    receiver.close();
    assertNoSecretInLogs(relay, [...secrets, TOKEN]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an HTTP 429 with retry_after pauses the destination; nothing is lost', async () => {
  const dir = tempDir('voxgate-alerts-');
  const receiver = await Receiver.start();
  let first = true;
  receiver.answer = (rec, res) => {
    if (first) {
      first = false;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' })
        .end(JSON.stringify({ message: 'You are being rate limited.', retry_after: 1.5, global: false }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "1"}');
  };
  const relay = await startRelay(dir, relayConfig(dir, { groupWait: 0.2, destinations: '    - {name: discord, type: discord, url_env: IT_DISCORD_URL}' }),
    { IT_RELAY_TOKEN: TOKEN, IT_DISCORD_URL: `${receiver.base}/api/webhooks/9/SECRET-token-429` });
  try {
    assert.equal((await post(relay, '/v1/alerts/alertmanager', alertmanager([{ labels: { alertname: 'A' } }, { labels: { alertname: 'B' } }]))).status, 200);
    const got = await receiver.waitFor(() => receiver.requests.length >= 3, 15000, 'the retry and the second notification');
    assert.ok(got.length > 0);
    const [limited, retried] = receiver.requests;
    assert.ok(retried.at - limited.at >= 1400, `retried ${retried.at - limited.at} ms after the 429; retry_after was 1.5 s`);
    assert.deepEqual(retried.body, limited.body, 'the same message, not a new one');
    await sleep(500);
    const titles = receiver.requests.slice(1).map((r) => r.body.content).sort();
    assert.deepEqual(titles, ['[FIRING:1] A', '[FIRING:1] B'], 'each notification delivered once after the pause');
    assert.equal(await metric(relay, 'voxgate_alert_rate_limited_total{destination="discord"}'), 1);
    assert.ok(relay.logs.some((l) => l.message === 'alert destination rate-limits the relay; pausing it'));
  } finally {
    await relay.stop();
    receiver.close();
    assertNoSecretInLogs(relay, ['SECRET-token-429']);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kill -9 mid-delivery: after a restart every notification arrives exactly once, none lost', async () => {
  const dir = tempDir('voxgate-alerts-');
  const receiver = await Receiver.start();
  const delivered = new Map();  // Idempotency-Key -> body, what the receiver acted on
  let hold = false;
  receiver.answer = (rec, res) => {
    const key = rec.headers['idempotency-key'];
    if (hold && !delivered.has(key)) {
      rec.held = true;  // never answered: the relay dies with it on the wire
      return;
    }
    if (!delivered.has(key)) delivered.set(key, rec.body);  // a receiver that drops copies by key
    res.writeHead(200).end();
  };
  writeFileSync(path.join(dir, 'hook-url'), `${receiver.base}/hook/SECRET-crash-hook`);
  const config = relayConfig(dir, { groupWait: 0.3, destinations: `    - {name: hook, type: webhook, url_file: ${dir}/hook-url, rate_limit: {per_minute: 600, burst: 1}}` });
  let relay = await startRelay(dir, config, { IT_RELAY_TOKEN: TOKEN });
  let restarted;
  try {
    // A is delivered before the crash.
    assert.equal((await post(relay, '/v1/alerts/alertmanager', alertmanager([{ labels: { alertname: 'A' } }]))).status, 200);
    await receiver.waitFor((r) => r.body?.group_labels?.alertname === 'A', 10000, 'A');
    await withTimeout((async () => { while (!relay.logs.some((l) => l.message === 'alert notification delivered')) await sleep(20); })(), 5000, 'A committed as delivered');
    // B and C: the receiver holds the first one open; the relay is killed mid-delivery.
    hold = true;
    assert.equal((await post(relay, '/v1/alerts/alertmanager', alertmanager([{ labels: { alertname: 'B' } }, { labels: { alertname: 'C' } }]))).status, 200);
    const [held] = await receiver.waitFor((r) => r.held, 10000, 'the held delivery');
    relay.proc.kill('SIGKILL');
    assert.equal((await relay.exited).signal, 'SIGKILL');
    hold = false;

    restarted = await startRelay(dir, config, { IT_RELAY_TOKEN: TOKEN });
    await receiver.waitFor(() => delivered.size >= 3, 15000, 'B and C after the restart');
    await sleep(1500);  // anything more would come now
    const names = [...delivered.values()].map((b) => b.group_labels.alertname).sort();
    assert.deepEqual(names, ['A', 'B', 'C'], 'each notification exactly once, none lost');
    const byKey = new Map();
    for (const r of receiver.requests) byKey.set(r.headers['idempotency-key'], (byKey.get(r.headers['idempotency-key']) ?? 0) + 1);
    assert.equal(byKey.get(held.headers['idempotency-key']), 2, 'the interrupted one was sent again with the same key');
    assert.equal(receiver.requests.length, 4, 'and nothing else twice (A, delivered before the crash, is not re-sent)');
    assert.ok(restarted.logs.some((l) => l.message.startsWith('alert notification was on the wire when the relay stopped')));
  } finally {
    if (relay.proc.exitCode === null && relay.proc.signalCode === null) relay.proc.kill('SIGKILL');
    if (restarted) await restarted.stop();
    receiver.close();
    assertNoSecretInLogs(relay, ['SECRET-crash-hook', TOKEN]);
    if (restarted) assertNoSecretInLogs(restarted, ['SECRET-crash-hook', TOKEN]);
    rmSync(dir, { recursive: true, force: true });
  }
});

// Real webhooks are HTTPS: the relay checks the certificate against the trust store (here a
// self-signed one made for the test, trusted through SSL_CERT_FILE) and the host name.
test('HTTPS webhooks: a trusted certificate is delivered to, an untrusted one is not', async () => {
  const dir = tempDir('voxgate-alerts-tls-');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const received = [];
  const server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { received.push({ url: req.url, body: JSON.parse(body) }); res.writeHead(200).end('{}'); });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://localhost:${server.address().port}/hook/SECRET-tls-path`;
  const config = relayConfig(dir, { groupWait: 0.2, destinations: '    - {name: hook, type: webhook, url_env: IT_TLS_URL}' });
  const fire = (relay, alertname) => post(relay, '/v1/alerts/alertmanager', alertmanager([{ labels: { alertname, severity: 'warning' } }]));
  let relay;
  try {
    relay = await startRelay(dir, config, { IT_RELAY_TOKEN: TOKEN, IT_TLS_URL: url, SSL_CERT_FILE: path.join(dir, 'cert.pem') });
    assert.equal((await fire(relay, 'TrustedTls')).status, 200);
    await withTimeout((async () => { while (!received.some((r) => r.body.group_labels.alertname === 'TrustedTls')) await sleep(20); })(),
      10000, 'delivery over HTTPS');
    await relay.stop();
    rmSync(path.join(dir, 'alerts.db'), { force: true });

    delete process.env.SSL_CERT_FILE;  // the system store does not know the test's certificate
    relay = await startRelay(dir, config, { IT_RELAY_TOKEN: TOKEN, IT_TLS_URL: url });
    assert.equal((await fire(relay, 'UntrustedTls')).status, 200);
    const refused = await withTimeout((async () => {
      let line;
      while (!(line = relay.logs.find((l) => l.message === 'alert notification not delivered; retrying'))) await sleep(20);
      return line;
    })(), 10000, 'a refused delivery');
    assert.match(refused.error, /certificate/i);
    assert.ok(!received.some((r) => r.body.group_labels.alertname === 'UntrustedTls'), 'nothing reached the untrusted receiver');
  } finally {
    delete process.env.SSL_CERT_FILE;
    if (relay) await relay.stop();
    server.close();
    if (relay) assertNoSecretInLogs(relay, ['SECRET-tls-path', TOKEN]);
    rmSync(dir, { recursive: true, force: true });
  }
});
