#!/usr/bin/env node
// pm-mcp through the TypeScript SDK v2 client (@modelcontextprotocol/client).
// Usage: node ts-v2.mjs CONFIG.json [legacy|auto]
//   legacy: the initialize handshake (2025-11-25); auto: server/discover first (2026-07-28), falling back.
// Same config, checks and output as ts-v1.mjs.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { readFileSync } from 'node:fs';

const [configPath, mode = 'legacy'] = process.argv.slice(2);
const server = JSON.parse(readFileSync(configPath, 'utf8')).mcpServers['pm-mcp'];
const sdk = JSON.parse(readFileSync(new URL('./node_modules/@modelcontextprotocol/client/package.json', import.meta.url))).version;
const fail = (msg) => { console.error(`ts-v2 (${mode}) FAILED: ${msg}`); process.exit(1); };
const timer = setTimeout(() => fail('timeout after 30 s'), 30_000);

const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: server.headers } });
const client = new Client({ name: 'pm-mcp-ts-v2', version: '1.0.0' }, { versionNegotiation: { mode } });
try {
  await client.connect(transport);
  const names = (await client.listTools()).tools.map((t) => t.name);
  const me = await client.callTool({ name: 'get_current_user', arguments: {} });
  if (me.isError) fail(`get_current_user: ${JSON.stringify(me.content)}`);
  const providers = await client.callTool({ name: 'list_providers', arguments: {} });
  if (providers.isError) fail(`list_providers: ${JSON.stringify(providers.content)}`);
  const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
  const prompt = await client.getPrompt({ name: 'sprint_review', arguments: { sprint_id: 'acme-jira:7' } });
  const links = prompt.messages.filter((m) => m.content.type === 'resource_link').map((m) => m.content.uri);
  const listed = await client.listResourceTemplates();
  const templates = listed.resourceTemplates.length;
  const read = links.length ? await client.readResource({ uri: links[0] }) : { contents: [] };
  console.log(JSON.stringify({ client: `client@${sdk}`, transport: 'http', mode, protocolVersion: client.getNegotiatedProtocolVersion(),
    tools: names, email: me.structuredContent?.user?.email, connections: providers.structuredContent?.connections?.map((c) => c.name),
    prompts, links, templates, read_mimes: read.contents.map((c) => c.mimeType), read_heading: (read.contents[0]?.text ?? '').split('\n')[0],
    hints: { templates: [listed.ttlMs ?? null, listed.cacheScope ?? null], read: [read.ttlMs ?? null, read.cacheScope ?? null] } }));
  await client.close();
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  fail(`${e?.name ?? 'Error'}: ${e?.message ?? e}${e?.data?.status ? ` (HTTP ${e.data.status})` : ''}`);
}
