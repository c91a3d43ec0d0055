// The Kubernetes manifests (deploy/kubernetes): every overlay renders with kubectl's kustomize,
// every object validates against the Kubernetes schemas (npm kubernetes-models; the GKE
// BackendConfig against a small schema here), yamllint passes on the sources and the rendered
// output, and the invariants a deployment depends on hold in every overlay (probes, resources,
// security, read-only models, Services that reach named ports, config addresses that reach the
// rendered Services, HPAs, PDBs, probe timing equal to voxgate's own health checks, grace
// periods that cover the drain). The checker is shown to catch broken manifests, and the
// rendered command lines and configs are run with the real binaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { BIN, LoggingProcess, tempDir } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const K8S = path.join(ROOT, 'deploy/kubernetes');
const OVERLAYS = ['base', 'overlays/dev', 'overlays/prod', 'overlays/preview'];
// voxgate's health-check defaults (src/core/config.h HealthCheckConfig), which the readiness
// probes mirror.
const HEALTH_DEFAULTS = { interval_seconds: 5, timeout_seconds: 1, healthy_threshold: 2, unhealthy_threshold: 1 };
const DRAIN_DEFAULT_SECONDS = 30;  // drain_grace_seconds and --drain-grace-seconds
const MODEL_FLAGS = ['--model-dir', '--data-path', '--modes-dir'];

function kustomize(dir, extra = []) {
  return execFileSync('kubectl', ['kustomize', ...extra, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function parseAll(text) {
  return YAML.parseAllDocuments(text).map((d) => {
    assert.equal(d.errors.length, 0, String(d.errors));
    return d.toJS();
  }).filter(Boolean);
}

const rendered = Object.fromEntries(OVERLAYS.map((o) => {
  const text = kustomize(path.join(K8S, o));
  return [o, { text, objects: parseAll(text) }];
}));

// ---- the invariant checker: a list of problems, empty when the objects are right ----

const ns = (o) => o.metadata?.namespace ?? 'default';
const key = (o) => `${o.kind}/${ns(o)}/${o.metadata?.name}`;
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

function flagValue(args, flag) {
  for (let i = 0; i < (args ?? []).length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  return undefined;
}

// The voxgate config a container runs with: its --config file from a mounted ConfigMap.
function containerConfig(objects, deployment, container) {
  const file = flagValue(container.args, '--config');
  if (!file) return undefined;
  for (const m of container.volumeMounts ?? []) {
    if (!file.startsWith(`${m.mountPath}/`)) continue;
    const volume = deployment.spec.template.spec.volumes?.find((v) => v.name === m.name);
    const cm = volume?.configMap && objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name && ns(o) === ns(deployment));
    const text = cm?.data?.[file.slice(m.mountPath.length + 1)];
    return text === undefined ? null : YAML.parse(text);
  }
  return null;
}

function adapterMetricNames() {
  const values = YAML.parse(readFileSync(path.join(K8S, 'prometheus-adapter/values.yaml'), 'utf8'));
  return new Set(values.rules.custom.map((r) => r.name.as));
}

export function checkInvariants(objects) {
  const problems = [];
  const bad = (o, what) => problems.push(`${key(o)}: ${what}`);
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const services = objects.filter((o) => o.kind === 'Service');
  const podsIn = (o) => deployments.filter((d) => ns(d) === ns(o));
  const adapterMetrics = adapterMetricNames();

  for (const d of deployments) {
    const pod = d.spec.template.spec;
    if (!matches(d.spec.selector?.matchLabels, d.spec.template.metadata?.labels)) bad(d, 'selector does not match its pod template');
    if (pod.automountServiceAccountToken !== false) bad(d, 'automountServiceAccountToken is not false');
    const psc = pod.securityContext ?? {};
    if (psc.runAsNonRoot !== true || !(psc.runAsUser > 0)) bad(d, 'pod does not run as a non-root user');
    if (psc.seccompProfile?.type !== 'RuntimeDefault') bad(d, 'pod seccompProfile is not RuntimeDefault');
    const spread = pod.topologySpreadConstraints ?? [];
    for (const topologyKey of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
      const c = spread.find((s) => s.topologyKey === topologyKey);
      if (!c || c.whenUnsatisfiable !== 'ScheduleAnyway' || !matches(c.labelSelector?.matchLabels, d.spec.template.metadata.labels)) {
        bad(d, `no ScheduleAnyway topology spread over ${topologyKey} selecting its pods`);
      }
    }
    for (const c of pod.containers) {
      const where = `container ${c.name}`;
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) if (!c[probe]) bad(d, `${where} has no ${probe}`);
      for (const probe of ['startupProbe', 'livenessProbe']) if (c[probe] && (c[probe].successThreshold ?? 1) !== 1) bad(d, `${where} ${probe} successThreshold must be 1`);
      const r = c.readinessProbe;
      if (r && (r.periodSeconds !== HEALTH_DEFAULTS.interval_seconds || r.timeoutSeconds !== HEALTH_DEFAULTS.timeout_seconds ||
                r.successThreshold !== HEALTH_DEFAULTS.healthy_threshold || r.failureThreshold !== HEALTH_DEFAULTS.unhealthy_threshold)) {
        bad(d, `${where} readinessProbe differs from voxgate's health checks (5 s, 1 s, 2, 1)`);
      }
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.grpc?.port;
        const known = (c.ports ?? []).some((p) => p.name === port || p.containerPort === port);
        if (c[probe] && !known) bad(d, `${where} ${probe} targets port ${port}, which the container does not declare`);
      }
      for (const kind of ['requests', 'limits']) {
        for (const res of ['cpu', 'memory']) if (!c.resources?.[kind]?.[res]) bad(d, `${where} has no ${kind}.${res}`);
      }
      const sc = c.securityContext ?? {};
      if (sc.readOnlyRootFilesystem !== true) bad(d, `${where} root filesystem is not read-only`);
      if (sc.allowPrivilegeEscalation !== false) bad(d, `${where} allows privilege escalation`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) bad(d, `${where} does not drop ALL capabilities`);
      if (sc.runAsNonRoot === false || sc.runAsUser === 0) bad(d, `${where} may run as root`);
      if (!Array.isArray(c.command) || !c.command[0].startsWith('/')) bad(d, `${where} has no exec-form command`);
      // Models: every persistent volume an engine mounts is read-only (the volume and the
      // mount), and no writable mount covers the model path.
      for (const m of c.volumeMounts ?? []) {
        const v = pod.volumes?.find((x) => x.name === m.name);
        if (!v) bad(d, `${where} mounts ${m.name}, which is not a volume`);
        if (v?.persistentVolumeClaim && d.metadata.labels?.['app.kubernetes.io/component'] !== 'alert-relay') {
          if (m.readOnly !== true || v.persistentVolumeClaim.readOnly !== true) bad(d, `${where} mounts claim ${v.persistentVolumeClaim.claimName} writable`);
          const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === v.persistentVolumeClaim.claimName && ns(o) === ns(d));
          if (!claim) bad(d, `${where} mounts claim ${v.persistentVolumeClaim.claimName}, which is not rendered`);
          else if (JSON.stringify(claim.spec.accessModes) !== JSON.stringify(['ReadOnlyMany'])) bad(d, `claim ${claim.metadata.name} is not ReadOnlyMany`);
        }
      }
      for (const flag of MODEL_FLAGS) {
        const model = flagValue(c.args, flag);
        if (!model) continue;
        const covering = (c.volumeMounts ?? []).filter((m) => model === m.mountPath || model.startsWith(`${m.mountPath}/`));
        if (covering.some((m) => m.readOnly !== true)) bad(d, `${where} model path ${model} is on a writable mount`);
      }
      // Graceful termination: the grace period covers the preStop pause and the drain.
      const preStop = c.lifecycle?.preStop;
      if (!preStop) bad(d, `${where} has no preStop`);
      const pause = preStop?.sleep?.seconds ?? 0;
      const config = containerConfig(objects, d, c);
      if (config === null) bad(d, `${where} --config is not a key of a mounted ConfigMap`);
      const drain = Number(flagValue(c.args, '--drain-grace-seconds') ?? config?.drain_grace_seconds ??
                           (c.args?.[0] === 'alert-relay' ? 5 : DRAIN_DEFAULT_SECONDS));
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (!(grace > pause + drain)) bad(d, `terminationGracePeriodSeconds ${grace} is not more than preStop ${pause} s + drain ${drain} s`);
    }
    for (const v of pod.volumes ?? []) {
      if (v.configMap && !objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name && ns(o) === ns(d))) {
        bad(d, `volume ${v.name} names ConfigMap ${v.configMap.name}, which is not rendered`);
      }
    }
    if (!podsIn(d).length) bad(d, 'no pods');
  }

  for (const s of services) {
    const pods = podsIn(s).filter((d) => matches(s.spec.selector, d.spec.template.metadata.labels));
    if (!s.spec.selector || pods.length === 0) { bad(s, 'selector matches no pod template'); continue; }
    for (const p of s.spec.ports ?? []) {
      if (typeof p.targetPort !== 'string') bad(s, `port ${p.port} does not target a named container port`);
      else if (!pods.every((d) => d.spec.template.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort)))) {
        bad(s, `port ${p.port} targets ${p.targetPort}, which its pods do not declare`);
      }
    }
    const backendConfig = s.metadata.annotations?.['cloud.google.com/backend-config'];
    if (backendConfig) {
      const name = JSON.parse(backendConfig).default;
      if (!objects.some((o) => o.kind === 'BackendConfig' && o.metadata.name === name && ns(o) === ns(s))) bad(s, `backend-config ${name} is not rendered`);
    }
  }

  // Every address in a voxgate config reaches a rendered Service in the pod's namespace, on one
  // of its ports; dns: names are headless Services (one record per ready pod), and the pods
  // behind them are ready exactly when the tier in front would take them.
  for (const d of deployments) {
    for (const c of d.spec.template.spec.containers) {
      const config = containerConfig(objects, d, c);
      for (const p of config?.pools ?? []) {
        const health = { ...HEALTH_DEFAULTS, ...p.health_check };
        for (const e of p.engines ?? []) {
          const target = e.dns ?? e.address;
          if (!target) continue;
          const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
          const [name, namespace = ns(d), rest] = host.split('.');
          const svc = services.find((s) => s.metadata.name === name && ns(s) === namespace);
          if (!svc || (rest !== undefined && !host.endsWith(`.${namespace}.svc.cluster.local`)) || namespace !== ns(d)) {
            bad(d, `config pool ${p.name} names ${target}: no such Service in namespace ${ns(d)}`);
            continue;
          }
          if (!(svc.spec.ports ?? []).some((sp) => sp.port === port)) bad(d, `config pool ${p.name} names ${target}: the Service has no port ${port}`);
          if (e.dns && (svc.spec.clusterIP !== 'None' || svc.spec.publishNotReadyAddresses)) bad(svc, 'named by dns: in a config but not headless with ready addresses only');
          for (const behind of podsIn(svc).filter((x) => matches(svc.spec.selector, x.spec.template.metadata.labels))) {
            for (const bc of behind.spec.template.spec.containers) {
              const r = bc.readinessProbe ?? {};
              if (r.periodSeconds !== health.interval_seconds || r.timeoutSeconds !== health.timeout_seconds ||
                  r.successThreshold !== health.healthy_threshold || r.failureThreshold !== health.unhealthy_threshold) {
                bad(behind, `readinessProbe differs from the health checks of pool ${p.name} in ${d.metadata.name}'s config`);
              }
            }
          }
        }
      }
    }
  }

  for (const h of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const t = h.spec.scaleTargetRef;
    if (!deployments.some((d) => t.kind === 'Deployment' && d.metadata.name === t.name && ns(d) === ns(h))) bad(h, `scaleTargetRef ${t.kind}/${t.name} is not rendered`);
    for (const m of h.spec.metrics ?? []) {
      if (m.type === 'Pods' && !adapterMetrics.has(m.pods.metric.name)) bad(h, `metric ${m.pods.metric.name} is not made by prometheus-adapter/values.yaml`);
    }
    if (!(h.spec.minReplicas >= 2)) bad(h, 'minReplicas below 2 (one pod draining would leave none)');
  }
  for (const b of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    if (!podsIn(b).some((d) => matches(b.spec.selector?.matchLabels, d.spec.template.metadata.labels))) bad(b, 'selects no pods');
    if (b.spec.unhealthyPodEvictionPolicy !== 'AlwaysAllow') bad(b, 'unhealthyPodEvictionPolicy is not AlwaysAllow');
  }
  for (const s of objects.filter((o) => o.kind === 'Secret')) {
    if (s.data || s.stringData) bad(s, 'a Secret with data is rendered (secrets are created by hand, never committed)');
  }
  return problems;
}

// ---- schemas ----

const modelCache = new Map();
async function modelClass(apiVersion, kind) {
  const id = `${apiVersion}/${kind}`;
  if (!modelCache.has(id)) {
    modelCache.set(id, import(`kubernetes-models/${apiVersion}/${kind}`).then((m) => m[kind]).catch(() => null));
  }
  return modelCache.get(id);
}

// GKE's BackendConfig (a CRD kubernetes-models does not know): the fields used here.
function validateBackendConfig(o) {
  const errors = [];
  const spec = o.spec ?? {};
  const allowed = { healthCheck: 'object', timeoutSec: 'number', connectionDraining: 'object' };
  for (const [k, v] of Object.entries(spec)) if (typeof v !== allowed[k]) errors.push(`spec.${k}: unknown or not a ${allowed[k] ?? 'known field'}`);
  const hc = spec.healthCheck ?? {};
  const hcFields = { type: 'string', requestPath: 'string', port: 'number', checkIntervalSec: 'number', timeoutSec: 'number', healthyThreshold: 'number', unhealthyThreshold: 'number' };
  for (const [k, v] of Object.entries(hc)) if (typeof v !== hcFields[k]) errors.push(`spec.healthCheck.${k}: unknown or wrong type`);
  if (hc.type && !['HTTP', 'HTTPS', 'HTTP2'].includes(hc.type)) errors.push('spec.healthCheck.type: not HTTP, HTTPS or HTTP2');
  if (hc.requestPath && !hc.requestPath.startsWith('/')) errors.push('spec.healthCheck.requestPath: not a path');
  for (const [k, v] of Object.entries(spec.connectionDraining ?? {})) if (k !== 'drainingTimeoutSec' || typeof v !== 'number') errors.push(`spec.connectionDraining.${k}: unknown`);
  return errors;
}

for (const overlay of OVERLAYS) {
  test(`${overlay}: every rendered object validates against its schema`, async () => {
    const { objects } = rendered[overlay];
    assert.ok(objects.length > 20, `only ${objects.length} objects`);
    for (const o of objects) {
      if (o.apiVersion === 'cloud.google.com/v1' && o.kind === 'BackendConfig') {
        assert.deepEqual(validateBackendConfig(o), [], key(o));
        continue;
      }
      const Model = await modelClass(o.apiVersion, o.kind);
      assert.ok(Model, `no schema for ${o.apiVersion} ${o.kind}`);
      assert.doesNotThrow(() => new Model(o).validate(), `${key(o)} does not validate`);
    }
  });

  test(`${overlay}: the invariants hold`, () => {
    assert.deepEqual(checkInvariants(rendered[overlay].objects), []);
  });

  test(`${overlay}: yamllint passes on the rendered output`, () => {
    execFileSync('yamllint', ['-c', path.join(K8S, '.yamllint'), '-'], { input: rendered[overlay].text, stdio: ['pipe', 'pipe', 'pipe'] });
  });
}

test('yamllint passes on the sources', () => {
  execFileSync('yamllint', ['-c', path.join(K8S, '.yamllint'), K8S], { stdio: ['ignore', 'pipe', 'pipe'] });
});

test('the schemas and the checker catch broken manifests', async () => {
  const fresh = () => structuredClone(rendered['overlays/prod'].objects);
  const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata.name.startsWith(name));
  const engine = (objects) => find(objects, 'Deployment', 'voxgate-pocketsphinx').spec.template.spec;
  const mutations = [
    [/has no readinessProbe/, (o) => { delete engine(o).containers[0].readinessProbe; }],
    [/readinessProbe differs/, (o) => { engine(o).containers[0].readinessProbe.periodSeconds = 10; }],
    [/has no limits.memory/, (o) => { delete engine(o).containers[0].resources.limits.memory; }],
    [/root filesystem is not read-only/, (o) => { engine(o).containers[0].securityContext.readOnlyRootFilesystem = false; }],
    [/non-root/, (o) => { engine(o).securityContext.runAsUser = 0; }],
    [/mounts claim voxgate-models writable/, (o) => { engine(o).containers[0].volumeMounts.find((m) => m.name === 'models').readOnly = false; }],
    [/model path .* writable mount/, (o) => { engine(o).containers[0].volumeMounts.push({ name: 'tmp', mountPath: '/models/pocketsphinx' }); }],
    [/terminationGracePeriodSeconds 60 is not more than/, (o) => { engine(o).terminationGracePeriodSeconds = 60; }],
    [/selector matches no pod template/, (o) => { find(o, 'Service', 'voxgate-pool').spec.selector['app.kubernetes.io/component'] = 'poool'; }],
    [/targets grpcc, which its pods do not declare/, (o) => { find(o, 'Service', 'voxgate-router').spec.ports[0].targetPort = 'grpcc'; }],
    [/names voxgate-pocketsphinx:7003: no such Service/, (o) => { find(o, 'Service', 'voxgate-pocketsphinx').metadata.name = 'voxgate-pocketsphinx-x'; }],
    [/the Service has no port 7002/, (o) => { find(o, 'Service', 'voxgate-pool').spec.ports[0].port = 7009; }],
    [/not headless/, (o) => { delete find(o, 'Service', 'voxgate-espeak').spec.clusterIP; }],
    [/scaleTargetRef .* is not rendered/, (o) => { find(o, 'HorizontalPodAutoscaler', 'voxgate-espeak').spec.scaleTargetRef.name = 'voxgate-espeek'; }],
    [/not made by prometheus-adapter/, (o) => { find(o, 'HorizontalPodAutoscaler', 'voxgate-endpoint').spec.metrics[0].pods.metric.name = 'voxgate_requests'; }],
    [/unhealthyPodEvictionPolicy/, (o) => { find(o, 'PodDisruptionBudget', 'voxgate-router').spec.unhealthyPodEvictionPolicy = 'IfHealthyBudget'; }],
    [/PodDisruptionBudget.*selects no pods/, (o) => { find(o, 'PodDisruptionBudget', 'voxgate-router').spec.selector.matchLabels['app.kubernetes.io/component'] = 'x'; }],
    [/a Secret with data/, (o) => { o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k', namespace: 'voxgate' }, data: { k: 'eA==' } }); }],
    [/backend-config .* not rendered/, (o) => { o.splice(o.findIndex((x) => x.kind === 'BackendConfig'), 1); }],
    [/names ConfigMap .* not rendered/, (o) => { find(o, 'ConfigMap', 'voxgate-pool-config').metadata.name = 'voxgate-pool-config-old'; }],
    [/no ScheduleAnyway topology spread over topology.kubernetes.io\/zone/, (o) => { engine(o).topologySpreadConstraints.shift(); }],
  ];
  assert.deepEqual(checkInvariants(fresh()), []);
  for (const [expected, mutate] of mutations) {
    const objects = fresh();
    mutate(objects);
    const problems = checkInvariants(objects);
    assert.ok(problems.some((p) => expected.test(p)), `${expected}: got ${JSON.stringify(problems)}`);
  }
  // The schema check catches a wrong type; the BackendConfig check an unknown field.
  const deployment = structuredClone(find(fresh(), 'Deployment', 'voxgate-endpoint'));
  deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  const Deployment = await modelClass('apps/v1', 'Deployment');
  assert.throws(() => new Deployment(deployment).validate(), /containerPort/);
  const backendConfig = structuredClone(find(fresh(), 'BackendConfig', 'voxgate-endpoint'));
  backendConfig.spec.healthCheck.reqestPath = '/readyz';
  assert.notDeepEqual(validateBackendConfig(backendConfig), []);
});

test('the configs quote Service addresses and nothing else, and renamed overlays follow the Services', () => {
  // The service-addresses transformer rewrites the text between the Nth pair of double quotes.
  for (const file of readdirSync(path.join(K8S, 'base/config'))) {
    const text = readFileSync(path.join(K8S, 'base/config', file), 'utf8');
    const quoted = [...text.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    const addresses = [];
    for (const p of YAML.parse(text).pools ?? []) for (const e of p.engines ?? []) addresses.push(e.dns ?? e.address);
    assert.deepEqual(quoted, addresses, `${file}: double quotes around anything but the addresses, in order`);
  }
  const preview = rendered['overlays/preview'].objects;
  const pool = preview.find((o) => o.kind === 'Deployment' && o.metadata.name.startsWith('voxgate-pool'));
  assert.match(pool.metadata.name, /-preview$/);
  assert.equal(pool.metadata.namespace, 'voxgate-preview');
  const engines = containerConfig(preview, pool, pool.spec.template.spec.containers[0]).pools.map((p) => p.engines[0].dns);
  assert.deepEqual(engines, ['voxgate-pocketsphinx-preview:7003', 'voxgate-apertium-preview:7004', 'voxgate-espeak-preview:7005']);
  // Nothing else in the configs changed.
  const source = readFileSync(path.join(K8S, 'base/config/pool.yaml'), 'utf8');
  const cm = preview.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('voxgate-pool-config'));
  assert.equal(cm.data['pool.yaml'], source.replace(/"(voxgate-[a-z]+):/g, '"$1-preview:'));
});

test('a kustomization that wraps an overlay and renames again keeps the addresses with the transformer', () => {
  const dir = tempDir('voxgate-k8s-');
  try {
    const outer = path.join(dir, 'outer');
    mkdirSync(outer);
    const rel = (p) => path.relative(outer, path.join(K8S, p));
    writeFileSync(path.join(outer, 'kustomization.yaml'), YAML.stringify({
      resources: [rel('overlays/preview')], namePrefix: 'b-', namespace: 'voxgate-other',
      transformers: [rel('transformers/service-addresses')],
    }));
    const objects = parseAll(kustomize(outer, ['--load-restrictor=LoadRestrictionsNone']));
    assert.deepEqual(checkInvariants(objects), []);
    const endpoint = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('b-voxgate-endpoint-config'));
    assert.match(endpoint.data['endpoint.yaml'], /dns: "b-voxgate-router-preview:7001"/);
    // Without the transformer the configs would point at names that no longer exist.
    writeFileSync(path.join(outer, 'kustomization.yaml'), YAML.stringify({ resources: [rel('overlays/preview')], namePrefix: 'b-' }));
    assert.ok(checkInvariants(parseAll(kustomize(outer, ['--load-restrictor=LoadRestrictionsNone']))).some((p) => /no such Service/.test(p)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prod: internal load balancer, BackendConfig on /readyz, models on Filestore, alert relay secrets by reference', () => {
  const objects = rendered['overlays/prod'].objects;
  const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'voxgate-endpoint');
  assert.equal(svc.spec.type, 'LoadBalancer');
  assert.equal(svc.metadata.annotations['networking.gke.io/load-balancer-type'], 'Internal');
  const bc = objects.find((o) => o.kind === 'BackendConfig');
  const endpoint = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'voxgate-endpoint');
  const admin = endpoint.spec.template.spec.containers[0].ports.find((p) => p.name === 'admin').containerPort;
  assert.deepEqual([bc.spec.healthCheck.requestPath, bc.spec.healthCheck.port], ['/readyz', admin]);
  const pv = objects.find((o) => o.kind === 'PersistentVolume');
  assert.equal(pv.spec.csi.driver, 'filestore.csi.storage.gke.io');
  assert.match(pv.spec.csi.volumeHandle, /^modeInstance\/[a-z0-9-]+\/[a-z0-9-]+\/[a-z0-9_]+$/);
  assert.match(pv.spec.csi.volumeAttributes.ip, /^\d+\.\d+\.\d+\.\d+$/);
  assert.deepEqual(pv.spec.accessModes, ['ReadOnlyMany']);
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
  assert.ok(!objects.some((o) => o.metadata?.annotations?.['config.kubernetes.io/local-config']), 'a local-config object was rendered');
  for (const name of ['voxgate-pocketsphinx', 'voxgate-espeak']) {
    const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
    assert.ok(d.spec.template.spec.volumes.some((v) => v.persistentVolumeClaim?.claimName === 'voxgate-models'), `${name} has no models volume`);
  }
  const relay = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'voxgate-alert-relay');
  assert.equal(relay.spec.template.spec.volumes.find((v) => v.name === 'secrets').secret.secretName, 'voxgate-alert-relay');
  for (const o of objects.filter((x) => x.kind === 'Deployment')) {
    for (const c of o.spec.template.spec.containers) assert.match(c.image, /^[a-z0-9.-]+\/[a-z0-9/_-]+:[\w.-]+$/, `${o.metadata.name}: image without registry or tag`);
  }
});

// ---- the GPU component, on an engine labelled for it ----

function renderGpuEngine() {
  const dir = tempDir('voxgate-k8s-gpu-');
  const inner = path.join(dir, 'inner'), outer = path.join(dir, 'outer');
  mkdirSync(inner);
  mkdirSync(outer);
  writeFileSync(path.join(inner, 'kustomization.yaml'), YAML.stringify({
    resources: [path.relative(inner, path.join(K8S, 'base'))],
    patches: [{
      target: { kind: 'Deployment', name: 'voxgate-pocketsphinx' },
      patch: YAML.stringify([{ op: 'add', path: '/metadata/labels/voxgate.dev~1accelerator', value: 'nvidia' }]),
    }],
  }));
  writeFileSync(path.join(outer, 'kustomization.yaml'), YAML.stringify({
    resources: ['../inner'], components: [path.relative(outer, path.join(K8S, 'components/gpu-engines'))],
  }));
  try {
    return parseAll(kustomize(outer, ['--load-restrictor=LoadRestrictionsNone']));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('components/gpu-engines puts a labelled engine on the GPU pool with --gpu=required', () => {
  const objects = renderGpuEngine();
  assert.deepEqual(checkInvariants(objects), []);
  const pod = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'voxgate-pocketsphinx').spec.template.spec;
  assert.match(pod.nodeSelector['cloud.google.com/gke-accelerator'], /^nvidia-/);
  assert.ok(pod.tolerations.some((t) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule'));
  assert.equal(pod.containers[0].resources.limits['nvidia.com/gpu'], '1');
  assert.ok(pod.containers[0].args.includes('--gpu=required'));
  // Only the labelled engine.
  const placed = objects.filter((o) => o.kind === 'Deployment' && o.spec.template.spec.nodeSelector).map((o) => o.metadata.name);
  assert.deepEqual(placed, ['voxgate-pocketsphinx']);
  // No built-in engine is labelled in prod: they compute on the CPU.
  assert.ok(!rendered['overlays/prod'].objects.some((o) => o.spec?.template?.spec?.nodeSelector));
});

// ---- the rendered command lines and configs, run with the real binaries ----

// Rewrites a container's command line to run here: listeners on free loopback ports, files
// from the pod's ConfigMaps and Secrets in a temporary directory, the model volume from this
// machine's packages.
function localArgv(objects, d, c, dir) {
  const bin = path.join(BIN, path.basename(c.command[0]));
  const args = [];
  for (const a of c.args) {
    const [flag] = a.split('=');
    if (flag === '--listen' || flag === '--admin') args.push(`${flag}=127.0.0.1:0`);
    else if (flag === '--config') {
      const cfg = structuredClone(containerConfig(objects, d, c));
      const relay = cfg.alert_relay;
      if (relay) {
        relay.database = path.join(dir, 'alerts.db');
        writeFileSync(path.join(dir, 'token'), 'secret-token');
        writeFileSync(path.join(dir, 'url'), 'https://hooks.slack.com/services/T/B/X');
        if (relay.input_token?.file) relay.input_token.file = path.join(dir, 'token');
        for (const dst of relay.destinations ?? []) if (dst.url_file) dst.url_file = path.join(dir, 'url');
      }
      const file = path.join(dir, `${d.metadata.name}.yaml`);
      writeFileSync(file, YAML.stringify(cfg));
      args.push(`--config=${file}`);
    } else if (flag === '--model-dir') args.push('--model-dir=/usr/share/pocketsphinx/model/en-us');
    else if (flag === '--data-path') args.push('--data-path=/usr/lib/x86_64-linux-gnu');
    else args.push(a);
  }
  return [bin, ...args];
}

test('every rendered container command line and config runs with the real binaries, and exports the HPA metrics', { timeout: 240000 }, async () => {
  const dir = tempDir('voxgate-k8s-run-');
  const seen = new Set();
  const needed = new Set(['voxgate_engine_active_streams', 'voxgate_engine_capacity', 'voxgate_active_requests']);
  const found = new Set();
  try {
    const sets = [...OVERLAYS.map((o) => rendered[o].objects), renderGpuEngine()];
    for (const objects of sets) {
      for (const d of objects.filter((o) => o.kind === 'Deployment')) {
        for (const c of d.spec.template.spec.containers) {
          const argv = localArgv(objects, d, c, dir);
          const id = JSON.stringify([argv[0], c.args, containerConfig(objects, d, c)]);
          if (seen.has(id)) continue;
          seen.add(id);
          assert.ok(existsSync(argv[0]), `${argv[0]} (from ${c.command[0]}) is not built`);
          const engine = path.basename(argv[0]).startsWith('voxgate-engine-');
          const relay = c.args[0] === 'alert-relay';
          const p = new LoggingProcess();
          let line;
          try {
            line = await p.spawn(argv, engine ? 'engine serving' : relay ? 'alert relay listening' : 'voxgate listening', 120000);
          } catch (e) {
            await p.stop();
            throw new Error(`${d.metadata.name}: ${argv.join(' ')}: ${e.message}`);
          }
          try {
            const admin = line.admin;
            assert.ok(admin, `${d.metadata.name}: no admin listener`);
            const health = await fetch(`http://${admin}/healthz`);
            assert.equal(health.status, 200, `${d.metadata.name}: /healthz (startup and liveness probes)`);
            const gpuRequired = c.args.includes('--gpu=required');
            if (engine) {
              // Without a GPU here, --gpu=required leaves the engine up but not ready: what the
              // probes are built for (startup and liveness on /healthz, readiness on gRPC health).
              assert.equal(line.ready, !gpuRequired, `${d.metadata.name}: ready`);
              assert.equal((await fetch(`http://${admin}/readyz`)).status, gpuRequired ? 503 : 200);
            }
            const metrics = await (await fetch(`http://${admin}/metrics`)).text();
            for (const m of needed) if (new RegExp(`^${m}(\\{| )`, 'm').test(metrics)) found.add(m);
          } finally {
            await p.stop();
          }
          const exited = await p.exited;
          assert.equal(exited.code, 0, `${d.metadata.name} did not drain cleanly on SIGTERM: ${JSON.stringify(exited)}`);
        }
      }
    }
    // Every tier of every overlay, the engines' variants (capacity, model volume, GPU), the relay.
    assert.ok(seen.size >= 12, `only ${seen.size} distinct command lines ran`);
    assert.deepEqual([...found].sort(), [...needed].sort(), 'the series the HPAs scale on (through prometheus-adapter)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
