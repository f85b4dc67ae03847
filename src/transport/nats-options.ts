/**
 * NATS connection settings from CLI flags and the environment (GUIDE §6): the server URL(s) and
 * one way to authenticate (user/password, token, nkey seed or a creds file), optionally over TLS.
 * A flag wins over its variable. Every error names the flag or variable at fault, and secrets are
 * checked here (seed and creds parsed, files readable) so a typo fails before connecting.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from 'nats';
import { TracocoError, errorMessage, type ErrorContext } from '../shared/errors.js';

/** The NATS flags as commander names them (`--nats-user` -> `natsUser`). */
export interface NatsFlags {
  nats?: string;
  natsUser?: string;
  natsPassword?: string;
  natsToken?: string;
  natsNkeySeed?: string;
  natsCreds?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
}

/** Each setting: its flag, its environment variable, and help text (src/cli registers the flags). */
export const NATS_SETTINGS = {
  nats: { flag: '--nats', env: 'NATS_URL', help: 'NATS server URL(s), comma-separated (env NATS_URL)' },
  natsUser: { flag: '--nats-user', env: 'NATS_USER', help: 'NATS user name (env NATS_USER)' },
  natsPassword: { flag: '--nats-password', env: 'NATS_PASSWORD', help: 'NATS password (env NATS_PASSWORD)' },
  natsToken: { flag: '--nats-token', env: 'NATS_TOKEN', help: 'NATS token (env NATS_TOKEN)' },
  natsNkeySeed: { flag: '--nats-nkey-seed', env: 'NATS_NKEY_SEED_FILE', help: 'file holding an nkey user seed (env NATS_NKEY_SEED_FILE, or the seed itself in NATS_NKEY_SEED)' },
  natsCreds: { flag: '--nats-creds', env: 'NATS_CREDS', help: 'NATS credentials file, JWT + seed (env NATS_CREDS)' },
  natsTlsCa: { flag: '--nats-tls-ca', env: 'NATS_TLS_CA', help: 'CA certificate file for TLS (env NATS_TLS_CA)' },
  natsTlsCert: { flag: '--nats-tls-cert', env: 'NATS_TLS_CERT', help: 'client certificate file for TLS (env NATS_TLS_CERT)' },
  natsTlsKey: { flag: '--nats-tls-key', env: 'NATS_TLS_KEY', help: 'client key file for TLS (env NATS_TLS_KEY)' },
} as const satisfies Record<keyof NatsFlags, { flag: string; env: string; help: string }>;

interface Setting {
  value: string;
  /** The flag or variable it came from, for error messages. */
  source: ErrorContext;
  name: string;
}

function pick(flags: NatsFlags, env: NodeJS.ProcessEnv, key: keyof NatsFlags): Setting | null {
  const { flag, env: variable } = NATS_SETTINGS[key];
  const fromFlag = flags[key];
  if (fromFlag !== undefined && fromFlag !== '') return { value: fromFlag, source: { flag }, name: flag };
  const fromEnv = env[variable];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: { field: variable }, name: variable };
  return null;
}

/** 'nkey' covers a seed and a creds file: both sign the server's nonce with an nkey. */
export type NatsAuthKind = 'none' | 'user' | 'token' | 'nkey';

/** Connection options for `nats.connect` (servers, authentication, TLS) from flags, then environment. */
export function natsOptionsFrom(flags: NatsFlags, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const url = pick(flags, env, 'nats');
  if (!url) throw new TracocoError('a NATS server URL is required (or set NATS_URL)', { flag: '--nats' });
  const servers = parseServers(url);
  const options: ConnectionOptions = { servers, ...authOptions(flags, env) };
  const tls = tlsOptions(flags, env, servers);
  if (tls) options.tls = tls;
  return options;
}

/** Which authentication the options carry (for logs: never the secret itself). */
export function natsAuthKind(options: ConnectionOptions): NatsAuthKind {
  if (options.user !== undefined) return 'user';
  if (options.token !== undefined) return 'token';
  return options.authenticator ? 'nkey' : 'none';
}

function parseServers(url: Setting): string[] {
  const servers = url.value.split(',').map((s) => s.trim());
  for (const server of servers) {
    if (!server) throw new TracocoError(`empty server in '${url.value}'`, url.source);
    let parsed: URL;
    try {
      parsed = new URL(server.includes('://') ? server : `nats://${server}`);
    } catch {
      throw new TracocoError(`'${server}' is not a server URL (expected nats://host:port)`, url.source);
    }
    if (!['nats:', 'tls:'].includes(parsed.protocol)) {
      throw new TracocoError(`'${server}' has scheme ${parsed.protocol.slice(0, -1)}; expected nats:// or tls://`, url.source);
    }
    if (!parsed.hostname) throw new TracocoError(`'${server}' has no host`, url.source);
  }
  return servers;
}

function authOptions(flags: NatsFlags, env: NodeJS.ProcessEnv): Partial<ConnectionOptions> {
  const user = pick(flags, env, 'natsUser');
  const password = pick(flags, env, 'natsPassword');
  const token = pick(flags, env, 'natsToken');
  const seedFile = pick(flags, env, 'natsNkeySeed');
  const seedValue = env.NATS_NKEY_SEED ? { value: env.NATS_NKEY_SEED, source: { field: 'NATS_NKEY_SEED' }, name: 'NATS_NKEY_SEED' } : null;
  const seed = seedFile ?? seedValue;
  const creds = pick(flags, env, 'natsCreds');

  if (user && !password) throw new TracocoError(`${user.name} is set but no password (${NATS_SETTINGS.natsPassword.flag} or ${NATS_SETTINGS.natsPassword.env})`, user.source);
  if (password && !user) throw new TracocoError(`${password.name} is set but no user (${NATS_SETTINGS.natsUser.flag} or ${NATS_SETTINGS.natsUser.env})`, password.source);
  const given = [user, token, seed, creds].filter((s): s is Setting => s !== null);
  if (given.length > 1) {
    throw new TracocoError(`choose one NATS authentication method, got ${given.map((s) => s.name).join(' and ')}`, given[1]!.source);
  }
  if (user && password) return { user: user.value, pass: password.value };
  if (token) return { token: token.value };
  if (seed) {
    const text = seed === seedFile ? new TextDecoder().decode(readSecret(seed)) : seed.value;
    const bytes = new TextEncoder().encode(text.trim());
    return { authenticator: checkedAuthenticator(nkeyAuthenticator(bytes), seed, 'not a valid nkey user seed') };
  }
  if (creds) return { authenticator: checkedAuthenticator(credsAuthenticator(readSecret(creds)), creds, 'not a valid NATS credentials file') };
  return {};
}

/** Signs a dummy nonce once so a malformed seed or creds file fails here, naming its source. */
function checkedAuthenticator<A extends (nonce?: string) => unknown>(authenticator: A, setting: Setting, problem: string): A {
  try {
    authenticator('tracoco-check');
  } catch (err) {
    throw new TracocoError(`${problem} (${errorMessage(err)})`, setting.source);
  }
  return authenticator;
}

function readSecret(setting: Setting): Uint8Array {
  try {
    return new Uint8Array(readFileSync(setting.value));
  } catch (err) {
    throw new TracocoError(`cannot read ${setting.value} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`, setting.source);
  }
}

function tlsOptions(flags: NatsFlags, env: NodeJS.ProcessEnv, servers: string[]): ConnectionOptions['tls'] | undefined {
  const ca = pick(flags, env, 'natsTlsCa');
  const cert = pick(flags, env, 'natsTlsCert');
  const key = pick(flags, env, 'natsTlsKey');
  if (cert && !key) throw new TracocoError(`a client certificate needs its key (${NATS_SETTINGS.natsTlsKey.flag} or ${NATS_SETTINGS.natsTlsKey.env})`, cert.source);
  if (key && !cert) throw new TracocoError(`a client key needs its certificate (${NATS_SETTINGS.natsTlsCert.flag} or ${NATS_SETTINGS.natsTlsCert.env})`, key.source);
  for (const file of [ca, cert, key]) if (file) checkReadable(file);
  const wantsTls = servers.some((s) => s.startsWith('tls://'));
  if (!ca && !cert && !wantsTls) return undefined;
  return { ...(ca && { caFile: ca.value }), ...(cert && { certFile: cert.value }), ...(key && { keyFile: key.value }) };
}

function checkReadable(setting: Setting): void {
  try {
    accessSync(setting.value, constants.R_OK);
  } catch (err) {
    throw new TracocoError(`cannot read ${setting.value} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`, setting.source);
  }
}
