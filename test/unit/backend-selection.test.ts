/**
 * Backend selection: preference order tensorflow -> native -> cpu, the --backend flag over
 * TRACOCO_BACKEND over the automatic order, and clear errors for unknown or unavailable
 * explicit choices. The order logic is tested with a scripted probe; the real `initBackend` in
 * child processes (it changes process-wide tfjs state and caches the addon load).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { TracocoError } from '../../src/shared/errors.js';
import { BACKEND_NAMES, chooseBackend, requestedBackend, type BackendName } from '../../src/shared/backend/index.js';
import { loadNativeAddon } from '../../src/shared/backend/native-addon.js';

/** A probe that accepts only `available`, recording what it was asked. */
function probe(available: BackendName[]) {
  const asked: BackendName[] = [];
  const fn = async (name: BackendName) => {
    asked.push(name);
    return available.includes(name) ? null : `${name} missing`;
  };
  return { fn, asked };
}

describe('chooseBackend', () => {
  it('prefers tensorflow, then native, then cpu, recording why each was skipped', async () => {
    const all = probe(['tensorflow', 'native', 'cpu']);
    assert.deepEqual(await chooseBackend(undefined, all.fn), { name: 'tensorflow', skipped: [] });
    const noTf = probe(['native', 'cpu']);
    assert.deepEqual(await chooseBackend(undefined, noTf.fn), { name: 'native', skipped: [{ name: 'tensorflow', reason: 'tensorflow missing' }] });
    const cpuOnly = probe(['cpu']);
    const choice = await chooseBackend(undefined, cpuOnly.fn);
    assert.equal(choice.name, 'cpu');
    assert.deepEqual(choice.skipped.map((s) => s.name), ['tensorflow', 'native']);
    assert.deepEqual(cpuOnly.asked, ['tensorflow', 'native', 'cpu']);
  });

  it('tries only the requested backend', async () => {
    const p = probe(['tensorflow', 'native', 'cpu']);
    assert.deepEqual(await chooseBackend('cpu', p.fn), { name: 'cpu', skipped: [] });
    assert.deepEqual(p.asked, ['cpu']);
  });

  it('fails when a requested backend is unavailable, naming it and the flag or variable', async () => {
    const p = probe(['cpu']);
    await assert.rejects(chooseBackend('native', p.fn, true), (err: unknown) => err instanceof TracocoError && /--backend/.test(err.message) && /'native' is not available: native missing/.test(err.message));
    await assert.rejects(chooseBackend('tensorflow', p.fn, false), (err: unknown) => err instanceof TracocoError && /TRACOCO_BACKEND/.test(err.message));
    assert.deepEqual(p.asked, ['native', 'tensorflow']);
  });

  it('fails when nothing can be initialised', async () => {
    await assert.rejects(chooseBackend(undefined, probe([]).fn), TracocoError);
  });
});

describe('requestedBackend', () => {
  it('takes the flag over TRACOCO_BACKEND, and neither means automatic', () => {
    assert.equal(requestedBackend('cpu', { TRACOCO_BACKEND: 'native' }), 'cpu');
    assert.equal(requestedBackend(undefined, { TRACOCO_BACKEND: 'native' }), 'native');
    assert.equal(requestedBackend(undefined, {}), undefined);
    assert.equal(requestedBackend('', { TRACOCO_BACKEND: ' ' }), undefined);
    assert.equal(requestedBackend(' Native ', {}), 'native');
  });

  it('rejects unknown names, naming where they came from and the valid ones', () => {
    assert.throws(() => requestedBackend('gpu', {}), (err: unknown) => err instanceof TracocoError && /flag --backend/.test(err.message) && /'gpu'/.test(err.message) && BACKEND_NAMES.every((n) => err.message.includes(n)));
    assert.throws(() => requestedBackend(undefined, { TRACOCO_BACKEND: 'webgl' }), (err: unknown) => err instanceof TracocoError && /TRACOCO_BACKEND/.test(err.message));
  });
});

/** Runs initBackend in a fresh node process (same loader as this test) and returns its JSON or stderr. */
function initInChild(requested: string | undefined, env: Record<string, string | undefined>): { status: number; out: string; err: string } {
  const moduleUrl = new URL('../../src/shared/backend/index.js', import.meta.url).href;
  const script = `import(${JSON.stringify(moduleUrl)}).then(async (b) => {
    try { const info = await b.initBackend(${requested === undefined ? 'undefined' : JSON.stringify(requested)}); process.stdout.write(JSON.stringify(info)); }
    catch (e) { process.stderr.write(e.name + ': ' + e.message); process.exitCode = 3; }
  });`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TRACOCO_BACKEND: undefined, TRACOCO_NATIVE_ADDON: undefined, ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { encoding: 'utf8', env: childEnv, timeout: 120_000 });
  return { status: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('initBackend (child processes)', () => {
  const nativeBuilt = loadNativeAddon().ok;

  it('picks the first available backend automatically and says why tensorflow was skipped', () => {
    const r = initInChild(undefined, {});
    assert.equal(r.status, 0, r.err);
    const info = JSON.parse(r.out);
    assert.equal(info.name, nativeBuilt ? 'native' : 'cpu');
    assert.equal(info.skipped[0].name, 'tensorflow');
    assert.match(info.skipped[0].reason, /tfjs-node/);
    if (nativeBuilt) assert.match(info.detail, /oneDNN/);
  });

  it('honours TRACOCO_BACKEND and lets the flag override it', () => {
    const byEnv = initInChild(undefined, { TRACOCO_BACKEND: 'cpu' });
    assert.equal(byEnv.status, 0, byEnv.err);
    assert.equal(JSON.parse(byEnv.out).name, 'cpu');
    assert.equal(JSON.parse(byEnv.out).threads, null);
    const byFlag = initInChild(nativeBuilt ? 'native' : 'cpu', { TRACOCO_BACKEND: 'tensorflow' });
    assert.equal(byFlag.status, 0, byFlag.err);
    assert.equal(JSON.parse(byFlag.out).name, nativeBuilt ? 'native' : 'cpu');
  });

  it('an explicit native backend whose addon cannot load is a TracocoError; automatic falls back to cpu', () => {
    const env = { TRACOCO_NATIVE_ADDON: '/nonexistent/tracoco_native.node' };
    const explicit = initInChild('native', env);
    assert.equal(explicit.status, 3);
    assert.match(explicit.err, /^TracocoError: flag --backend: backend 'native' is not available: addon not built/);
    const auto = initInChild(undefined, env);
    assert.equal(auto.status, 0, auto.err);
    const info = JSON.parse(auto.out);
    assert.equal(info.name, 'cpu');
    assert.deepEqual(info.skipped.map((s: { name: string }) => s.name), ['tensorflow', 'native']);
  });

  it('an unknown name is a TracocoError naming the flag', () => {
    const r = initInChild('cuda', {});
    assert.equal(r.status, 3);
    assert.match(r.err, /^TracocoError: flag --backend: unknown backend 'cuda'/);
  });
});
