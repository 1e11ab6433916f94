#!/usr/bin/env node
// Scripted OAuth 2.1 flows against the local OpenID provider (oauth-idp.mjs), with no browser: a headless user agent
// follows the redirects with a cookie jar, signs in on the login page as --login, confirms the consent page, and
// captures the authorization code from the final redirect to the client's redirect URI (nothing listens there).
//
// node oauth-client.mjs token --issuer URL --resource URL --login NAME --scope "pm:read pm:write" [--client-name NAME]
//   Discovery, dynamic registration of a public client, authorization code + PKCE S256 with `resource` on the
//   authorization and the token request. Prints {"access_token","expires_in","scope","token_type"} (and
//   "refresh_token" when one is issued, i.e. with offline_access).
//
// node oauth-client.mjs mcp --server http://127.0.0.1:PORT/mcp --login NAME --scope "pm:read" [--client-name NAME]
//   The TypeScript SDK v1's own OAuth support (an OAuthClientProvider on StreamableHTTPClientTransport) against
//   pm-mcp: lists tools, calls get_current_user, then the write tool remove_pm_provider, and reports whether the
//   SDK re-authorized with a wider scope when the server answered 403 insufficient_scope. --scope is what the user
//   grants on the first authorization (see redirectToAuthorization below). Prints one JSON line.
//
// Both modes exit 1 with a message on stderr when anything goes wrong.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

const { positionals: [mode], values: args } = parseArgs({
  allowPositionals: true,
  options: {
    issuer: { type: 'string' },
    resource: { type: 'string' },
    server: { type: 'string' },
    login: { type: 'string', default: 'alice' },
    scope: { type: 'string' },
    'client-name': { type: 'string', default: 'pm-mcp-e2e' },
  },
});
const fail = (msg) => { console.error(`oauth-client (${mode}) FAILED: ${msg}`); process.exit(1); };
const need = (...names) => names.forEach((n) => args[n] || fail(`--${n} is required`));
const timer = setTimeout(() => fail('timeout after 60 s'), 60_000);

// The client's redirect URI: a loopback URI as native apps use (RFC 8252). Nothing listens on it; the user agent
// stops at the redirect that points there.
const REDIRECT_URI = 'http://127.0.0.1:53682/callback';

const base64url = (buf) => Buffer.from(buf).toString('base64url');
// The payload of a JWT, decoded without verifying anything (the server under test does the verifying).
const jwtPayload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
// A tool's text content: parsed when it is JSON, else as it is.
const parseText = (text) => { try { return JSON.parse(text); } catch { return text; } };

// --- Headless user agent -----------------------------------------------------------------------------------------

// Cookies by host, name and path (RFC 6265, reduced to what a loopback-only flow needs). oidc-provider scopes its
// interaction cookies to /interaction/<uid> and /auth/<uid>, so paths matter.
class CookieJar {
  #cookies = new Map();

  store(url, response) {
    const { host } = new URL(url);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const cookie = { host, name: pair.slice(0, eq), value: pair.slice(eq + 1), path: '/' };
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.toLowerCase();
        if (key === 'path') cookie.path = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const id = `${host} ${cookie.name} ${cookie.path}`;
      if (expired || cookie.value === '') this.#cookies.delete(id);
      else this.#cookies.set(id, cookie);
    }
  }

  header(url) {
    const { host, pathname } = new URL(url);
    const pathMatches = (p) => pathname === p || (pathname.startsWith(p) && (p.endsWith('/') || pathname[p.length] === '/'));
    return [...this.#cookies.values()]
      .filter((c) => c.host === host && pathMatches(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

const decodeEntities = (s) => s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e) => {
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e.toLowerCase()];
  if (named) return named;
  return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
});
const attr = (tag, name) => {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3]) : undefined;
};

// The first form of an HTML page: its action and the fields it would submit, with the login page's text fields
// filled in as the user would (oidc-provider's development login takes any password).
function fillForm(html, pageUrl, login) {
  const form = html.match(/<form\b[^>]*>[\s\S]*?<\/form>/i)?.[0];
  if (!form) return undefined;
  const fields = new URLSearchParams();
  for (const input of form.match(/<input\b[^>]*>/gi) ?? []) {
    const name = attr(input, 'name');
    if (!name) continue;
    if (name === 'login') fields.set(name, login);
    else if (name === 'password') fields.set(name, 'any-password');
    else fields.set(name, attr(input, 'value') ?? '');
  }
  const formTag = form.match(/<form\b[^>]*>/i)[0];
  return {
    action: new URL(attr(formTag, 'action') ?? pageUrl, pageUrl).href,
    method: (attr(formTag, 'method') ?? 'get').toUpperCase(),
    fields,
  };
}

// Walks an authorization request to its end: redirects are followed by hand (to keep cookies and to stop at the
// redirect URI), every HTML form met (login, then consent) is submitted. Returns the query parameters of the final
// redirect to `redirectUri` (code, state, iss), or throws on an error redirect or an unexpected page.
async function runUserAgent(jar, authorizationUrl, redirectUri, login) {
  const target = new URL(redirectUri);
  let request = { url: String(authorizationUrl), method: 'GET', body: undefined };
  const trail = [];
  for (let step = 0; step < 20; step += 1) {
    trail.push(`${request.method} ${new URL(request.url).pathname}`);
    const headers = { cookie: jar.header(request.url) };
    if (request.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(request.url, { method: request.method, headers, body: request.body, redirect: 'manual' });
    jar.store(request.url, response);

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, request.url);
      if (next.origin === target.origin && next.pathname === target.pathname) {
        const params = Object.fromEntries(next.searchParams);
        if (params.error) throw new Error(`authorization refused: ${params.error}: ${params.error_description ?? ''}`);
        if (!params.code) throw new Error(`redirect to the client without a code: ${next.href}`);
        return params;
      }
      request = { url: next.href, method: 'GET', body: undefined };
      continue;
    }

    const html = await response.text();
    const form = response.ok ? fillForm(html, request.url, login) : undefined;
    if (!form) {
      const text = html.replace(/<style[\s\S]*?<\/style>|<script[\s\S]*?<\/script>/gi, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
      throw new Error(`unexpected page, HTTP ${response.status} at ${request.url} (after ${trail.join(' -> ')}): ${text.trim().slice(0, 400)}`);
    }
    request = form.method === 'POST'
      ? { url: form.action, method: 'POST', body: form.fields.toString() }
      : { url: `${form.action}?${form.fields}`, method: 'GET', body: undefined };
  }
  throw new Error(`no redirect to the client after 20 steps: ${trail.join(' -> ')}`);
}

// --- Plain HTTP helpers --------------------------------------------------------------------------------------------

async function fetchJson(url, init, what) {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} from ${url}: ${text}`);
  return JSON.parse(text);
}

const publicClientMetadata = (scope) => ({
  client_name: args['client-name'],
  application_type: 'native',
  redirect_uris: [REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
  ...(scope ? { scope } : {}),
});

// --- Mode token ----------------------------------------------------------------------------------------------------

async function tokenMode() {
  need('issuer', 'resource', 'scope');
  const issuer = args.issuer.replace(/\/$/, '');

  const metadata = await fetchJson(`${issuer}/.well-known/openid-configuration`, {}, 'discovery');
  if (metadata.issuer !== issuer) throw new Error(`discovery names issuer ${metadata.issuer}, expected ${issuer}`);

  const client = await fetchJson(metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(publicClientMetadata(args.scope)),
  }, 'dynamic client registration');

  // PKCE (RFC 7636, S256) and a state value to tie the redirect back to this request.
  const codeVerifier = base64url(randomBytes(32));
  const state = base64url(randomBytes(16));
  const authorizationUrl = new URL(metadata.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: args.scope,
    state,
    code_challenge: base64url(createHash('sha256').update(codeVerifier).digest()),
    code_challenge_method: 'S256',
    resource: args.resource,
  })) authorizationUrl.searchParams.set(k, v);
  // OpenID Connect honours offline_access (a refresh token) only on a request that prompts for consent.
  if (args.scope.split(' ').includes('offline_access')) authorizationUrl.searchParams.set('prompt', 'consent');

  const callback = await runUserAgent(new CookieJar(), authorizationUrl, REDIRECT_URI, args.login);
  if (callback.state !== state) throw new Error(`state mismatch: sent ${state}, got ${callback.state}`);
  // RFC 9207: the authorization response names its issuer (mix-up defence).
  if (callback.iss !== undefined && callback.iss !== issuer) throw new Error(`iss mismatch: ${callback.iss}`);

  const tokens = await fetchJson(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.code,
      redirect_uri: REDIRECT_URI,
      code_verifier: codeVerifier,
      client_id: client.client_id,
      resource: args.resource,
    }),
  }, 'token request');

  const { access_token, expires_in, scope, token_type, refresh_token } = tokens;
  return { access_token, expires_in, scope, token_type, ...(refresh_token ? { refresh_token } : {}) };
}

// --- Mode mcp ------------------------------------------------------------------------------------------------------

async function mcpMode() {
  need('server', 'scope');
  const serverUrl = new URL(args.server);
  const jar = new CookieJar(); // one browser session for every authorization of this run, as a real user has
  const authorizations = []; // what the SDK asked for each time it sent the user to the authorization server
  const challenges = []; // the WWW-Authenticate challenges pm-mcp answered with
  let pendingCode;
  let discovery;

  // In-memory OAuthClientProvider: the SDK registers the client, builds the authorization URL (PKCE, resource,
  // scope), exchanges the code and stores the tokens through these members.
  const store = {};
  const authProvider = {
    redirectUrl: REDIRECT_URI,
    // The SDK's scope choice is: the 401/403 challenge's scope, else the protected resource metadata's
    // scopes_supported, else this metadata's scope; the one it picks is also sent at registration.
    clientMetadata: publicClientMetadata(args.scope),
    state: () => { store.state = base64url(randomBytes(16)); return store.state; },
    clientInformation: () => store.client,
    saveClientInformation: (info) => { store.client = info; },
    tokens: () => store.tokens,
    saveTokens: (tokens) => { store.tokens = tokens; },
    saveCodeVerifier: (verifier) => { store.codeVerifier = verifier; },
    codeVerifier: () => store.codeVerifier,
    discoveryState: () => discovery,
    saveDiscoveryState: (state) => { discovery = state; },
    invalidateCredentials: (what) => {
      if (what === 'all' || what === 'client') delete store.client;
      if (what === 'all' || what === 'tokens') delete store.tokens;
      if (what === 'all' || what === 'verifier') delete store.codeVerifier;
      if (what === 'all' || what === 'discovery') discovery = undefined;
    },
    // Runs the headless user agent where a real client would open a browser. The code is kept for finishAuth,
    // which the caller runs once the SDK has thrown UnauthorizedError.
    async redirectToAuthorization(url) {
      const asked = url.searchParams.get('scope');
      // On the first authorization the user grants --scope only, whatever the SDK asked for (pm-mcp's
      // 401 suggests "pm:read pm:write", which the SDK prefers to the client's own scope). An authorization server
      // may always grant less than requested (RFC 6749 §3.3); this is how the run obtains a pm:read-only token
      // to provoke the 403 insufficient_scope. Later authorizations (step-up) go as the SDK built them.
      const granted = authorizations.length === 0 ? args.scope : asked;
      url.searchParams.set('scope', granted);
      authorizations.push({ scope_asked: asked, scope_granted: granted, resource: url.searchParams.get('resource') });
      const callback = await runUserAgent(jar, url, REDIRECT_URI, args.login);
      if (callback.state !== store.state) throw new Error(`state mismatch: sent ${store.state}, got ${callback.state}`);
      pendingCode = callback.code;
    },
  };
  const takeCode = () => {
    if (!pendingCode) throw new Error('UnauthorizedError without a completed authorization');
    const code = pendingCode;
    pendingCode = undefined;
    return code;
  };

  // Records every WWW-Authenticate challenge on the way (the SDK reads them, this makes them visible).
  const recordingFetch = async (url, init) => {
    const response = await fetch(url, init);
    const challenge = response.headers.get('www-authenticate');
    if (challenge) challenges.push({ status: response.status, method: init?.method ?? 'GET', www_authenticate: challenge });
    return response;
  };
  const newTransport = () => new StreamableHTTPClientTransport(serverUrl, { authProvider, fetch: recordingFetch });

  // First connection: 401 -> the SDK discovers, registers, sends the user to authorize and throws
  // UnauthorizedError; the code is exchanged with finishAuth and a new transport connects with the token.
  const client = new Client({ name: 'pm-mcp-oauth-e2e', version: '1.0.0' });
  let transport = newTransport();
  try {
    await client.connect(transport);
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    await transport.finishAuth(takeCode());
    transport = newTransport();
    await client.connect(transport);
  }

  const toolNames = (await client.listTools()).tools.map((t) => t.name);
  const me = await client.callTool({ name: 'get_current_user', arguments: {} });
  if (me.isError) throw new Error(`get_current_user: ${JSON.stringify(me.content)}`);
  const currentUser = me.structuredContent ?? parseText(me.content?.find((c) => c.type === 'text')?.text);

  // A write tool with a read-only token: pm-mcp answers 403 insufficient_scope. SDK 1.32 then re-runs auth() with
  // the challenge's scope; without a refresh token that means a new authorization (redirectToAuthorization again)
  // and an UnauthorizedError out of callTool, after which the code is exchanged and the call is made once more.
  const writeCall = () => client.callTool({ name: 'remove_pm_provider', arguments: { provider_id: 'does-not-exist' } });
  const write = { stepped_up: false };
  try {
    let result;
    try {
      result = await writeCall();
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || !pendingCode) throw e;
      await transport.finishAuth(takeCode());
      write.stepped_up = true;
      result = await writeCall();
    }
    Object.assign(write, { ok: true, is_error: !!result.isError, result });
  } catch (e) {
    Object.assign(write, { ok: false, status: e.code, error: `${e?.name ?? 'Error'}: ${e?.message ?? e}` });
  }

  const claims = jwtPayload(store.tokens.access_token);
  await client.close();
  return {
    tools: toolNames.length,
    tool_names: toolNames,
    current_user: currentUser,
    write,
    authorizations: authorizations.length,
    scopes_requested: authorizations.map((a) => a.scope_asked),
    authorization_requests: authorizations,
    resource_metadata_seen: challenges.map((c) => c.www_authenticate.match(/resource_metadata="([^"]*)"/)?.[1]).find(Boolean),
    challenges,
    authorization_server: discovery?.authorizationServerUrl,
    token_claims: { iss: claims.iss, aud: claims.aud, scope: claims.scope, sub: claims.sub, email: claims.email, groups: claims.groups },
  };
}

try {
  const run = { token: tokenMode, mcp: mcpMode }[mode];
  if (!run) fail('usage: node oauth-client.mjs token|mcp [options] (see the header of this file)');
  console.log(JSON.stringify(await run()));
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  // fetch errors hide the reason (refused connection, ...) in `cause`.
  fail(`${e?.name ?? 'Error'}: ${e?.message ?? e}${e?.cause ? ` (${e.cause.code ?? e.cause.message ?? e.cause})` : ''}`);
}
