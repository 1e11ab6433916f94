// A web host for MCP Apps, built on the extension's own host side: AppBridge and PostMessageTransport from
// @modelcontextprotocol/ext-apps, over the official TypeScript SDK v2 client connected to pm-mcp. Bundled by
// apps.mjs (esbuild) and driven there with Playwright. What a host must do by the spec and AppBridge leaves to
// it is done here: the view's resource must be the extension's MIME type, its declared Content-Security-Policy
// is applied, a view may call only tools visible to apps, and nothing is sent before the view says it is ready.
import {
  AppBridge,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
  getToolUiResourceUri,
} from '@modelcontextprotocol/ext-apps/app-bridge';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const THEMES = {
  light: { '--color-background-primary': '#fafafa', '--color-text-primary': '#111111' },
  dark: { '--color-background-primary': '#101014', '--color-text-primary': '#f0f0f0' },
};
const hostInfo = { name: 'pm-mcp-apps-test-host', version: '1.0.0' };
let client;
let tools = [];
const apps = [];
// Every tools/call a view made, and what the host answered.
const calls = [];

// The spec's policy for what `csp` declares (2026-01-26, "Content Security Policy"): nothing beyond inline
// script and style and data: images, unless the view names domains.
function policy(csp = {}) {
  const list = (domains, none) => (domains && domains.length ? domains.join(' ') : none);
  const resources = list(csp.resourceDomains, '');
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${resources}`.trim(),
    `style-src 'unsafe-inline' ${resources}`.trim(),
    `img-src data: ${resources}`.trim(),
    `font-src ${list(csp.resourceDomains, "'none'")}`,
    `media-src data: ${resources}`.trim(),
    `connect-src ${list(csp.connectDomains, "'none'")}`,
    `frame-src ${list(csp.frameDomains, "'none'")}`,
    `base-uri ${list(csp.baseUriDomains, "'none'")}`,
    "object-src 'none'",
    "form-action 'none'",
  ].join('; ');
}

async function connect() {
  const endpoint = new URLSearchParams(location.search).get('endpoint') || '/mcp';
  client = new Client(hostInfo, {
    capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: [RESOURCE_MIME_TYPE] } } },
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(endpoint, location.href)));
  tools = (await client.listTools()).tools;
  const caps = client.getServerCapabilities();
  return {
    linked: Object.fromEntries(tools.filter((t) => t._meta && t._meta.ui).map((t) => [t.name, t._meta])),
    serverUi: (caps.extensions || {})['io.modelcontextprotocol/ui'] || null,
  };
}

function context(theme, tool) {
  return {
    theme,
    styles: { variables: THEMES[theme] },
    displayMode: 'inline',
    availableDisplayModes: ['inline'],
    platform: 'web',
    toolInfo: { tool },
  };
}

// Shows the view linked from `toolName`, fed by a real call of that tool with `args`.
async function open(toolName, args, theme = 'dark') {
  const tool = tools.find((t) => t.name === toolName);
  if (!tool) throw new Error(`no tool ${toolName}`);
  const uri = getToolUiResourceUri(tool);
  if (!uri) throw new Error(`${toolName} links to no view`);
  const read = await client.readResource({ uri });
  const content = read.contents[0];
  if (read.contents.length !== 1 || content.mimeType !== RESOURCE_MIME_TYPE || typeof content.text !== 'string') {
    throw new Error(`${uri} is not one ${RESOURCE_MIME_TYPE} document`);
  }
  const ui = (content._meta && content._meta.ui) || {};
  const csp = policy(ui.csp);
  const html = content.text.replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="${csp}">`);

  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.title = tool.title || tool.name;
  iframe.dataset.view = uri;
  iframe.style.cssText = 'width: 960px; height: 600px; border: 1px solid #888';
  document.body.append(iframe);
  const index = apps.length;
  const bridge = new AppBridge(client, hostInfo, { openLinks: {}, serverTools: {}, serverResources: {}, logging: {} }, {
    hostContext: context(theme, tool),
  });
  const sizes = [];
  bridge.onsizechange = ({ width, height }) => {
    sizes.push({ width, height });
    if (height) iframe.style.height = `${Math.min(height + 4, 2000)}px`;
  };
  bridge.onloggingmessage = () => {};
  const initialized = new Promise((resolve) => {
    bridge.oninitialized = resolve;
  });
  const result = client.callTool({ name: toolName, arguments: args });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  // The spec's MUST, which AppBridge leaves to the host: no tool whose visibility leaves out apps. A tool not
  // listed to this key goes to the server, which decides (and refuses what the key may not do).
  bridge.oncalltool = async (params) => {
    const target = tools.find((t) => t.name === params.name);
    const visibility = (target && target._meta && target._meta.ui && target._meta.ui.visibility) || ['model', 'app'];
    if (!visibility.includes('app')) {
      calls.push({ view: index, name: params.name, refusedByHost: true });
      throw new Error(`${params.name} is not a tool this view may call`);
    }
    const answer = await client.callTool({ name: params.name, arguments: params.arguments });
    calls.push({ view: index, name: params.name, arguments: params.arguments, isError: Boolean(answer.isError) });
    return answer;
  };
  iframe.srcdoc = html;
  await initialized;
  await bridge.sendToolInput({ arguments: args });
  await bridge.sendToolResult(await result);
  apps.push({ iframe, bridge, tool, sizes });
  return { index, uri, bytes: new TextEncoder().encode(content.text).length, csp, ui };
}

function setTheme(index, theme) {
  const app = apps[index];
  return app.bridge.setHostContext(context(theme, app.tool));
}

async function teardown(index) {
  const app = apps[index];
  const answer = await app.bridge.teardownResource({});
  app.iframe.remove();
  return answer;
}

window.pmHost = {
  connect,
  open,
  setTheme,
  teardown,
  calls: () => calls,
  sizes: (index) => apps[index].sizes,
  call: async (name, args) => client.callTool({ name, arguments: args }),
  read: async (uri) => (await client.readResource({ uri })).contents[0].text,
};
window.pmHostReady = true;
