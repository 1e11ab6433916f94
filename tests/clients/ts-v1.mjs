#!/usr/bin/env node
// pm-mcp through the TypeScript SDK v1 client (@modelcontextprotocol/sdk).
// Usage: node ts-v1.mjs CONFIG.json [http|sse|stdio]
//   CONFIG.json: a client config as `pm-mcp key create` prints it for Cursor ({"mcpServers":{"pm-mcp":{url,headers}}}),
//   or for stdio {"command","env"}. For sse the /mcp URL is replaced by /sse.
// Lists tools, calls get_current_user and list_providers, lists the prompts, gets sprint_review and reads the
// resource it links, lists the resource templates; prints one JSON line, exits 0; exits 1 on failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { readFileSync } from 'node:fs';

const [configPath, transportName = 'http'] = process.argv.slice(2);
const server = JSON.parse(readFileSync(configPath, 'utf8')).mcpServers['pm-mcp'];
const sdk = JSON.parse(readFileSync(new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url))).version;
const fail = (msg) => { console.error(`ts-v1 (${transportName}) FAILED: ${msg}`); process.exit(1); };
const timer = setTimeout(() => fail('timeout after 30 s'), 30_000);

const requestInit = { headers: server.headers };
const transport = {
  http: () => new StreamableHTTPClientTransport(new URL(server.url), { requestInit }),
  // SDK 1.32 sends requestInit.headers on the GET /sse stream and on every POST /messages.
  sse: () => new SSEClientTransport(new URL(server.url.replace(/\/mcp$/, '/sse')), { requestInit }),
  stdio: () => new StdioClientTransport({ command: server.command, args: server.args, stderr: 'inherit',
    env: { ...getDefaultEnvironment(), ...server.env } }),
}[transportName]();
let protocolVersion;
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (v) => { protocolVersion = v; setVersion?.(v); };

const client = new Client({ name: 'pm-mcp-ts-v1', version: '1.0.0' });
try {
  await client.connect(transport);
  const names = (await client.listTools()).tools.map((t) => t.name);
  const me = await client.callTool({ name: 'get_current_user', arguments: {} });
  if (me.isError) fail(`get_current_user: ${JSON.stringify(me.content)}`);
  const providers = await client.callTool({ name: 'list_providers', arguments: {} });
  if (providers.isError) fail(`list_providers: ${JSON.stringify(providers.content)}`);
  // Prompts, a prompt's resource link, the templates, and that resource read (the SDK parses each).
  const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
  const prompt = await client.getPrompt({ name: 'sprint_review', arguments: { sprint_id: 'acme-jira:7' } });
  const links = prompt.messages.filter((m) => m.content.type === 'resource_link').map((m) => m.content.uri);
  const templates = (await client.listResourceTemplates()).resourceTemplates.length;
  const read = links.length ? await client.readResource({ uri: links[0] }) : { contents: [] };
  console.log(JSON.stringify({ client: `sdk@${sdk}`, transport: transportName, protocolVersion, tools: names,
    email: me.structuredContent?.user?.email, connections: providers.structuredContent?.connections?.map((c) => c.name),
    prompts, links, templates, read_mimes: read.contents.map((c) => c.mimeType), read_heading: (read.contents[0]?.text ?? '').split('\n')[0] }));
  await client.close();
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  fail(`${e?.name ?? 'Error'}: ${e?.message ?? e}`);
}
