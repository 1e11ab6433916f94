#!/usr/bin/env node
// Every tool of pm-mcp through the TypeScript SDK v1 client (@modelcontextprotocol/sdk), as a plan says.
// Usage: node matrix.mjs PLAN.json
// The plan and the output are matrix.py's (see there): {"url", "key", "vars", "steps": [{tool, label, arguments,
// expect, expect_text, check?, save?}]}; prints {"tools": [...]}, one JSON line per step ({step, tool, label,
// expect, outcome: ok|unsupported|error|rejected|skipped, rpc_code?, text, sdk_rejected, values}), a
// {tool, outcome: "missing"} line for each listed tool no step calls, one line per read of the plan's "reads"
// ({read, prompt, outcome, text, links: [{uri, outcome, mime, text}]}, run before the step reads_before: prompts/get, then resources/read of
// each resource the prompt links; the SDK validates both results), and {"done": true}.
// The SDK's Client validates structuredContent against each tool's outputSchema (it caches the
// validators from tools/list); a result it refuses is reported as "rejected", never passed over. A
// JSON-RPC error the server answered is told apart from the SDK's own refusal by watching the
// transport: only an error response that arrived for the call counts as the server's.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readFileSync } from 'node:fs';

const CALL_TIMEOUT_MS = 60_000;
const MISSING = Symbol('missing');
const [planPath] = process.argv.slice(2);
if (!planPath) {
  console.error('usage: node matrix.mjs PLAN.json');
  process.exit(2);
}
const plan = JSON.parse(readFileSync(planPath, 'utf8'));
const sdk = JSON.parse(readFileSync(new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url))).version;
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

function pointer(value, path) {
  if (path === '') return value;
  for (const raw of path.replace(/^\//, '').split('/')) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, part)) {
      value = value[part];
    } else if (Array.isArray(value) && /^\d+$/.test(part) && Number(part) < value.length) {
      value = value[Number(part)];
    } else {
      return MISSING;
    }
  }
  return value;
}

function substitute(value, saved, unresolved) {
  if (Array.isArray(value)) return value.map((v) => substitute(v, saved, unresolved));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, saved, unresolved)]));
  }
  if (typeof value === 'string' && value.includes('${')) {
    const names = [...value.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]);
    for (const name of names) {
      if (!Object.hasOwn(saved, name)) {
        unresolved.push(name);
        return value;
      }
    }
    if (names.length === 1 && value === `\${${names[0]}}`) return saved[names[0]];
    for (const name of names) value = value.replaceAll(`\${${name}}`, String(saved[name]));
  }
  return value;
}

const resultText = (r) => (r.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join(' ');

const headers = { Authorization: `Bearer ${plan.key}` };
const transport = new StreamableHTTPClientTransport(new URL(plan.url), { requestInit: { headers } });
const client = new Client({ name: 'pm-mcp-matrix-ts', version: '1.0.0' });
const saved = { sdk: 'ts', ...(plan.vars ?? {}) };
// The server's own JSON-RPC error answers, by request id.
const serverErrors = new Map();

async function runReads() {
  for (const [index, read] of (plan.reads ?? []).entries()) {
    const line = { read: index, prompt: read.prompt, links: [] };
    const unresolved = [];
    const args = substitute(read.arguments ?? {}, saved, unresolved);
    if (unresolved.length) {
      emit({ ...line, outcome: 'skipped', text: `needs \${${unresolved[0]}}` });
      continue;
    }
    serverErrors.clear();
    let prompt;
    try {
      const strings = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, String(v)]));
      prompt = await client.getPrompt({ name: read.prompt, arguments: strings }, { timeout: CALL_TIMEOUT_MS });
    } catch (e) {
      const answered = [...serverErrors.values()][0];
      emit({ ...line, outcome: answered ? 'error' : 'rejected', text: answered ? answered.message : `${e?.name}: ${e?.message}` });
      continue;
    }
    const text = prompt.messages.filter((m) => m.content.type === 'text').map((m) => m.content.text).join('\n');
    Object.assign(line, { outcome: 'ok', text: text.slice(0, 3000) });
    for (const m of prompt.messages.filter((m) => m.content.type === 'resource_link')) {
      const link = { uri: m.content.uri };
      serverErrors.clear();
      try {
        const r = await client.readResource({ uri: m.content.uri }, { timeout: CALL_TIMEOUT_MS });
        Object.assign(link, { outcome: 'ok', mime: r.contents.map((c) => c.mimeType ?? null), text: r.contents.map((c) => c.text ?? '').join('\n').slice(0, 3000) });
      } catch (e) {
        const answered = [...serverErrors.values()][0];
        Object.assign(link, { outcome: answered ? 'error' : 'rejected', text: answered ? answered.message : `${e?.name}: ${e?.message}` });
      }
      line.links.push(link);
    }
    emit(line);
  }
}


try {
  await client.connect(transport);
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (message && message.error && message.id !== undefined) serverErrors.set(message.id, message.error);
    deliver?.(message, extra);
  };
  const tools = (await client.listTools()).tools.map((t) => t.name);
  emit({ tools, client: `sdk@${sdk}` });
  // The reads run before the step reads_before names (while what they read exists).
  const readsBefore = plan.reads_before ?? plan.steps.length;
  for (const [index, step] of plan.steps.entries()) {
    if (index === readsBefore) await runReads();
    const line = { step: index, tool: step.tool, label: step.label ?? '', expect: step.expect };
    const unresolved = [];
    const args = substitute(step.arguments ?? {}, saved, unresolved);
    if (unresolved.length) {
      emit({ ...line, outcome: 'skipped', text: `needs \${${unresolved[0]}}, which an earlier step did not give`, sdk_rejected: false, values: {} });
      continue;
    }
    serverErrors.clear();
    let sc;
    try {
      const result = await client.callTool({ name: step.tool, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS });
      const text = resultText(result);
      sc = result.structuredContent;
      if (result.isError) {
        Object.assign(line, { outcome: text.includes('not supported by') ? 'unsupported' : 'error', text });
      } else {
        Object.assign(line, { outcome: 'ok', text: text.slice(0, 300) });
      }
      line.sdk_rejected = false;
    } catch (e) {
      const answered = [...serverErrors.values()][0];
      if (answered) {
        Object.assign(line, { outcome: 'error', rpc_code: answered.code, text: `${answered.message}`, sdk_rejected: false });
      } else if (e?.code === -32001 && /timed out/i.test(e?.message ?? '')) {
        Object.assign(line, { outcome: 'error', text: `no answer within ${CALL_TIMEOUT_MS / 1000} s`, sdk_rejected: false });
      } else {
        Object.assign(line, { outcome: 'rejected', text: `${e?.name ?? 'Error'}: ${e?.message ?? e}`, sdk_rejected: true });
      }
    }
    if (line.outcome === 'ok') {
      for (const [name, path] of Object.entries(step.save ?? {})) {
        const got = pointer(sc, path);
        if (got !== MISSING) saved[name] = got;
      }
    }
    line.values = {};
    for (const path of [...Object.keys(step.check ?? {}), ...Object.values(step.save ?? {})]) {
      const got = sc === undefined ? MISSING : pointer(sc, path);
      line.values[path] = got === MISSING ? { $missing: true } : got;
    }
    emit(line);
  }
  if (readsBefore >= plan.steps.length) await runReads();
  const planned = new Set(plan.steps.map((s) => s.tool));
  for (const name of tools) if (!planned.has(name)) emit({ tool: name, outcome: 'missing' });
  emit({ done: true });
  await client.close();
  process.exit(0);
} catch (e) {
  console.error(`matrix.mjs FAILED: ${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  process.exit(1);
}
