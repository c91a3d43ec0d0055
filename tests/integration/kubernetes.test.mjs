// The Kubernetes manifests (deploy/kubernetes): every overlay renders with kubectl's kustomize,
// every object validates against the Kubernetes schemas (npm kubernetes-models; Managed
// Prometheus' PodMonitoring against a small schema here), yamllint passes on the sources and the
// rendered output, and the invariants a deployment depends on hold in every overlay (probes on
// the ports the processes listen on, resources from the measurements, ephemeral storage over
// the emptyDirs, security, read-only models and a claimRef on the rendered claim, Services that
// reach named ports, config addresses that reach the rendered Services on their pods' ports,
// images that scripts/build-images.sh builds, HPAs that own their Deployments' replicas, PDBs,
// probe timing equal to voxgate's own health checks, rollouts that wait for discovery, grace
// periods that cover the drain, scraping for the HPAs' series, network policies under which each
// port is reachable from exactly who dials it, the admin port from the monitoring namespace, DNS
// from every pod, and nothing else goes out). The checker is shown to catch
// broken manifests, and the rendered command lines and configs are run with the real binaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
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
// How long the cluster DNS may answer from its cache (kube-dns' TTL on GKE): a new pod can be
// invisible to the tier in front for this long after it turns ready.
const DNS_CACHE_SECONDS = 30;
// pocketsphinx under load (docs/BENCHMARKS.md, "Per-tier resource use"): 0.63-0.68 CPU seconds
// per second of audio and stream, ~100 MiB per decoder.
const RECOGNIZER_CORES_PER_STREAM = 0.65;
const RECOGNIZER_BYTES_PER_STREAM = 100 * 2 ** 20;
// The endpoint's default limits.max_upload_memory_bytes (core/config.h), and room for the rest of
// it: 20-46 MiB measured with up to four hour-long uploads (docs/BENCHMARKS.md, "Upload memory").
const UPLOAD_MEMORY_DEFAULT_BYTES = 256 * 2 ** 20;
const ENDPOINT_OWN_BYTES = 128 * 2 ** 20;
// Containers that run real-time decoding: no CPU limit, or one equal to the request.
const REAL_TIME_BINARIES = new Set(['voxgate-engine-pocketsphinx']);
// Termination: the grace period leaves this much after the preStop pause and the drain.
const CLOSE_MARGIN_SECONDS = 10;

// The images scripts/build-images.sh builds (its images_table): name -> binaries.
function builtImages() {
  const script = readFileSync(path.join(ROOT, 'scripts/build-images.sh'), 'utf8');
  const table = script.slice(script.indexOf('images_table=('), script.indexOf('\n)', script.indexOf('images_table=(')));
  const images = new Map();
  for (const m of table.matchAll(/^\s*"([a-z0-9-]+)\|([^|]*)\|/gm)) images.set(`voxgate-${m[1]}`, m[2].split(/\s+/).filter(Boolean));
  assert.ok(images.size >= 4, `images_table not found in scripts/build-images.sh (${images.size} rows)`);
  return images;
}
const BUILT_IMAGES = builtImages();

// Kubernetes quantities: cores for cpu, bytes for the rest.
function quantity(q) {
  if (q === undefined) return undefined;
  const m = /^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(String(q));
  if (!m) return NaN;
  const scale = { m: 1e-3, k: 1e3, Ki: 2 ** 10, M: 1e6, Mi: 2 ** 20, G: 1e9, Gi: 2 ** 30, T: 1e12, Ti: 2 ** 40 }[m[2]] ?? 1;
  return Number(m[1]) * scale;
}

// The port of a host:port flag value (--listen=0.0.0.0:7003).
const portOf = (address) => (address === undefined ? undefined : Number(address.slice(address.lastIndexOf(':') + 1)));
// A container port by name or number -> its number.
const containerPort = (c, port) => (c.ports ?? []).find((p) => p.name === port || p.containerPort === port)?.containerPort;

function kustomize(dir, extra = []) {
  try {
    return execFileSync('kubectl', ['kustomize', ...extra, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // kubectl is not a Debian package: these machines come with it (Google Cloud SDK).
    if (e.code === 'ENOENT') throw new Error('kubectl is not in PATH: install it (e.g. the Google Cloud SDK\'s kubectl) to test the manifests');
    throw e;
  }
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

// The text of the config a container runs with: its --config file from a mounted ConfigMap.
function containerConfigText(objects, deployment, container) {
  const file = flagValue(container.args, '--config');
  if (!file) return undefined;
  for (const m of container.volumeMounts ?? []) {
    if (!file.startsWith(`${m.mountPath}/`)) continue;
    const volume = deployment.spec.template.spec.volumes?.find((v) => v.name === m.name);
    const cm = volume?.configMap && objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name && ns(o) === ns(deployment));
    return cm?.data?.[file.slice(m.mountPath.length + 1)] ?? null;
  }
  return null;
}

// A container's environment as far as the manifests say it: a variable from a Secret (valueFrom)
// has no value here.
const containerEnv = (container) =>
  Object.fromEntries((container.env ?? []).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]));

// The config a container runs with, as voxgate reads it there: `voxgate check-config --print`
// given the container's env and nothing else. { config } (undefined: no --config; null: not a
// key of a mounted ConfigMap), or { error } with voxgate's message. A variable from a Secret
// counts as unset. The sanitizers' settings pass through (a
// sanitizer build's findings must fail it); they change nothing of the config.
const SANITIZER_ENV = Object.fromEntries(['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'].filter((n) => process.env[n]).map((n) => [n, process.env[n]]));
const resolvedConfigs = new Map();
let resolveDir;
function resolvedConfig(objects, deployment, container) {
  const text = containerConfigText(objects, deployment, container);
  if (typeof text !== 'string') return { config: text };
  const env = containerEnv(container);
  const id = JSON.stringify([text, env]);
  if (!resolvedConfigs.has(id)) {
    if (!resolveDir) {
      resolveDir = tempDir('voxgate-k8s-config-');
      process.on('exit', () => rmSync(resolveDir, { recursive: true, force: true }));
    }
    const file = path.join(resolveDir, `${resolvedConfigs.size}.yaml`);
    writeFileSync(file, text);
    const r = spawnSync(path.join(BIN, 'voxgate'), ['check-config', `--config=${file}`, '--print'],
      { env: { ...env, ...SANITIZER_ENV }, encoding: 'utf8', timeout: 30000 });
    if (r.error) throw r.error;
    if (r.status === 2 && r.stderr.startsWith(`voxgate: ${file}: `)) {
      resolvedConfigs.set(id, { error: r.stderr.trim().slice(`voxgate: ${file}: `.length) });
    } else if (r.status === 0 && r.stderr === '') {
      resolvedConfigs.set(id, { config: YAML.parse(r.stdout) });
    } else {  // not an answer about the config: voxgate itself failed
      throw new Error(`voxgate check-config ended with status ${r.status}, signal ${r.signal}: ${r.stderr}`);
    }
  }
  return resolvedConfigs.get(id);
}
const containerConfig = (objects, deployment, container) => resolvedConfig(objects, deployment, container).config;

function adapterMetricNames() {
  const values = YAML.parse(readFileSync(path.join(K8S, 'prometheus-adapter/values.yaml'), 'utf8'));
  return new Set(values.rules.custom.map((r) => r.name.as));
}

// monitoringNamespace: where the admin port may be reached from (default: Managed Prometheus'
// gmp-system where a PodMonitoring is rendered, else your own Prometheus' monitoring).
export function checkInvariants(objects, { monitoringNamespace } = {}) {
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
      // The ports the process listens on (--listen, --admin) are the declared container ports
      // (grpc or http, admin), and the probes ask those listeners: gRPC health on --listen,
      // /healthz and /readyz on --admin.
      const listen = portOf(flagValue(c.args, '--listen'));
      const admin = portOf(flagValue(c.args, '--admin'));
      const served = containerPort(c, 'grpc') ?? containerPort(c, 'http');
      if (listen !== served) bad(d, `${where} --listen port ${listen} is not its grpc/http containerPort ${served}`);
      if (admin !== containerPort(c, 'admin')) bad(d, `${where} --admin port ${admin} is not its admin containerPort ${containerPort(c, 'admin')}`);
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.grpc?.port;
        const number = containerPort(c, port);
        if (c[probe] && number === undefined) bad(d, `${where} ${probe} targets port ${port}, which the container does not declare`);
        else if (c[probe]?.grpc && number !== listen) bad(d, `${where} ${probe} port ${number} (gRPC health) is not the --listen port ${listen}`);
        else if (c[probe]?.httpGet && number !== admin) bad(d, `${where} ${probe} port ${number} (${c[probe].httpGet.path}) is not the --admin port ${admin}`);
      }
      // Images: one that scripts/build-images.sh builds, holding the command's binary.
      const imageName = c.image?.replace(/@.*$/, '').replace(/:[^/:]*$/, '').split('/').pop();
      const binaries = BUILT_IMAGES.get(imageName);
      if (!binaries) bad(d, `${where} image ${c.image} is not an image of scripts/build-images.sh (${[...BUILT_IMAGES.keys()].join(', ')})`);
      else if (!binaries.includes(path.basename(c.command?.[0] ?? ''))) bad(d, `${where} command ${c.command?.[0]} is not a binary of image ${imageName}`);
      // Resources: requests and limits, except a CPU limit on real-time decoding (a CFS quota
      // throttles it); a recognizer's requests follow the measurement per stream.
      const res = c.resources ?? {};
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
          if (kind === 'limits' && r === 'cpu' && REAL_TIME_BINARIES.has(path.basename(c.command?.[0] ?? ''))) continue;
          if (!res[kind]?.[r]) bad(d, `${where} has no ${kind}.${r}`);
        }
      }
      for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
        if (res.limits?.[r] && !(quantity(res.limits[r]) >= quantity(res.requests?.[r]))) bad(d, `${where} limits.${r} is below requests.${r}`);
      }
      if (REAL_TIME_BINARIES.has(path.basename(c.command?.[0] ?? ''))) {
        if (res.limits?.cpu && quantity(res.limits.cpu) !== quantity(res.requests?.cpu)) bad(d, `${where} has a CPU limit other than its request (a quota throttles real-time decoding)`);
        const capacity = Number(flagValue(c.args, '--capacity') ?? 1);
        if (!(quantity(res.requests?.cpu) >= capacity * RECOGNIZER_CORES_PER_STREAM - 1e-9)) bad(d, `${where} requests.cpu ${res.requests?.cpu} is below --capacity ${capacity} x ${RECOGNIZER_CORES_PER_STREAM} cores (measured)`);
        if (!(quantity(res.requests?.memory) >= capacity * RECOGNIZER_BYTES_PER_STREAM)) bad(d, `${where} requests.memory ${res.requests?.memory} is below --capacity ${capacity} x 100Mi (measured)`);
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
      const { config, error } = resolvedConfig(objects, d, c);
      if (config === null) bad(d, `${where} --config is not a key of a mounted ConfigMap`);
      if (error) bad(d, `${where} config: ${error}`);
      const drain = Number(flagValue(c.args, '--drain-grace-seconds') ?? config?.drain_grace_seconds ??
                           (c.args?.[0] === 'alert-relay' ? 5 : DRAIN_DEFAULT_SECONDS));
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (!(grace >= pause + drain + CLOSE_MARGIN_SECONDS)) bad(d, `terminationGracePeriodSeconds ${grace} is less than preStop ${pause} s + drain ${drain} s + ${CLOSE_MARGIN_SECONDS} s`);
      // An endpoint's memory limit holds the upload bodies it may keep at once, and itself.
      if (['endpoint', 'serve'].includes(c.args?.[0])) {
        const uploads = config?.limits?.max_upload_memory_bytes ?? UPLOAD_MEMORY_DEFAULT_BYTES;
        if (!(quantity(res.limits?.memory) >= uploads + ENDPOINT_OWN_BYTES)) {
          bad(d, `${where} limits.memory ${res.limits?.memory} is below limits.max_upload_memory_bytes ${uploads} B + ${ENDPOINT_OWN_BYTES / 2 ** 20}Mi for the endpoint itself`);
        }
      }
    }
    // Ephemeral storage: every emptyDir is bounded, and the pod's limits hold them all and logs.
    const emptyDirs = (pod.volumes ?? []).filter((v) => v.emptyDir);
    for (const v of emptyDirs) if (!v.emptyDir.sizeLimit) bad(d, `emptyDir ${v.name} has no sizeLimit`);
    const scratch = emptyDirs.reduce((sum, v) => sum + (quantity(v.emptyDir.sizeLimit) || 0), 0);
    const ephemeral = pod.containers.reduce((sum, c) => sum + (quantity(c.resources?.limits?.['ephemeral-storage']) || 0), 0);
    if (!(ephemeral > scratch)) bad(d, `ephemeral-storage limits ${ephemeral} B do not exceed its emptyDirs' ${scratch} B (logs need room too)`);
    for (const n of [d.metadata.name]) if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) bad(d, 'name is not a DNS label of at most 63 characters');
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
      } else if (s.spec.clusterIP === 'None') {
        // Headless: DNS gives pod IPs and clients dial the container's port, so the Service's
        // port says the same (SRV records, `kubectl get svc`), never another number.
        for (const d of pods) {
          const target = d.spec.template.spec.containers.map((c) => containerPort(c, p.targetPort)).find((x) => x !== undefined);
          if (target !== p.port) bad(s, `headless Service port ${p.port} is not its pods' ${p.targetPort} containerPort ${target}`);
        }
      }
    }
    if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(s.metadata.name)) bad(s, 'name is not a DNS label of at most 63 characters');
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
          if (e.dns && (svc.spec.clusterIP !== 'None' || svc.spec.publishNotReadyAddresses)) bad(svc, 'named by dns: in a config but not headless with ready addresses only');
          const behindPods = podsIn(svc).filter((x) => matches(svc.spec.selector, x.spec.template.metadata.labels));
          if (svc.spec.clusterIP !== 'None' && !(svc.spec.ports ?? []).some((sp) => sp.port === port)) bad(d, `config pool ${p.name} names ${target}: the Service has no port ${port}`);
          for (const behind of behindPods) {
            // dns: gives pod IPs: the config's port must be the one the pods listen on, the
            // containerPort their Service targets (the tier's grpc port).
            const targets = (svc.spec.ports ?? []).map((sp) => behind.spec.template.spec.containers.map((bc) => containerPort(bc, sp.targetPort)).find((x) => x !== undefined));
            if (svc.spec.clusterIP === 'None' && !targets.includes(port)) bad(d, `config pool ${p.name} names ${target}: its pods listen on ${targets.join(', ')}`);
            // A rollout takes down an old pod only once the tier in front can use the new one:
            // the DNS cache, the next refresh, then healthy_threshold checks.
            const discovery = DNS_CACHE_SECONDS + (e.refresh_seconds ?? 30) + health.healthy_threshold * health.interval_seconds;
            if (e.dns && !((behind.spec.minReadySeconds ?? 0) >= discovery)) {
              bad(behind, `minReadySeconds ${behind.spec.minReadySeconds ?? 0} is less than the ${discovery} s pool ${p.name} of ${d.metadata.name} may take to find a new pod (DNS ${DNS_CACHE_SECONDS} s + refresh ${e.refresh_seconds} s + ${health.healthy_threshold} x ${health.interval_seconds} s)`);
            }
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
    const target = deployments.find((d) => t.kind === 'Deployment' && d.metadata.name === t.name && ns(d) === ns(h));
    if (!target) bad(h, `scaleTargetRef ${t.kind}/${t.name} is not rendered`);
    else if (target.spec.replicas !== undefined) bad(target, `spec.replicas ${target.spec.replicas} is set, but HorizontalPodAutoscaler ${h.metadata.name} owns the count (kubectl apply would reset it)`);
    for (const m of h.spec.metrics ?? []) {
      if (m.type === 'Pods' && !adapterMetrics.has(m.pods.metric.name)) bad(h, `metric ${m.pods.metric.name} is not made by prometheus-adapter/values.yaml`);
    }
    if (!(h.spec.minReplicas >= 2)) bad(h, 'minReplicas below 2 (one pod draining would leave none)');
  }
  for (const b of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    if (!podsIn(b).some((d) => matches(b.spec.selector?.matchLabels, d.spec.template.metadata.labels))) bad(b, 'selects no pods');
    if (b.spec.unhealthyPodEvictionPolicy !== 'AlwaysAllow') bad(b, 'unhealthyPodEvictionPolicy is not AlwaysAllow');
  }
  // A PersistentVolume reserved for a claim names the claim as rendered, and the claim it.
  for (const pv of objects.filter((o) => o.kind === 'PersistentVolume')) {
    const ref = pv.spec.claimRef;
    if (!ref) continue;
    const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === ref.name && ns(o) === ref.namespace);
    if (!claim) bad(pv, `claimRef ${ref.namespace}/${ref.name} is not a rendered PersistentVolumeClaim`);
    else if (claim.spec.volumeName !== pv.metadata.name) bad(pv, `claim ${ref.name} binds volumeName ${claim.spec.volumeName}, not this volume`);
  }
  // Managed Prometheus scrapes only what a PodMonitoring selects: in a namespace with one, every
  // voxgate pod is scraped, on a port it declares.
  for (const m of objects.filter((o) => o.kind === 'PodMonitoring')) {
    const selected = podsIn(m).filter((d) => matches(m.spec.selector?.matchLabels, d.spec.template.metadata.labels));
    if (!selected.length) bad(m, 'selects no pods');
    for (const d of selected) {
      for (const e of m.spec.endpoints ?? []) {
        if (!d.spec.template.spec.containers.some((c) => containerPort(c, e.port) !== undefined)) bad(m, `scrapes port ${e.port}, which ${d.metadata.name} does not declare`);
      }
    }
    for (const d of podsIn(m)) {
      if (!objects.some((x) => x.kind === 'PodMonitoring' && ns(x) === ns(d) && matches(x.spec.selector?.matchLabels, d.spec.template.metadata.labels))) bad(d, 'no PodMonitoring scrapes its pods');
    }
  }
  for (const s of objects.filter((o) => o.kind === 'Secret')) {
    if (s.data || s.stringData) bad(s, 'a Secret with data is rendered (secrets are created by hand, never committed)');
  }
  checkNetworkPolicies(objects, deployments, services, bad, problems, monitoringNamespace ??
    (objects.some((o) => o.kind === 'PodMonitoring') ? MONITORING_NAMESPACE.managed : MONITORING_NAMESPACE.own));
  return problems;
}

// ---- network policies: Kubernetes NetworkPolicy semantics, evaluated on probe traffic ----

// Where the admin port (/metrics) is scraped from: Managed Prometheus' collectors (a namespace
// with a PodMonitoring) or your own Prometheus (docs/DEPLOY-GKE.md, "Network policies").
const MONITORING_NAMESPACE = { managed: 'gmp-system', own: 'monitoring' };
// The label that admits a namespace's Alertmanager to the alert relay's input.
const ALERTMANAGER_NAMESPACE_LABEL = { 'voxgate.dev/alertmanager': 'true' };

// A label selector (matchLabels and matchExpressions); {} selects everything.
function selects(selector, labels) {
  const l = labels ?? {};
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => l[k] === v) &&
    (selector?.matchExpressions ?? []).every(({ key: k, operator, values = [] }) => {
      const has = Object.hasOwn(l, k);
      return { In: has && values.includes(l[k]), NotIn: !has || !values.includes(l[k]), Exists: has, DoesNotExist: !has }[operator] ?? false;
    });
}
const ipv4 = (ip) => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);
function inCidr(ip, cidr) {
  if (!ip || cidr.includes(':')) return false;
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
}
const policyTypes = (np) => np.spec?.policyTypes ?? (np.spec?.egress ? ['Ingress', 'Egress'] : ['Ingress']);
// Does a peer of a rule (in a policy of namespace policyNs) match the party at the other end?
// Parties outside the cluster (no labels) match ipBlocks only; pods match selectors (a
// podSelector alone: pods of the policy's own namespace).
function peerMatches(policyNs, peer, party) {
  if (peer.ipBlock) return inCidr(party.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(party.ip, c));
  if (!party.labels) return false;
  const inNamespace = peer.namespaceSelector ? selects(peer.namespaceSelector, party.namespaceLabels) : party.namespace === policyNs;
  return inNamespace && (!peer.podSelector || selects(peer.podSelector, party.labels));
}
// A rule's ports against the destination's port ({number, name, protocol}); named ports are the
// destination container's.
const portMatches = (rulePorts, port) => !rulePorts?.length || rulePorts.some((p) => (p.protocol ?? 'TCP') === port.protocol &&
  (p.port === undefined || (typeof p.port === 'string' ? p.port === port.name : p.endPort ? port.number >= p.port && port.number <= p.endPort : p.port === port.number)));
// Whether the policies let src open a connection to dst's port: src's egress and dst's ingress.
function allows(policies, src, dst, port) {
  const side = (party, type, rules, peers, other) => {
    if (!party.labels) return true;  // outside the cluster: no policy applies there
    const applying = policies.filter((np) => ns(np) === party.namespace && policyTypes(np).includes(type) && selects(np.spec.podSelector ?? {}, party.labels));
    return !applying.length || applying.some((np) => (np.spec[rules] ?? []).some((r) =>
      (!r[peers]?.length || r[peers].some((peer) => peerMatches(ns(np), peer, other))) && portMatches(r.ports, port)));
  };
  return side(src, 'Egress', 'egress', 'to', dst) && side(dst, 'Ingress', 'ingress', 'from', src);
}

// Who may reach whom: every container port of every voxgate pod from exactly the parties its
// role expects, computed from the configs (who dials whom); DNS from every pod; nothing else out.
function checkNetworkPolicies(objects, deployments, services, bad, problems, monitoringNamespace) {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const namespaces = [...new Set(deployments.map(ns))];
  for (const n of namespaces) {
    const deny = policies.find((np) => ns(np) === n && JSON.stringify(np.spec.podSelector) === '{}' && ['Ingress', 'Egress'].every((t) => policyTypes(np).includes(t)) &&
      !np.spec.ingress?.length && !np.spec.egress?.length);
    if (!deny) problems.push(`Namespace/${n}: no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)`);
  }
  for (const np of policies) {
    if (!deployments.some((d) => ns(d) === ns(np) && selects(np.spec.podSelector ?? {}, d.spec.template.metadata.labels))) bad(np, 'selects no pods');
  }
  const nsLabels = (n) => ({ ...objects.find((o) => o.kind === 'Namespace' && o.metadata.name === n)?.metadata.labels, 'kubernetes.io/metadata.name': n });
  const portsOf = (d) => d.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => ({ number: p.containerPort, name: p.name, protocol: p.protocol ?? 'TCP' })));
  const pod = (id, namespace, labels, extraNsLabels = {}) => ({ id, namespace, labels, namespaceLabels: { ...nsLabels(namespace), ...extraNsLabels } });
  const tiers = deployments.map((d) => ({ ...pod(d.metadata.name, ns(d), d.spec.template.metadata.labels), deployment: d }));
  const elsewhere = 'voxgate-elsewhere';
  // Sources (and destinations) beyond the tiers: each tier's twin in another namespace (same
  // labels), a stray pod of the namespace, the monitoring namespace, an Alertmanager namespace,
  // clients in the VPC and on the internet.
  const twins = tiers.map((t) => ({ ...pod(`${t.id} in namespace ${elsewhere}`, elsewhere, t.labels), deployment: t.deployment }));
  const monitoring = pod(`a pod in namespace ${monitoringNamespace}`, monitoringNamespace, { app: 'prometheus' });
  const wrongMonitoring = pod('a pod in namespace kube-system', 'kube-system', { app: 'prometheus' });
  const alertmanager = pod('an Alertmanager in a namespace labelled voxgate.dev/alertmanager=true', 'alerting', { 'app.kubernetes.io/name': 'alertmanager' }, ALERTMANAGER_NAMESPACE_LABEL);
  const strays = namespaces.map((n) => pod(`a pod of namespace ${n} without voxgate's labels`, n, { run: 'debug' }));
  const clients = [{ id: 'a client at 10.128.0.5', ip: '10.128.0.5' }, { id: 'a client at 203.0.113.7', ip: '203.0.113.7' }];
  const sources = [...tiers, ...twins, monitoring, wrongMonitoring, alertmanager, ...strays, ...clients];

  // Who dials whom: a config's addresses name a Service, whose pods are dialled on that port.
  const dialled = new Map();  // `${deployment}:${port}` -> Set of dialling deployments
  for (const d of deployments) {
    for (const c of d.spec.template.spec.containers) {
      for (const p of containerConfig(objects, d, c)?.pools ?? []) {
        for (const e of p.engines ?? []) {
          const target = e.dns ?? e.address;
          if (!target) continue;
          const name = target.slice(0, target.lastIndexOf(':')).split('.')[0];
          const svc = services.find((s) => s.metadata.name === name && ns(s) === ns(d));
          if (!svc) continue;  // reported above
          for (const behind of deployments.filter((x) => ns(x) === ns(svc) && matches(svc.spec.selector, x.spec.template.metadata.labels))) {
            const k = `${key(behind)}:${Number(target.slice(target.lastIndexOf(':') + 1))}`;
            if (!dialled.has(k)) dialled.set(k, new Set());
            dialled.get(k).add(d.metadata.name);
          }
        }
      }
    }
  }
  const role = (d) => d.spec.template.spec.containers[0].args?.[0];
  for (const t of tiers) {
    const d = t.deployment;
    for (const port of portsOf(d)) {
      const served = services.some((s) => ns(s) === t.namespace && matches(s.spec.selector, t.labels) && (s.spec.ports ?? []).some((sp) => sp.targetPort === port.name || sp.targetPort === port.number));
      let expected, what;
      if (port.name === 'admin') [expected, what] = [[monitoring], `only ${monitoring.id}`];
      else if (!served) [expected, what] = [[], 'nobody (no Service exposes it)'];
      else if (dialled.has(`${key(d)}:${port.number}`)) {
        const dialers = dialled.get(`${key(d)}:${port.number}`);
        [expected, what] = [tiers.filter((s) => s.namespace === t.namespace && dialers.has(s.id)), `only the tier dialling it (${[...dialers].join(', ')})`];
      } else if (role(d) === 'endpoint') {
        // The client API: from anywhere outside (the namespace's own pods never call it, and
        // their egress says so).
        [expected, what] = [sources.filter((s) => s.namespace !== t.namespace), 'anyone outside the namespace (the client API)'];
      }
      else if (role(d) === 'alert-relay') [expected, what] = [[...tiers.filter((s) => s.namespace === t.namespace), alertmanager], 'voxgate pods and Alertmanager'];
      else { bad(d, `port ${port.number} (${port.name}) is exposed by a Service but dialled by no config: who may reach it?`); continue; }
      for (const s of sources) {
        const allowed = allows(policies, s, t, port);
        if (allowed && !expected.includes(s)) bad(d, `port ${port.number} (${port.name}) is reachable from ${s.id} (expected ${what})`);
        if (!allowed && expected.includes(s)) bad(d, `port ${port.number} (${port.name}) is not reachable from ${s.id} (expected ${what})`);
      }
    }
  }
  // Out: DNS from every pod (kube-dns, NodeLocal DNSCache); HTTPS to the internet only from the
  // alert relay (its webhooks); nothing to other namespaces' pods, nor any other address.
  const kubeDns = pod('kube-dns', 'kube-system', { 'k8s-app': 'kube-dns' });
  for (const t of tiers) {
    const d = t.deployment;
    for (const [dst, port] of [[kubeDns, { number: 53, name: 'dns', protocol: 'UDP' }], [kubeDns, { number: 53, name: 'dns-tcp', protocol: 'TCP' }], [{ id: '169.254.20.10', ip: '169.254.20.10' }, { number: 53, protocol: 'UDP' }]]) {
      if (!allows(policies, t, dst, port)) bad(d, `cannot reach DNS (${dst.id} ${port.protocol} 53): discovery fails`);
    }
    const relay = d.spec.template.spec.containers.some((c) => containerConfig(objects, d, c)?.alert_relay);
    const webhook = { id: '198.51.100.10', ip: '198.51.100.10' };
    if (allows(policies, t, webhook, { number: 443, protocol: 'TCP' }) !== Boolean(relay)) bad(d, `${relay ? 'cannot reach' : 'reaches'} ${webhook.id}:443 (HTTPS out: only the alert relay, to its webhooks)`);
    if (allows(policies, t, webhook, { number: 80, protocol: 'TCP' })) bad(d, `reaches ${webhook.id}:80 (nothing but DNS and the relay's HTTPS leaves the tiers)`);
    for (const twin of twins) {
      for (const port of portsOf(twin.deployment)) if (allows(policies, t, twin, port)) bad(d, `reaches ${twin.id} port ${port.number} (another namespace's voxgate)`);
    }
  }
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

// Managed Prometheus' PodMonitoring (monitoring.googleapis.com/v1, a CRD kubernetes-models does
// not know): the fields of its schema used here, with their types.
const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const seconds = (d) => [...d.matchAll(/([0-9.]+)(ms|s|m|h)/g)].reduce((s, [, n, u]) => s + Number(n) * { ms: 1e-3, s: 1, m: 60, h: 3600 }[u], 0);
function validatePodMonitoring(o) {
  const errors = [];
  const spec = o.spec ?? {};
  const allowed = { selector: 'object', endpoints: 'object', targetLabels: 'object', limits: 'object' };
  for (const [k, v] of Object.entries(spec)) if (typeof v !== allowed[k]) errors.push(`spec.${k}: unknown or not a ${allowed[k] ?? 'known field'}`);
  for (const [k, v] of Object.entries(spec.selector ?? {})) {
    if (k !== 'matchLabels' && k !== 'matchExpressions') errors.push(`spec.selector.${k}: unknown`);
    if (k === 'matchLabels' && !Object.values(v).every((x) => typeof x === 'string')) errors.push('spec.selector.matchLabels: not strings');
  }
  if (!spec.selector) errors.push('spec.selector: missing');
  if (!Array.isArray(spec.endpoints) || !spec.endpoints.length) errors.push('spec.endpoints: not a non-empty list');
  const endpointFields = { port: ['string', 'number'], path: ['string'], interval: ['string'], timeout: ['string'], scheme: ['string'], params: ['object'], metricRelabeling: ['object'] };
  for (const [i, e] of (Array.isArray(spec.endpoints) ? spec.endpoints : []).entries()) {
    for (const [k, v] of Object.entries(e)) if (!(endpointFields[k] ?? []).includes(typeof v)) errors.push(`spec.endpoints[${i}].${k}: unknown or wrong type`);
    if (e.port === undefined) errors.push(`spec.endpoints[${i}].port: missing`);
    if (e.path !== undefined && !String(e.path).startsWith('/')) errors.push(`spec.endpoints[${i}].path: not a path`);
    for (const k of ['interval', 'timeout']) if (e[k] !== undefined && !DURATION.test(e[k])) errors.push(`spec.endpoints[${i}].${k}: not a duration`);
    if (e.scheme !== undefined && !['http', 'https'].includes(e.scheme)) errors.push(`spec.endpoints[${i}].scheme: not http or https`);
    if (e.interval && e.timeout && DURATION.test(e.interval) && DURATION.test(e.timeout) && seconds(e.timeout) > seconds(e.interval)) errors.push(`spec.endpoints[${i}].timeout: longer than interval`);
  }
  for (const [k, v] of Object.entries(spec.targetLabels ?? {})) {
    if (k === 'metadata') {
      if (!Array.isArray(v) || !v.every((x) => ['pod', 'container', 'node'].includes(x))) errors.push('spec.targetLabels.metadata: not a list of pod, container, node');
    } else if (k !== 'fromPod') errors.push(`spec.targetLabels.${k}: unknown`);
  }
  return errors;
}

for (const overlay of OVERLAYS) {
  test(`${overlay}: every rendered object validates against its schema`, async () => {
    const { objects } = rendered[overlay];
    assert.ok(objects.length > 20, `only ${objects.length} objects`);
    for (const o of objects) {
      if (o.apiVersion === 'monitoring.googleapis.com/v1' && o.kind === 'PodMonitoring') {
        assert.deepEqual(validatePodMonitoring(o), [], key(o));
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
    [/config: pools\[0\]\.engines\[0\]\.dns: environment variable VOXGATE_POOL_ADDRESS is not set/, (o) => { find(o, 'Deployment', 'voxgate-router').spec.template.spec.containers[0].env = []; }],
    [/limits.memory 300Mi is below limits.max_upload_memory_bytes 268435456 B/, (o) => { find(o, 'Deployment', 'voxgate-endpoint').spec.template.spec.containers[0].resources.limits.memory = '300Mi'; }],
    [/root filesystem is not read-only/, (o) => { engine(o).containers[0].securityContext.readOnlyRootFilesystem = false; }],
    [/non-root/, (o) => { engine(o).securityContext.runAsUser = 0; }],
    [/mounts claim voxgate-models writable/, (o) => { engine(o).containers[0].volumeMounts.find((m) => m.name === 'models').readOnly = false; }],
    [/model path .* writable mount/, (o) => { engine(o).containers[0].volumeMounts.push({ name: 'tmp', mountPath: '/models/pocketsphinx' }); }],
    [/terminationGracePeriodSeconds 70 is less than preStop 5 s \+ drain 60 s \+ 10 s/, (o) => { engine(o).terminationGracePeriodSeconds = 70; }],
    [/selector matches no pod template/, (o) => { find(o, 'Service', 'voxgate-pool').spec.selector['app.kubernetes.io/component'] = 'poool'; }],
    [/targets grpcc, which its pods do not declare/, (o) => { find(o, 'Service', 'voxgate-router').spec.ports[0].targetPort = 'grpcc'; }],
    [/names voxgate-pocketsphinx:7003: no such Service/, (o) => { find(o, 'Service', 'voxgate-pocketsphinx').metadata.name = 'voxgate-pocketsphinx-x'; }],
    [/headless Service port 7009 is not its pods' grpc containerPort 7002/, (o) => { find(o, 'Service', 'voxgate-pool').spec.ports[0].port = 7009; }],
    [/names voxgate-pocketsphinx:7003: its pods listen on 7013/, (o) => { const c = engine(o).containers[0]; c.ports[0].containerPort = 7013; c.args[0] = '--listen=0.0.0.0:7013'; c.readinessProbe.grpc.port = 7013; }],
    [/--listen port 7013 is not its grpc\/http containerPort 7003/, (o) => { engine(o).containers[0].args[0] = '--listen=0.0.0.0:7013'; }],
    [/--admin port 9091 is not its admin containerPort 9090/, (o) => { find(o, 'Deployment', 'voxgate-router').spec.template.spec.containers[0].args[3] = '--admin=0.0.0.0:9091'; }],
    [/readinessProbe port 7004 \(gRPC health\) is not the --listen port 7003/, (o) => { const c = engine(o).containers[0]; c.ports.push({ name: 'other', containerPort: 7004 }); c.readinessProbe.grpc.port = 7004; }],
    [/livenessProbe port 7003 \(\/healthz\) is not the --admin port 9090/, (o) => { engine(o).containers[0].livenessProbe.httpGet.port = 'grpc'; }],
    [/spec.replicas 3 is set, but HorizontalPodAutoscaler voxgate-pocketsphinx owns the count/, (o) => { find(o, 'Deployment', 'voxgate-pocketsphinx').spec.replicas = 3; }],
    [/Deployment\/voxgate\/voxgate-pocketsphinx: minReadySeconds 20 is less than the 50 s/, (o) => { find(o, 'Deployment', 'voxgate-pocketsphinx').spec.minReadySeconds = 20; }],
    [/Deployment\/voxgate\/voxgate-router: minReadySeconds 0 is less than/, (o) => { delete find(o, 'Deployment', 'voxgate-router').spec.minReadySeconds; }],
    [/has no limits.ephemeral-storage/, (o) => { delete find(o, 'Deployment', 'voxgate-pool').spec.template.spec.containers[0].resources.limits['ephemeral-storage']; }],
    [/do not exceed its emptyDirs/, (o) => { engine(o).volumes.find((v) => v.name === 'tmp').emptyDir.sizeLimit = '1Gi'; }],
    [/emptyDir tmp has no sizeLimit/, (o) => { delete engine(o).volumes.find((v) => v.name === 'tmp').emptyDir.sizeLimit; }],
    [/has no limits.cpu/, (o) => { delete find(o, 'Deployment', 'voxgate-apertium').spec.template.spec.containers[0].resources.limits.cpu; }],
    [/has a CPU limit other than its request/, (o) => { engine(o).containers[0].resources.limits.cpu = '2'; }],
    [/requests.cpu 1 is below --capacity 4 x 0.65 cores/, (o) => { engine(o).containers[0].resources.requests.cpu = '1'; }],
    [/requests.memory 256Mi is below --capacity 4 x 100Mi/, (o) => { engine(o).containers[0].resources.requests.memory = '256Mi'; }],
    [/image .*voxgate-engine-pocketspinx:0.1.0 is not an image of scripts\/build-images.sh/, (o) => { engine(o).containers[0].image = engine(o).containers[0].image.replace('pocketsphinx', 'pocketspinx'); }],
    [/command \/usr\/bin\/voxgate-engine-espeak is not a binary of image voxgate-engine-pocketsphinx/, (o) => { engine(o).containers[0].command = ['/usr/bin/voxgate-engine-espeak']; }],
    [/claimRef voxgate-old\/voxgate-models is not a rendered PersistentVolumeClaim/, (o) => { find(o, 'PersistentVolume', 'voxgate-models').spec.claimRef.namespace = 'voxgate-old'; }],
    [/claim voxgate-models binds volumeName other, not this volume/, (o) => { find(o, 'PersistentVolumeClaim', 'voxgate-models').spec.volumeName = 'other'; }],
    [/PodMonitoring.*scrapes port metrics, which voxgate-endpoint does not declare/, (o) => { find(o, 'PodMonitoring', 'voxgate').spec.endpoints[0].port = 'metrics'; }],
    [/voxgate-alert-relay: no PodMonitoring scrapes its pods/, (o) => { find(o, 'PodMonitoring', 'voxgate').spec.selector.matchLabels['app.kubernetes.io/part-of'] = 'voxgate'; find(o, 'Deployment', 'voxgate-alert-relay').spec.template.metadata.labels['app.kubernetes.io/part-of'] = 'x'; }],
    [/Service\/voxgate\/voxgate-pocketsphinx-with-a-name-far-too-long-for-a-dns-label-of-63-chars: name is not a DNS label/, (o) => { find(o, 'Service', 'voxgate-pocketsphinx').metadata.name = 'voxgate-pocketsphinx-with-a-name-far-too-long-for-a-dns-label-of-63-chars'; }],
    [/not headless/, (o) => { delete find(o, 'Service', 'voxgate-espeak').spec.clusterIP; }],
    [/scaleTargetRef .* is not rendered/, (o) => { find(o, 'HorizontalPodAutoscaler', 'voxgate-espeak').spec.scaleTargetRef.name = 'voxgate-espeek'; }],
    [/not made by prometheus-adapter/, (o) => { find(o, 'HorizontalPodAutoscaler', 'voxgate-endpoint').spec.metrics[0].pods.metric.name = 'voxgate_requests'; }],
    [/unhealthyPodEvictionPolicy/, (o) => { find(o, 'PodDisruptionBudget', 'voxgate-router').spec.unhealthyPodEvictionPolicy = 'IfHealthyBudget'; }],
    [/PodDisruptionBudget.*selects no pods/, (o) => { find(o, 'PodDisruptionBudget', 'voxgate-router').spec.selector.matchLabels['app.kubernetes.io/component'] = 'x'; }],
    [/a Secret with data/, (o) => { o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k', namespace: 'voxgate' }, data: { k: 'eA==' } }); }],
    [/voxgate-router: container router config: drain_grace: unknown key/, (o) => { const cm = find(o, 'ConfigMap', 'voxgate-router-config'); cm.data['router.yaml'] += 'drain_grace: 60\n'; }],
    [/names ConfigMap .* not rendered/, (o) => { find(o, 'ConfigMap', 'voxgate-pool-config').metadata.name = 'voxgate-pool-config-old'; }],
    [/no ScheduleAnyway topology spread over topology.kubernetes.io\/zone/, (o) => { engine(o).topologySpreadConstraints.shift(); }],
    // Network policies: a missing default deny, the admin port opened to all, a tier's policy
    // removed or widened to other namespaces, an engine opened to the router, the relay closed
    // to Alertmanager, DNS or HTTPS egress wrong, a policy that selects nothing.
    [/Namespace\/voxgate: no default-deny NetworkPolicy/, (o) => { o.splice(o.indexOf(find(o, 'NetworkPolicy', 'voxgate-default-deny')), 1); }],
    [/voxgate-pool: port 9090 \(admin\) is reachable from a client at 203.0.113.7 \(expected only a pod in namespace gmp-system\)/, (o) => { delete find(o, 'NetworkPolicy', 'voxgate-admin').spec.ingress[0].from; }],
    [/voxgate-router: port 9090 \(admin\) is reachable from a pod in namespace kube-system/, (o) => { find(o, 'NetworkPolicy', 'voxgate-admin').spec.ingress[0].from[0].namespaceSelector = {}; }],
    [/voxgate-pool: port 7002 \(grpc\) is not reachable from voxgate-router \(expected only the tier dialling it \(voxgate-router\)\)/, (o) => { o.splice(o.indexOf(find(o, 'NetworkPolicy', 'voxgate-pool')), 1); }],
    [/voxgate-router: port 7001 \(grpc\) is reachable from voxgate-endpoint in namespace voxgate-elsewhere/, (o) => { find(o, 'NetworkPolicy', 'voxgate-router').spec.ingress[0].from[0].namespaceSelector = {}; }],
    [/voxgate-pocketsphinx: port 7003 \(grpc\) is reachable from voxgate-router \(expected only the tier dialling it \(voxgate-pool\)\)/, (o) => {
      find(o, 'NetworkPolicy', 'voxgate-engines').spec.ingress[0].from[0].podSelector.matchLabels['app.kubernetes.io/component'] = 'router';
      find(o, 'NetworkPolicy', 'voxgate-router').spec.egress.push({ ports: [{ port: 'grpc', protocol: 'TCP' }] });
    }],
    [/voxgate-endpoint: port 8080 \(http\) is not reachable from a client at 10.128.0.5/, (o) => { find(o, 'NetworkPolicy', 'voxgate-endpoint').spec.ingress[0].from = [{ podSelector: {} }]; }],
    [/voxgate-alert-relay: port 9095 \(http\) is not reachable from an Alertmanager/, (o) => { find(o, 'NetworkPolicy', 'voxgate-alert-relay').spec.ingress[0].from.pop(); }],
    [/voxgate-espeak: cannot reach DNS \(kube-dns UDP 53\)/, (o) => { o.splice(o.indexOf(find(o, 'NetworkPolicy', 'voxgate-dns')), 1); }],
    [/voxgate-pool: reaches 198.51.100.10:443/, (o) => { find(o, 'NetworkPolicy', 'voxgate-pool').spec.egress.push({ ports: [{ port: 443 }] }); }],
    [/voxgate-alert-relay: cannot reach 198.51.100.10:443/, (o) => { find(o, 'NetworkPolicy', 'voxgate-alert-relay').spec.egress[0].ports[0].port = 8443; }],
    [/voxgate-endpoint: reaches voxgate-router in namespace voxgate-elsewhere port 7001/, (o) => { find(o, 'NetworkPolicy', 'voxgate-endpoint').spec.egress[0].to[0].namespaceSelector = {}; }],
    [/NetworkPolicy\/voxgate\/voxgate-engines: selects no pods/, (o) => { find(o, 'NetworkPolicy', 'voxgate-engines').spec.podSelector.matchExpressions[0].values = ['pocketsphynx']; }],
    [/voxgate-espeak: port 7005 \(grpc\) is not reachable from voxgate-pool/, (o) => { find(o, 'NetworkPolicy', 'voxgate-engines').spec.podSelector.matchExpressions[0].values.pop(); }],
  ];
  assert.deepEqual(checkInvariants(fresh()), []);
  for (const [expected, mutate] of mutations) {
    const objects = fresh();
    mutate(objects);
    const problems = checkInvariants(objects);
    assert.ok(problems.some((p) => expected.test(p)), `${expected}: got ${JSON.stringify(problems)}`);
  }
  // The schema check catches a wrong type; the PodMonitoring check an unknown field, a bad
  // duration and a timeout longer than the interval.
  const deployment = structuredClone(find(fresh(), 'Deployment', 'voxgate-endpoint'));
  deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  const Deployment = await modelClass('apps/v1', 'Deployment');
  assert.throws(() => new Deployment(deployment).validate(), /containerPort/);
  const NetworkPolicy = await modelClass('networking.k8s.io/v1', 'NetworkPolicy');
  const policy = structuredClone(find(fresh(), 'NetworkPolicy', 'voxgate-pool'));
  assert.doesNotThrow(() => new NetworkPolicy(policy).validate());
  policy.spec.ingress[0].from[0].podSelector.matchLabels = ['voxgate'];
  assert.throws(() => new NetworkPolicy(policy).validate(), /matchLabels/);
  const podMonitoring = () => structuredClone(find(fresh(), 'PodMonitoring', 'voxgate'));
  assert.deepEqual(validatePodMonitoring(podMonitoring()), []);
  for (const [expected, mutate] of [
    [/spec.endpoints\[0\].intervall: unknown/, (m) => { m.spec.endpoints[0].intervall = '15s'; }],
    [/spec.endpoints\[0\].interval: not a duration/, (m) => { m.spec.endpoints[0].interval = 15; }],
    [/timeout: longer than interval/, (m) => { m.spec.endpoints[0].timeout = '30s'; }],
    [/spec.targetLabels.metadata/, (m) => { m.spec.targetLabels.metadata = ['namespace']; }],
    [/spec.selector: missing/, (m) => { delete m.spec.selector; }],
  ]) {
    const m = podMonitoring();
    mutate(m);
    assert.ok(validatePodMonitoring(m).some((e) => expected.test(e)), `${expected}: got ${JSON.stringify(validatePodMonitoring(m))}`);
  }
});

// The address each pool of a Deployment's config dials, as its container's env makes it.
function dialled(objects, deploymentName) {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deploymentName);
  assert.ok(d, `no Deployment ${deploymentName}`);
  return containerConfig(objects, d, d.spec.template.spec.containers[0]).pools.map((p) => p.engines[0].dns);
}

test('the configs take Service addresses from the environment, and renamed overlays follow the Services', () => {
  // Every address in the tiers' configs is a variable the Deployment sets (a whole field, which
  // the service-addresses transformer replaces); nothing else is.
  for (const file of readdirSync(path.join(K8S, 'base/config'))) {
    const config = YAML.parse(readFileSync(path.join(K8S, 'base/config', file), 'utf8'));
    for (const p of config.pools ?? []) {
      for (const e of p.engines ?? []) assert.match(e.dns ?? e.address, /^\$\{VOXGATE_[A-Z]+_ADDRESS\}$/, `${file}: pool ${p.name}`);
    }
  }
  const preview = rendered['overlays/preview'].objects;
  const pool = preview.find((o) => o.kind === 'Deployment' && o.metadata.name.startsWith('voxgate-pool'));
  assert.match(pool.metadata.name, /-preview$/);
  assert.equal(pool.metadata.namespace, 'voxgate-preview');
  assert.deepEqual(dialled(preview, pool.metadata.name), ['voxgate-pocketsphinx-preview:7003', 'voxgate-apertium-preview:7004', 'voxgate-espeak-preview:7005']);
  // The configs themselves are untouched.
  const source = readFileSync(path.join(K8S, 'base/config/pool.yaml'), 'utf8');
  const cm = preview.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('voxgate-pool-config'));
  assert.equal(cm.data['pool.yaml'], source);
});

test('a kustomization that wraps an overlay and renames again keeps the addresses, the ports and the claimRef with the transformers', () => {
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
    assert.deepEqual(dialled(objects, 'b-voxgate-endpoint-preview'), Array(3).fill('b-voxgate-router-preview:7001'));
    // Without the transformer the configs would point at names that no longer exist.
    writeFileSync(path.join(outer, 'kustomization.yaml'), YAML.stringify({ resources: [rel('overlays/preview')], namePrefix: 'b-' }));
    assert.ok(checkInvariants(parseAll(kustomize(outer, ['--load-restrictor=LoadRestrictionsNone']))).some((p) => /no such Service/.test(p)));

    // prod wrapped in another namespace and prefix: the models volume's claimRef follows the
    // claim with the models-claim transformer (and does not without it: the claim would stay
    // Pending).
    const wrapProd = (transformers, extra = {}) => {
      writeFileSync(path.join(outer, 'kustomization.yaml'), YAML.stringify({
        resources: [rel('overlays/prod')], namePrefix: 'b-', namespace: 'voxgate-other', transformers: transformers.map((t) => rel(`transformers/${t}`)), ...extra,
      }));
      return parseAll(kustomize(outer, ['--load-restrictor=LoadRestrictionsNone']));
    };
    const prod = wrapProd(['service-addresses', 'models-claim']);
    assert.deepEqual(checkInvariants(prod), []);
    const pv = prod.find((o) => o.kind === 'PersistentVolume');
    const pvc = prod.find((o) => o.kind === 'PersistentVolumeClaim' && o.spec.volumeName === pv.metadata.name);
    assert.deepEqual(pv.spec.claimRef, { name: pvc.metadata.name, namespace: pvc.metadata.namespace });
    assert.deepEqual(pv.spec.claimRef, { name: 'b-voxgate-models', namespace: 'voxgate-other' });
    assert.ok(checkInvariants(wrapProd(['service-addresses'])).some((p) => /claimRef voxgate\/voxgate-models is not a rendered PersistentVolumeClaim/.test(p)));

    // The configs take their ports from the pods (the headless Services give pod IPs): moving
    // the pool's container port moves the routers' addresses with it; a Service port that
    // differs from its pods' port is caught.
    const patchPool = (ops) => ({ patches: [{ target: { kind: 'Deployment', name: 'voxgate-pool' }, patch: YAML.stringify(ops) }] });
    const moved = wrapProd(['service-addresses', 'models-claim'], {
      patches: [
        ...patchPool([
          { op: 'replace', path: '/spec/template/spec/containers/0/args/2', value: '--listen=0.0.0.0:7012' },
          { op: 'replace', path: '/spec/template/spec/containers/0/ports/0/containerPort', value: 7012 },
        ]).patches,
        { target: { kind: 'Service', name: 'voxgate-pool' }, patch: YAML.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 7012 }]) },
      ],
    });
    assert.deepEqual(checkInvariants(moved), []);
    assert.deepEqual(dialled(moved, 'b-voxgate-router'), Array(3).fill('b-voxgate-pool:7012'));
    const servicePortOnly = wrapProd(['service-addresses', 'models-claim'], {
      patches: [{ target: { kind: 'Service', name: 'voxgate-pool' }, patch: YAML.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 7012 }]) }],
    });
    assert.deepEqual(dialled(servicePortOnly, 'b-voxgate-router'), Array(3).fill('b-voxgate-pool:7002'));
    assert.ok(checkInvariants(servicePortOnly).some((p) => /headless Service port 7012 is not its pods' grpc containerPort 7002/.test(p)));
    const containerPortOnly = wrapProd(['service-addresses', 'models-claim'], patchPool([{ op: 'replace', path: '/spec/template/spec/containers/0/ports/0/containerPort', value: 7012 }]));
    assert.ok(checkInvariants(containerPortOnly).some((p) => /--listen port 7002 is not its grpc\/http containerPort 7012/.test(p)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('network policies select by labels (renames keep them), and the monitoring namespace is an overlay patch', () => {
  const adminNamespace = (objects) => objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name.startsWith('voxgate-admin'))
    .spec.ingress[0].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'];
  assert.equal(adminNamespace(rendered['overlays/prod'].objects), 'gmp-system');
  for (const o of ['base', 'overlays/dev', 'overlays/preview']) assert.equal(adminNamespace(rendered[o].objects), 'monitoring', o);
  // The preview's policies are renamed and moved with everything else, and select only by
  // labels (which neither nameSuffix nor namespace touch).
  const preview = rendered['overlays/preview'].objects.filter((o) => o.kind === 'NetworkPolicy');
  assert.deepEqual(preview.map((o) => o.metadata.name).sort(), ['voxgate-admin', 'voxgate-default-deny', 'voxgate-dns', 'voxgate-endpoint', 'voxgate-engines', 'voxgate-pool', 'voxgate-router'].map((n) => `${n}-preview`));
  for (const np of preview) {
    assert.equal(np.metadata.namespace, 'voxgate-preview');
    const selectors = JSON.stringify([np.spec.podSelector, ...(np.spec.ingress ?? []).flatMap((r) => r.from ?? []), ...(np.spec.egress ?? []).flatMap((r) => r.to ?? [])]);
    assert.doesNotMatch(selectors, /preview/, np.metadata.name);
  }
  // The checker holds prod to its namespace: the admin port open to another one is caught.
  assert.ok(checkInvariants(rendered['overlays/prod'].objects, { monitoringNamespace: 'monitoring' })
    .some((p) => /voxgate-endpoint: port 9090 \(admin\) is not reachable from a pod in namespace monitoring/.test(p)));
  // The documented patch (docs/DEPLOY-GKE.md, "Network policies") moves it.
  const dir = tempDir('voxgate-k8s-np-');
  try {
    writeFileSync(path.join(dir, 'kustomization.yaml'), YAML.stringify({
      resources: [path.relative(dir, path.join(K8S, 'overlays/dev'))],
      patches: [{ target: { kind: 'NetworkPolicy', name: 'voxgate-admin' }, patch: YAML.stringify([
        { op: 'replace', path: '/spec/ingress/0/from/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name', value: 'observability' }]) }],
    }));
    const objects = parseAll(kustomize(dir, ['--load-restrictor=LoadRestrictionsNone']));
    assert.equal(adminNamespace(objects), 'observability');
    assert.deepEqual(checkInvariants(objects, { monitoringNamespace: 'observability' }), []);
    assert.ok(checkInvariants(objects).length > 0, 'the default (monitoring) no longer reaches the admin port');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overlays/preview/branch.sh renders a branch\'s environment with safe names, editing nothing tracked', () => {
  const script = path.join(K8S, 'overlays/preview/branch.sh');
  const tracked = readFileSync(path.join(K8S, 'overlays/preview/kustomization.yaml'), 'utf8');
  const dir = tempDir('voxgate-k8s-preview-');
  try {
    const render = (branch, tag = 'abc1234') => {
      const out = execFileSync(script, [branch, tag, dir], { encoding: 'utf8' }).trim();
      assert.ok(out.startsWith(dir), out);
      return parseAll(kustomize(out));
    };
    const namespaceOf = (objects) => objects.find((o) => o.kind === 'Namespace').metadata.name;
    const long1 = render('Feature/ÜBER_long--Branch.Name!!with-a-very-long-tail-that-goes-on');
    const long2 = render('Feature/ÜBER_long--Branch.Name!!with-a-very-long-tail-that-goes-elsewhere');
    const short = render('main');
    for (const objects of [long1, long2, short]) {
      assert.deepEqual(checkInvariants(objects), []);
      const namespace = namespaceOf(objects);
      assert.match(namespace, /^voxgate-pr-[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      assert.ok(namespace.length <= 63, namespace);
      for (const o of objects) {
        if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, namespace, key(o));
        if (['Service', 'Deployment', 'Namespace'].includes(o.kind)) assert.match(o.metadata.name, /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, key(o));
      }
      for (const d of objects.filter((o) => o.kind === 'Deployment')) assert.match(d.spec.template.spec.containers[0].image, /\/voxgate-[a-z-]+:abc1234$/);
    }
    assert.equal(namespaceOf(short), 'voxgate-pr-main');
    assert.ok(short.some((o) => o.kind === 'Service' && o.metadata.name === 'voxgate-pocketsphinx-preview-main'));
    assert.notEqual(namespaceOf(long1), namespaceOf(long2), 'two long branch names with one prefix share a namespace');
    assert.throws(() => execFileSync(script, ['main', 'bad tag!', dir], { stdio: 'pipe' }), /not an image tag/);
    assert.equal(readFileSync(path.join(K8S, 'overlays/preview/kustomization.yaml'), 'utf8'), tracked);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prod: internal load balancer left on readiness, PodMonitoring for the HPAs, models on Filestore, alert relay secrets by reference', () => {
  const objects = rendered['overlays/prod'].objects;
  const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'voxgate-endpoint');
  assert.equal(svc.spec.type, 'LoadBalancer');
  assert.equal(svc.spec.externalTrafficPolicy, 'Local');
  assert.deepEqual(svc.metadata.annotations, { 'networking.gke.io/load-balancer-type': 'Internal' });
  // No BackendConfig (GKE reads one only for an Ingress): readiness takes a pod out of the L4
  // load balancer, whose node health check (every 8 s, 3 failures) the preStop outlasts.
  assert.ok(!objects.some((o) => o.kind === 'BackendConfig' || o.kind === 'Ingress'));
  const endpoint = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'voxgate-endpoint');
  const ec = endpoint.spec.template.spec.containers[0];
  assert.equal(ec.readinessProbe.httpGet.path, '/readyz');
  assert.ok(ec.lifecycle.preStop.sleep.seconds >= 3 * 8 + 5, `endpoint preStop ${ec.lifecycle.preStop.sleep.seconds} s`);
  // Managed Prometheus scrapes every voxgate pod's admin /metrics, with the pod label the
  // adapter needs; every Deployment an HPA scales on a Pods metric is among them.
  const monitoring = objects.filter((o) => o.kind === 'PodMonitoring');
  assert.equal(monitoring.length, 1);
  assert.deepEqual(monitoring[0].spec.endpoints.map((e) => [e.port, e.path]), [['admin', '/metrics']]);
  assert.ok(monitoring[0].spec.targetLabels.metadata.includes('pod'));
  const scraped = objects.filter((o) => o.kind === 'Deployment' && matches(monitoring[0].spec.selector.matchLabels, o.spec.template.metadata.labels)).map((o) => o.metadata.name);
  assert.deepEqual(scraped.sort(), objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).sort());
  // The HPAs own the counts of the Deployments they scale; the others have theirs.
  const scaled = new Set(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name));
  assert.deepEqual([...scaled].sort(), ['voxgate-apertium', 'voxgate-endpoint', 'voxgate-espeak', 'voxgate-pocketsphinx']);
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    assert.equal(d.spec.replicas, scaled.has(d.metadata.name) ? undefined : { 'voxgate-alert-relay': 1 }[d.metadata.name] ?? 3, d.metadata.name);
  }
  const pv = objects.find((o) => o.kind === 'PersistentVolume');
  assert.equal(pv.spec.csi.driver, 'filestore.csi.storage.gke.io');
  assert.match(pv.spec.csi.volumeHandle, /^modeInstance\/[a-z0-9-]+\/[a-z0-9-]+\/[a-z0-9_]+$/);
  assert.match(pv.spec.csi.volumeAttributes.ip, /^\d+\.\d+\.\d+\.\d+$/);
  assert.deepEqual(pv.spec.accessModes, ['ReadOnlyMany']);
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
  assert.deepEqual(pv.spec.claimRef, { name: 'voxgate-models', namespace: 'voxgate' });
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
      // As the ConfigMap holds it: voxgate itself replaces the ${NAME}s from the container's env.
      const cfg = YAML.parse(containerConfigText(objects, d, c));
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
            const env = containerEnv(c);
            line = await p.spawn(argv, engine ? 'engine serving' : relay ? 'alert relay listening' : 'voxgate listening', 120000, env);
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
