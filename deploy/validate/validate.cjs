#!/usr/bin/env node
// Offline validation of rendered Kubernetes manifests (`kubectl kustomize` output).
//
//   node validate.cjs [--policy] FILE...     FILE "-" reads stdin
//   node validate.cjs --self-test            must reject testdata/invalid.yaml as expected
//
// Three checks per object, none of which needs a cluster or the network:
//  1. schema: the object against the Kubernetes API schema (types, required fields,
//     enums, formats) bundled in the npm package kubernetes-models, through its
//     precompiled ajv validators;
//  2. strict: no field the API does not know. kubernetes-models' schemas allow extra
//     fields, so a typo (`readinesProbe`) would pass them, and the API server would
//     reject it at apply time (kubectl's default strict field validation). The known
//     fields come from the same package's type declarations (.d.ts);
//  3. policy (--policy): the suite's own rules for its workloads, the objects
//     labelled app.kubernetes.io/part-of=crm (see POLICY below and docs/operations.md).
// Custom resources (Strimzi's kafka.strimzi.io, cert-manager's cert-manager.io) have
// no schema in kubernetes-models: the kinds the suite uses get checks of the fields
// it relies on and of their references within the render (CUSTOM_CHECKS below); the
// other kinds of those groups are listed as skipped. Any other unknown kind is an
// error. Exit code 1 on any error.
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const CUSTOM_GROUPS = new Set(["kafka.strimzi.io", "cert-manager.io"]);

// ------------------------------------------------------------------ custom resources

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const unknownKeys = (obj, known, where) =>
  isObj(obj) ? Object.keys(obj).filter((k) => !known.includes(k)).map((k) => `${where}/${k}: unknown field`) : [];
const nsOf = (o) => (o.metadata && o.metadata.namespace) || "";
const named = (all, kind, name, ns) =>
  all.some((x) => x.kind === kind && x.metadata && x.metadata.name === name && nsOf(x) === ns);

const CERT_SPEC = ["secretName", "issuerRef", "dnsNames", "ipAddresses", "uris", "emailAddresses", "commonName",
  "subject", "literalSubject", "duration", "renewBefore", "renewBeforePercentage", "isCA", "privateKey", "usages",
  "secretTemplate", "keystores", "revisionHistoryLimit", "additionalOutputFormats", "encodeUsagesInRequest",
  "nameConstraints", "otherNames"];
const ISSUER_TYPES = ["selfSigned", "ca", "acme", "vault", "venafi"];
const KAFKA_ACL_OPS = ["Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs",
  "DescribeConfigs", "IdempotentWrite", "All"];
const DURATION = /^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$/;

// The Strimzi cluster a resource names through its strimzi.io/cluster label.
function clusterErrors(o, all) {
  const cluster = o.metadata && o.metadata.labels && o.metadata.labels["strimzi.io/cluster"];
  if (!cluster) return ["label strimzi.io/cluster missing"];
  return named(all, "Kafka", cluster, nsOf(o)) ? [] : [`label strimzi.io/cluster: no Kafka ${cluster} in this render`];
}

const CUSTOM_CHECKS = {
  "cert-manager.io/v1": {
    Issuer: (o) => {
      const types = Object.keys(o.spec || {}).filter((k) => ISSUER_TYPES.includes(k));
      const e = unknownKeys(o.spec, ISSUER_TYPES, "/spec");
      if (types.length !== 1) e.push(`/spec: exactly one of ${ISSUER_TYPES.join(", ")}`);
      if (o.spec && o.spec.ca && typeof o.spec.ca.secretName !== "string") e.push("/spec/ca/secretName: required");
      return e;
    },
    Certificate: (o, all) => {
      const sp = o.spec || {};
      const e = unknownKeys(sp, CERT_SPEC, "/spec");
      if (typeof sp.secretName !== "string" || !sp.secretName) e.push("/spec/secretName: required");
      const ref = sp.issuerRef || {};
      if (!ref.name) e.push("/spec/issuerRef/name: required");
      const kind = ref.kind || "Issuer";
      if (!["Issuer", "ClusterIssuer"].includes(kind)) e.push(`/spec/issuerRef/kind: ${kind} is not Issuer or ClusterIssuer`);
      if (kind === "Issuer" && ref.name && !named(all, "Issuer", ref.name, nsOf(o))) {
        e.push(`/spec/issuerRef: no Issuer ${ref.name} in this render`);
      }
      const names = [...(sp.dnsNames || []), ...(sp.ipAddresses || [])];
      if (!sp.isCA && names.length === 0) e.push("/spec/dnsNames: a server certificate needs its host names");
      for (const k of ["duration", "renewBefore"]) {
        if (sp[k] !== undefined && !DURATION.test(String(sp[k]))) e.push(`/spec/${k}: not a Go duration`);
      }
      return e;
    },
  },
  "kafka.strimzi.io/v1beta2": {
    Kafka: (o) => {
      const e = [];
      const listeners = (o.spec && o.spec.kafka && o.spec.kafka.listeners) || [];
      if (listeners.length === 0) e.push("/spec/kafka/listeners: required");
      listeners.forEach((l, i) => {
        e.push(...unknownKeys(l, ["name", "port", "type", "tls", "authentication", "configuration", "networkPolicyPeers"],
          `/spec/kafka/listeners/${i}`));
        if (!Number.isInteger(l.port) || typeof l.tls !== "boolean" || !l.name || !l.type) {
          e.push(`/spec/kafka/listeners/${i}: name, port, type and tls required`);
        }
      });
      return e;
    },
    KafkaNodePool: (o, all) => clusterErrors(o, all),
    KafkaTopic: (o, all) => clusterErrors(o, all),
    KafkaUser: (o, all) => {
      const e = clusterErrors(o, all);
      const sp = o.spec || {};
      const auth = (sp.authentication || {}).type;
      if (!["scram-sha-512", "tls", "tls-external"].includes(auth)) {
        e.push(`/spec/authentication/type: ${auth} is not scram-sha-512, tls or tls-external`);
      }
      const cluster = all.find((x) => x.kind === "Kafka" && x.metadata.name === (o.metadata.labels || {})["strimzi.io/cluster"]);
      const listeners = (cluster && cluster.spec && cluster.spec.kafka && cluster.spec.kafka.listeners) || [];
      if (cluster && !listeners.some((l) => l.authentication && l.authentication.type === auth)) {
        e.push(`/spec/authentication: no listener of Kafka ${cluster.metadata.name} authenticates by ${auth}`);
      }
      if (sp.authorization) {
        if (cluster && !(cluster.spec.kafka.authorization)) {
          e.push(`/spec/authorization: Kafka ${cluster.metadata.name} has no authorization, the ACLs would not apply`);
        }
        (sp.authorization.acls || []).forEach((a, i) => {
          const r = a.resource || {};
          if (!["topic", "group", "cluster", "transactionalId"].includes(r.type)) e.push(`/spec/authorization/acls/${i}/resource/type: ${r.type}`);
          if (r.type !== "cluster" && !r.name) e.push(`/spec/authorization/acls/${i}/resource/name: required`);
          const ops = a.operations || [];
          if (ops.length === 0 || ops.some((op) => !KAFKA_ACL_OPS.includes(op))) {
            e.push(`/spec/authorization/acls/${i}/operations: ${JSON.stringify(ops)} (one or more of ${KAFKA_ACL_OPS.join(", ")})`);
          }
          if (r.type === "topic" && r.patternType !== "prefix" &&
              !all.some((x) => x.kind === "KafkaTopic" && x.metadata.name === r.name) &&
              all.some((x) => x.kind === "KafkaTopic")) {
            e.push(`/spec/authorization/acls/${i}: no KafkaTopic ${r.name} in this render`);
          }
        });
      }
      return e;
    },
  },
};

function customErrors(o, all) {
  const byKind = CUSTOM_CHECKS[o.apiVersion];
  if (!byKind || !byKind[o.kind]) return null;  // a kind the suite does not use: skipped
  return [...unknownKeys(o, ["apiVersion", "kind", "metadata", "spec"], ""), ...byKind[o.kind](o, all)];
}

// ------------------------------------------------------------------ schema

function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  let mod;
  try {
    mod = require(`kubernetes-models/${apiVersion}`);
  } catch (e) {
    return null;
  }
  return typeof mod[kind] === "function" ? mod[kind] : null;
}

function schemaErrors(Model, obj) {
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    return e.errors.map((err) => {
      const where = err.instancePath || "/";
      const extra = err.params && err.params.allowedValues ? ` ${JSON.stringify(err.params.allowedValues)}` : "";
      return `${where}: ${err.message}${extra}`;
    });
  }
}

// Current kustomize folds long base64 values of a Secret's data over several lines;
// the API server's base64 decoder skips the line breaks, the "byte" format does not.
function forSchema(o) {
  if (o.kind !== "Secret" || !o.data || typeof o.data !== "object") return o;
  const data = {};
  for (const [k, v] of Object.entries(o.data)) data[k] = typeof v === "string" ? v.replace(/[\r\n]/g, "") : v;
  return { ...o, data };
}

// ------------------------------------------------------------------ strict

const modelsRoot = path.dirname(require.resolve("kubernetes-models/apps/v1")).replace(/[/\\]apps[/\\]v1$/, "");
const nodeModules = path.dirname(modelsRoot);
const declCache = new Map();

// Parses one generated .d.ts of kubernetes-models: its imports, its interfaces
// (property name -> type text) and its exported aliases.
function readDecl(file) {
  if (declCache.has(file)) return declCache.get(file);
  const text = fs.readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of text.matchAll(/import \{([^}]*)\} from "([^"]+)";/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      const [orig, local] = name.split(/\s+as\s+/);
      imports.set((local || orig).trim(), { name: orig.trim(), from: m[2] });
    }
  }
  const interfaces = new Map();
  for (const m of text.matchAll(/export interface (\w+)(?: extends [^{]+)? \{\n([\s\S]*?)\n\}/g)) {
    // A property starts at 4 spaces (`    "name"?: Type;`); an inline map type spans
    // lines until its braces close.
    const props = new Map();
    let current = null;
    for (const line of m[2].split("\n")) {
      const start = /^ {4}"([^"]+)"\??: (.*)$/.exec(line);
      if (start && !current) current = { name: start[1], type: start[2] };
      else if (current) current.type += ` ${line.trim()}`;
      else continue;
      const depth = (current.type.match(/\{/g) || []).length - (current.type.match(/\}/g) || []).length;
      if (depth === 0 && current.type.endsWith(";")) {
        props.set(current.name, current.type.slice(0, -1).replace(/\s+/g, " ").trim());
        current = null;
      }
    }
    interfaces.set(m[1], props);
  }
  const aliases = new Map();
  for (const m of text.matchAll(/export \{([^}]*)\};/g)) {
    for (const part of m[1].split(",")) {
      const [local, exported] = part.trim().split(/\s+as\s+/);
      if (exported) aliases.set(exported.trim(), local.trim());
    }
  }
  const decl = { file, imports, interfaces, aliases };
  declCache.set(file, decl);
  return decl;
}

function resolveImport(fromFile, spec) {
  const base = spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec) : path.join(nodeModules, spec);
  return `${base}.d.ts`;
}

// The properties of an inline object type: `"a"?: string; "b"?: Array<{ ... }>;`.
function inlineProps(body) {
  const props = new Map();
  let depth = 0;
  let part = "";
  for (const ch of body) {
    if (ch === "{" || ch === "<") depth++;
    if (ch === "}" || ch === ">") depth--;
    if (ch === ";" && depth === 0) {
      const m = /^"([^"]+)"\??: (.*)$/.exec(part.trim());
      if (m) props.set(m[1], m[2].trim());
      part = "";
    } else part += ch;
  }
  return props;
}

// A type: {kind: "object", props, decl} | {kind: "array", of} | {kind: "map", of} | {kind: "leaf"}.
function resolveType(decl, text) {
  let m;
  if ((m = /^Array<(.*)>$/.exec(text))) return { kind: "array", of: resolveType(decl, m[1]) };
  if ((m = /^\{ \[key: string\]: (.*); \}$/.exec(text))) return { kind: "map", of: resolveType(decl, m[1]) };
  if ((m = /^\{ (.*) \}$/.exec(text))) return { kind: "object", props: inlineProps(m[1]), decl };
  if (!/^\w+$/.test(text)) return { kind: "leaf" }; // unions, literals, indexed types
  if (decl.interfaces.has(text)) return { kind: "object", props: decl.interfaces.get(text), decl };
  const imp = decl.imports.get(text);
  if (!imp) return { kind: "leaf" }; // string, number, boolean, any, ...
  const target = readDecl(resolveImport(decl.file, imp.from));
  const local = target.aliases.get(imp.name) || imp.name;
  if (target.interfaces.has(local)) return { kind: "object", props: target.interfaces.get(local), decl: target };
  return { kind: "leaf" }; // type aliases: Quantity, IntOrString, Time, ...
}

function strictErrors(apiVersion, kind, obj) {
  const file = path.join(modelsRoot, apiVersion, `${kind}.d.ts`);
  if (!fs.existsSync(file)) return [`no type declarations for ${apiVersion} ${kind}`];
  const decl = readDecl(file);
  const type = resolveType(decl, `I${kind}`);
  if (type.kind !== "object") return [`cannot read the fields of ${apiVersion} ${kind}`];
  const errors = [];
  const walk = (value, t, where) => {
    if (value === null || value === undefined) return;
    if (t.kind === "array" && Array.isArray(value)) value.forEach((v, i) => walk(v, t.of, `${where}/${i}`));
    else if (t.kind === "map" && typeof value === "object") Object.entries(value).forEach(([k, v]) => walk(v, t.of, `${where}/${k}`));
    else if (t.kind === "object" && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (!t.props.has(k)) errors.push(`${where}/${k}: unknown field`);
        else walk(v, resolveType(t.decl, t.props.get(k)), `${where}/${k}`);
      }
    }
  };
  walk(obj, type, "");
  return errors;
}

// ------------------------------------------------------------------ policy

const WORKLOAD_KINDS = new Set(["StatefulSet", "Deployment"]);
const isSuite = (o) => o.metadata && o.metadata.labels && o.metadata.labels["app.kubernetes.io/part-of"] === "crm";
const selects = (matchLabels, labels) =>
  !!matchLabels && Object.keys(matchLabels).length > 0 &&
  Object.entries(matchLabels).every(([k, v]) => labels && labels[k] === v);

// The suite's rules for each of its workloads; `all` is every object of the render.
function policyErrors(o, all) {
  if (!WORKLOAD_KINDS.has(o.kind) || !isSuite(o)) return [];
  const errors = [];
  const need = (cond, msg) => { if (!cond) errors.push(msg); };
  const spec = o.spec || {};
  const tpl = spec.template || {};
  const pod = tpl.spec || {};
  const podLabels = (tpl.metadata && tpl.metadata.labels) || {};
  const ann = (tpl.metadata && tpl.metadata.annotations) || {};
  const psc = pod.securityContext || {};

  if (o.kind === "StatefulSet") {
    need((spec.volumeClaimTemplates || []).length > 0, "StatefulSet without volumeClaimTemplates (RocksDB needs a volume)");
    need(spec.replicas === 1, "replicas must be 1: each pod is its own RocksDB until sharding exists (docs/operations.md, Scaling)");
    need(all.some((s) => s.kind === "Service" && s.metadata.name === spec.serviceName && s.spec && s.spec.clusterIP === "None"),
      `no headless Service named ${spec.serviceName}`);
  }
  need(psc.runAsNonRoot === true, "pod securityContext.runAsNonRoot must be true");
  need(psc.seccompProfile && psc.seccompProfile.type === "RuntimeDefault", "pod seccompProfile must be RuntimeDefault");
  need(pod.automountServiceAccountToken === false, "automountServiceAccountToken must be false");
  need((pod.terminationGracePeriodSeconds || 30) >= 45, "terminationGracePeriodSeconds must cover drain (20 s) + outbox flush (10 s) + close");
  need(ann["prometheus.io/scrape"] === "true" && !!ann["prometheus.io/port"], "prometheus.io/scrape and prometheus.io/port annotations missing");
  for (const c of pod.containers || []) {
    const sc = c.securityContext || {};
    const r = c.resources || {};
    const at = `container ${c.name}:`;
    need(sc.allowPrivilegeEscalation === false, `${at} allowPrivilegeEscalation must be false`);
    need(sc.readOnlyRootFilesystem === true, `${at} readOnlyRootFilesystem must be true`);
    need(sc.capabilities && (sc.capabilities.drop || []).includes("ALL"), `${at} capabilities must drop ALL`);
    for (const k of ["requests", "limits"]) {
      need(r[k] && r[k].cpu !== undefined && r[k].memory !== undefined, `${at} resources.${k} needs cpu and memory`);
    }
    // The environment the container sees: env, then the ConfigMaps of envFrom.
    const envValues = {};
    for (const ef of c.envFrom || []) {
      const cm = ef.configMapRef && all.find((x) => x.kind === "ConfigMap" && x.metadata.name === ef.configMapRef.name &&
        x.metadata.namespace === o.metadata.namespace);
      if (cm) Object.assign(envValues, cm.data || {});
    }
    for (const e of c.env || []) if (typeof e.value === "string") envValues[e.name] = e.value;
    // gRPC over TLS (CRM_TLS_CERT_FILE): the kubelet's gRPC probe speaks no TLS, so
    // the probes ask the admin port's /readyz and /healthz (plain HTTP) instead.
    const tls = !!envValues.CRM_TLS_CERT_FILE;
    const probeOk = (p, path) => !!p && (tls ? !p.grpc && p.httpGet && p.httpGet.path === path : !!p.grpc);
    const probeWant = (path) => tls ? `an HTTP GET of ${path} on the admin port (the gRPC port serves TLS)`
      : "a gRPC (grpc.health.v1) probe";
    need(probeOk(c.readinessProbe, "/readyz"), `${at} readinessProbe must be ${probeWant("/readyz")}`);
    need(probeOk(c.livenessProbe, "/healthz"), `${at} livenessProbe must be ${probeWant("/healthz")}`);
    if (c.startupProbe) need(probeOk(c.startupProbe, "/readyz"), `${at} startupProbe must be ${probeWant("/readyz")}`);
    // Every file a CRM_*_FILE variable names lies under a mounted volume.
    const mounts = (c.volumeMounts || []).map((m) => m.mountPath.replace(/\/$/, ""));
    for (const [k, v] of Object.entries(envValues)) {
      if (!/^CRM_.*_FILE$/.test(k) || /^CRM_TEST_/.test(k) || !v) continue;
      need(mounts.some((m) => v.startsWith(`${m}/`)), `${at} ${k}=${v} is on no mounted volume`);
    }
    // Kafka over SASL: the user is a KafkaUser of this render when the render has any.
    const user = envValues.CRM_KAFKA_SASL_USERNAME;
    if (user && all.some((x) => x.kind === "KafkaUser")) {
      need(all.some((x) => x.kind === "KafkaUser" && x.metadata.name === user && x.metadata.namespace === o.metadata.namespace),
        `${at} CRM_KAFKA_SASL_USERNAME=${user}: no KafkaUser ${user}`);
    }
    // Test-only flags (--test_clock_offset_file of crm-interaction, and any later
    // --test_*) must never reach a deployment: not as arguments, not as CRM_TEST_*
    // variables, neither directly nor through a ConfigMap of envFrom.
    const testFlags = [...(c.command || []), ...(c.args || [])].filter((a) => /^--test_/.test(String(a)));
    need(testFlags.length === 0, `${at} test-only flag ${testFlags.join(" ")} (tests only, never deployed)`);
    const vars = (c.env || []).map((e) => e.name);
    for (const ef of c.envFrom || []) {
      const cm = ef.configMapRef && all.find((x) => x.kind === "ConfigMap" && x.metadata.name === ef.configMapRef.name &&
        x.metadata.namespace === o.metadata.namespace);
      if (cm) vars.push(...Object.keys(cm.data || {}));
    }
    const testVars = vars.filter((v) => /^CRM_TEST_/.test(v));
    need(testVars.length === 0, `${at} test-only variable ${testVars.join(" ")} (tests only, never deployed)`);
  }
  const ns = o.metadata.namespace;
  const same = (x) => x.metadata.namespace === ns;
  need(all.some((x) => x.kind === "PodDisruptionBudget" && same(x) && selects(x.spec.selector && x.spec.selector.matchLabels, podLabels)),
    "no PodDisruptionBudget selects its pods");
  need(all.some((x) => x.kind === "NetworkPolicy" && same(x) && selects(x.spec.podSelector && x.spec.podSelector.matchLabels, podLabels)),
    "no NetworkPolicy selects its pods");
  need(all.some((x) => x.kind === "Service" && same(x) && x.spec.clusterIP !== "None" && selects(x.spec.selector, podLabels)),
    "no ClusterIP Service selects its pods");
  return errors;
}

// ------------------------------------------------------------------ main

function validateText(text, source, { policy }) {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  const errors = [];
  const objects = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length) {
      doc.errors.forEach((e) => errors.push(`${source} document ${i + 1}: YAML: ${e.message}`));
      return;
    }
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) objects.push(obj);
  });
  let checked = 0;
  const skipped = [];
  for (const o of objects) {
    const name = `${o.kind || "?"} ${(o.metadata && o.metadata.namespace) ? o.metadata.namespace + "/" : ""}${(o.metadata && o.metadata.name) || "?"}`;
    const group = typeof o.apiVersion === "string" && o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
    if (CUSTOM_GROUPS.has(group)) {
      const found = customErrors(o, objects);
      if (found === null) skipped.push(`${name} (${o.apiVersion})`);
      else {
        found.forEach((e) => errors.push(`${source}: ${name}: ${e}`));
        checked++;
      }
      continue;
    }
    const Model = modelFor(o.apiVersion, o.kind);
    if (!Model) {
      errors.push(`${source}: ${name}: unknown apiVersion/kind ${o.apiVersion} ${o.kind}`);
      continue;
    }
    const found = [...schemaErrors(Model, forSchema(o)), ...strictErrors(o.apiVersion, o.kind, o)];
    if (policy) found.push(...policyErrors(o, objects));
    found.forEach((e) => errors.push(`${source}: ${name}: ${e}`));
    checked++;
  }
  return { errors, checked, skipped };
}

function selfTest() {
  const file = path.join(__dirname, "testdata", "invalid.yaml");
  const text = fs.readFileSync(file, "utf8");
  const expected = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1].trim());
  const { errors } = validateText(text, "invalid.yaml", { policy: true });
  const missing = expected.filter((e) => !errors.some((got) => got.includes(e)));
  if (errors.length === 0 || missing.length > 0) {
    console.error("validate: self-test FAILED");
    missing.forEach((e) => console.error(`  expected an error containing: ${e}`));
    errors.forEach((e) => console.error(`  got: ${e}`));
    return 1;
  }
  console.log(`validate: self-test ok (${expected.length} expected errors reported, ${errors.length} in all)`);
  return 0;
}

function main(argv) {
  if (argv.includes("--self-test")) return selfTest();
  const policy = argv.includes("--policy");
  const files = argv.filter((a) => a !== "--policy");
  if (files.length === 0) {
    console.error("usage: validate.cjs [--policy] FILE... | --self-test");
    return 2;
  }
  let failed = 0;
  for (const f of files) {
    const text = fs.readFileSync(f === "-" ? 0 : f, "utf8");
    const { errors, checked, skipped } = validateText(text, f, { policy });
    errors.forEach((e) => console.error(`  ${e}`));
    const note = skipped.length ? `; skipped, custom resources without a schema here: ${skipped.join(", ")}` : "";
    console.log(`validate: ${f}: ${checked} objects${errors.length ? `, ${errors.length} errors` : " valid"}${note}`);
    if (errors.length) failed++;
  }
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
