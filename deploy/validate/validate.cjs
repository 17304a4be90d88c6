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
// Objects of SKIPPED_GROUPS (custom resources: Strimzi) have no schema here; they are
// listed as skipped. Any other unknown kind is an error. Exit code 1 on any error.
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const SKIPPED_GROUPS = new Set(["kafka.strimzi.io"]);

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
    need(c.readinessProbe && c.readinessProbe.grpc, `${at} readinessProbe must be a gRPC (grpc.health.v1) probe`);
    need(c.livenessProbe && c.livenessProbe.grpc, `${at} livenessProbe must be a gRPC (grpc.health.v1) probe`);
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
    if (SKIPPED_GROUPS.has(group)) {
      skipped.push(`${name} (${o.apiVersion})`);
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
