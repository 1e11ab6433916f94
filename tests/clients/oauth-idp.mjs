#!/usr/bin/env node
// A real local OpenID provider (panva's certified `oidc-provider`) for the OAuth end-to-end tests.
// Usage: node oauth-idp.mjs --resource URL [--port 0] [--other-port 0] [--shared-key]
//   --resource      the protected resource (pm-mcp's /mcp URL) whose access tokens are issued as JWTs
//   --port          port of the main issuer on 127.0.0.1 (0 = any free port)
//   --other-port    port of the "other" issuer, same setup, whose tokens pm-mcp must refuse (0 = any free port)
//   --console-client ID:SECRET:REDIRECT_URI
//                   a confidential client registered up front (pm-mcp's web console: client_secret_basic,
//                   authorization code with PKCE, this one redirect URI)
//   --shared-key    both issuers sign with one RSA key, so a token of the other issuer verifies against the
//                   main issuer's JWKS and only its `iss` claim tells it apart (by default each has its own key)
// Prints one JSON line {"issuer","other_issuer"} on stdout once both listen, then runs until SIGTERM/SIGINT.
// Everything else goes to stderr.
//
// Each issuer offers: discovery, open dynamic client registration (public clients allowed), authorization code
// with PKCE S256 (required), refresh tokens when `offline_access` is granted, the built-in development login and
// consent pages (any login name, any password), and Resource Indicators (RFC 8707): access tokens for --resource
// and for http://other.test/api are RS256 JWTs with aud = that resource and the granted pm:* scopes.
import Provider, { errors } from 'oidc-provider';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

// oidc-provider prints some notices with console.info, i.e. on stdout; stdout is reserved for the one result line.
console.info = console.log = console.error;
const printResult = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const { values: args } = parseArgs({
  options: {
    resource: { type: 'string' },
    port: { type: 'string', default: '0' },
    'other-port': { type: 'string', default: '0' },
    'shared-key': { type: 'boolean', default: false },
    'console-client': { type: 'string' },
  },
});
if (!args.resource) {
  console.error('usage: node oauth-idp.mjs --resource URL [--port 0] [--other-port 0] [--shared-key]');
  process.exit(2);
}

// The resources tokens can be asked for: pm-mcp itself, and a second one for wrong-audience tests.
const RESOURCES = [args.resource, 'http://other.test/api'];
const RESOURCE_SCOPES = 'pm:read pm:write pm:admin';

// Known accounts; any other login name `x` is an account too, as x@acme.test without groups.
const KNOWN_ACCOUNTS = {
  alice: { email: 'alice@acme.test', name: 'Alice Admin', groups: ['pm-admins'] },
  bob: { email: 'bob@acme.test', name: 'Bob Builder', groups: [] },
};
function accountClaims(id) {
  const known = KNOWN_ACCOUNTS[id] ?? { email: `${id}@acme.test`, name: id, groups: [] };
  return { sub: id, email: known.email, email_verified: true, name: known.name, groups: known.groups };
}

// A fresh RS256 signing key (private JWK); oidc-provider publishes its public half at the jwks_uri.
function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' };
}

// The console's confidential client, when asked for: ID:SECRET:REDIRECT_URI (the URI has colons of its own).
function staticClients() {
  if (!args['console-client']) return [];
  const [id, secret, ...rest] = args['console-client'].split(':');
  return [{
    client_id: id,
    client_secret: secret,
    redirect_uris: [rest.join(':')],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }];
}

function configuration(signingKey) {
  return {
    clients: staticClients(),
    jwks: { keys: [signingKey] },
    // Keys for oidc-provider's signed cookies (session, interaction); random per run, nothing outlives the process.
    cookies: { keys: [randomBytes(32).toString('base64url')] },

    findAccount: (ctx, id) => ({ accountId: id, claims: () => accountClaims(id) }),
    // The standard OIDC claims behind the `email` and `profile` scopes (for ID tokens and userinfo); `groups`
    // rides along with profile. Listing pm:* here too makes them supported scopes: discovery advertises them
    // and dynamic registration accepts a client `scope` that contains them.
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'groups'],
    },
    scopes: ['openid', 'offline_access', ...RESOURCE_SCOPES.split(' ')],

    // Access tokens carry the account's identity, so that pm-mcp can create the user and map admins from them.
    extraTokenClaims: (ctx, token) => {
      if (!token.accountId) return undefined;
      const { email, email_verified, name, groups } = accountClaims(token.accountId);
      return { email, email_verified, name, groups };
    },

    // OAuth 2.1: authorization code only (no implicit or hybrid), with PKCE on every request (S256 is the only
    // method oidc-provider offers).
    responseTypes: ['code'],
    pkce: { required: () => true },

    ttl: {
      // 3 s for clients registered with client_name "short-lived", so tests can hold a genuinely expired token.
      AccessToken: (ctx, token, client) => (client?.clientName === 'short-lived' ? 3 : 600),
      AuthorizationCode: 60,
      IdToken: 600,
      RefreshToken: 24 * 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },

    // Browser-based MCP clients may call the token endpoint cross-origin.
    clientBasedCORS: () => true,

    features: {
      // The built-in login page (any login name and password; the login name becomes the account id) and consent
      // page, which grants everything the authorization request asked for.
      devInteractions: { enabled: true },
      // RFC 7591, open: no initial access token needed.
      registration: { enabled: true, initialAccessToken: false },
      // RFC 8707: `resource` on the authorization and token requests selects the access token's audience.
      resourceIndicators: {
        enabled: true,
        // No `resource` on the authorization request: pm-mcp. A token request without `resource` whose grant
        // covers several resources (`oneOf`) gets pm-mcp if it is one of them, else it is refused as ambiguous.
        defaultResource: (ctx, client, oneOf) => {
          if (!oneOf || oneOf.includes(args.resource)) return args.resource;
          return oneOf;
        },
        // A token request without `resource` gets a token for the granted resource, even when `openid` was
        // asked for too (the default would then issue an opaque token meant for the userinfo endpoint).
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (!RESOURCES.includes(resource)) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          return {
            scope: RESOURCE_SCOPES,
            audience: resource,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
}

// Listens on 127.0.0.1:port first (port 0 picks a free one), then builds the provider whose issuer names the
// port actually bound. Plain http on loopback needs no proxy setting: cookies are simply not marked Secure.
async function startIssuer(port, signingKey) {
  let handler = (req, res) => { res.writeHead(503).end(); };
  const server = createServer((req, res) => handler(req, res));
  await new Promise((resolve, reject) => server.once('error', reject).listen(Number(port), '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration(signingKey));
  provider.on('server_error', (ctx, err) => console.error(`[idp ${issuer}] server_error:`, err));
  provider.on('grant.error', (ctx, err) => console.error(`[idp ${issuer}] token request refused: ${err.message} ${err.error_description ?? ''}`));
  provider.on('authorization.error', (ctx, err) => console.error(`[idp ${issuer}] authorization refused: ${err.message} ${err.error_description ?? ''}`));
  handler = provider.callback();
  return { issuer, server };
}

const startOrExit = (port, key) => startIssuer(port, key).catch((e) => {
  console.error(`[idp] cannot start: ${e.message}`);
  process.exit(1);
});
const mainKey = newSigningKey();
const main = await startOrExit(args.port, mainKey);
const other = await startOrExit(args['other-port'], args['shared-key'] ? mainKey : newSigningKey());
printResult({ issuer: main.issuer, other_issuer: other.issuer });
console.error(`[idp] main ${main.issuer}, other ${other.issuer}, resources ${RESOURCES.join(' ')}`);

function shutdown(signal) {
  console.error(`[idp] ${signal}: stopping`);
  for (const { server } of [main, other]) {
    server.close();
    server.closeAllConnections();
  }
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
