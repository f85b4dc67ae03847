import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { nkeys } from 'nats';
import { TracocoError } from '../../src/shared/errors.js';
import { addNatsFlags } from '../../src/cli/nats-flags.js';
import { natsAuthKind, natsOptionsFrom, type NatsFlags } from '../../src/transport/nats-options.js';
import { tempDir } from '../support/env.js';

const URL = 'nats://127.0.0.1:4222';

function failure(flags: NatsFlags, env: NodeJS.ProcessEnv, pattern: RegExp): TracocoError {
  try {
    natsOptionsFrom(flags, env);
  } catch (err) {
    assert.ok(err instanceof TracocoError, String(err));
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected an error matching ${pattern}`);
}

function newUser(): { seed: string; publicKey: string } {
  const user = nkeys.createUser();
  return { seed: new TextDecoder().decode(user.getSeed()), publicKey: user.getPublicKey() };
}

test('server URLs come from --nats, else NATS_URL; a list is comma-separated', () => {
  assert.deepEqual(natsOptionsFrom({ nats: URL }, {}).servers, [URL]);
  assert.deepEqual(natsOptionsFrom({}, { NATS_URL: 'nats://a:1, b:2' }).servers, ['nats://a:1', 'b:2']);
  assert.deepEqual(natsOptionsFrom({ nats: 'x:3' }, { NATS_URL: 'nats://a:1' }).servers, ['x:3']);
  const plain = natsOptionsFrom({ nats: URL }, {});
  assert.equal(plain.tls, undefined);
  assert.equal(natsAuthKind(plain), 'none');
});

test('bad server URLs are errors naming the flag or the variable', () => {
  assert.equal(failure({}, {}, /URL is required/).context.flag, '--nats');
  assert.equal(failure({ nats: 'http://host:4222' }, {}, /scheme http; expected nats:\/\/ or tls:\/\//).context.flag, '--nats');
  assert.equal(failure({}, { NATS_URL: 'nats://a:1,,nats://b:2' }, /empty server/).context.field, 'NATS_URL');
  assert.equal(failure({ nats: 'nats://host:99999' }, {}, /not a server URL/).context.flag, '--nats');
});

test('user and password come from flags or environment, and need each other', () => {
  const o = natsOptionsFrom({ nats: URL, natsUser: 'alice' }, { NATS_PASSWORD: 's3cret', NATS_USER: 'bob' });
  assert.equal(o.user, 'alice');
  assert.equal(o.pass, 's3cret');
  assert.equal(natsAuthKind(o), 'user');
  assert.equal(failure({ nats: URL }, { NATS_USER: 'bob' }, /NATS_USER is set but no password \(--nats-password or NATS_PASSWORD\)/).context.field, 'NATS_USER');
  assert.equal(failure({ nats: URL, natsPassword: 'x' }, {}, /--nats-password is set but no user/).context.flag, '--nats-password');
});

test('a token is passed through; two methods at once are refused naming both', () => {
  const o = natsOptionsFrom({ nats: URL }, { NATS_TOKEN: 't0k' });
  assert.equal(o.token, 't0k');
  assert.equal(natsAuthKind(o), 'token');
  failure({ nats: URL, natsToken: 't' }, { NATS_USER: 'u', NATS_PASSWORD: 'p' }, /choose one NATS authentication method, got NATS_USER and --nats-token/);
});

test('an nkey seed, inline or from a file, signs the server nonce with that key', () => {
  const dir = tempDir();
  try {
    const { seed, publicKey } = newUser();
    const inline = natsOptionsFrom({ nats: URL }, { NATS_NKEY_SEED: seed });
    assert.equal(natsAuthKind(inline), 'nkey');
    const auth = (inline.authenticator as (nonce?: string) => { nkey: string; sig: string })('abc');
    assert.equal(auth.nkey, publicKey);
    assert.ok(nkeys.fromPublic(publicKey).verify(new TextEncoder().encode('abc'), nkeys.decode(auth.sig)));

    const file = join(dir.path, 'user.nk');
    writeFileSync(file, seed + '\n');
    const fromFile = natsOptionsFrom({ nats: URL, natsNkeySeed: file }, {});
    assert.equal((fromFile.authenticator as (n?: string) => { nkey: string })('n').nkey, publicKey);

    assert.equal(failure({ nats: URL }, { NATS_NKEY_SEED: 'SUNOTASEED' }, /not a valid nkey user seed/).context.field, 'NATS_NKEY_SEED');
    assert.equal(failure({ nats: URL, natsNkeySeed: join(dir.path, 'absent.nk') }, {}, /cannot read .*absent\.nk \(ENOENT\)/).context.flag, '--nats-nkey-seed');
  } finally {
    dir.cleanup();
  }
});

test('a creds file supplies the JWT and signs with its seed; a malformed one is refused', () => {
  const dir = tempDir();
  try {
    const { seed, publicKey } = newUser();
    const jwt = 'eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ0ZXN0In0.c2ln';
    const creds = join(dir.path, 'user.creds');
    writeFileSync(creds, `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`);
    const o = natsOptionsFrom({ nats: URL }, { NATS_CREDS: creds });
    const auth = (o.authenticator as (nonce?: string) => { jwt: string; nkey: string })('nonce');
    assert.equal(auth.jwt, jwt);
    assert.equal(auth.nkey, publicKey);

    const broken = join(dir.path, 'broken.creds');
    writeFileSync(broken, 'not a creds file');
    assert.equal(failure({ nats: URL, natsCreds: broken }, {}, /not a valid NATS credentials file/).context.flag, '--nats-creds');
  } finally {
    dir.cleanup();
  }
});

test('TLS files must exist, cert and key go together, and tls:// asks for TLS', () => {
  const dir = tempDir();
  try {
    const [ca, cert, key] = ['ca.pem', 'cert.pem', 'key.pem'].map((n) => join(dir.path, n)) as [string, string, string];
    for (const f of [ca, cert, key]) writeFileSync(f, 'PEM');
    assert.deepEqual(natsOptionsFrom({ nats: URL, natsTlsCert: cert }, { NATS_TLS_CA: ca, NATS_TLS_KEY: key }).tls, { caFile: ca, certFile: cert, keyFile: key });
    assert.deepEqual(natsOptionsFrom({ nats: 'tls://host:4222' }, {}).tls, {});
    assert.equal(failure({ nats: URL, natsTlsCert: cert }, {}, /needs its key/).context.flag, '--nats-tls-cert');
    assert.equal(failure({ nats: URL }, { NATS_TLS_KEY: key }, /needs its certificate/).context.field, 'NATS_TLS_KEY');
    assert.equal(failure({ nats: URL }, { NATS_TLS_CA: join(dir.path, 'none.pem') }, /ENOENT/).context.field, 'NATS_TLS_CA');
  } finally {
    dir.cleanup();
  }
});

test('addNatsFlags registers flags whose parsed names are the NatsFlags keys', () => {
  const cmd = addNatsFlags(new Command('worker').exitOverride(), { withUrl: true });
  cmd.parse(['--nats', URL, '--nats-user', 'u', '--nats-password', 'p', '--nats-tls-ca', '/ca'], { from: 'user' });
  assert.deepEqual(cmd.opts(), { nats: URL, natsUser: 'u', natsPassword: 'p', natsTlsCa: '/ca' });
  const withoutUrl = addNatsFlags(new Command('coordinator'));
  assert.equal(withoutUrl.options.some((o) => o.long === '--nats'), false);
  assert.ok(withoutUrl.options.some((o) => o.long === '--nats-creds'));
});
