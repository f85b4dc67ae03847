#!/usr/bin/env node
// Builds the optional oneDNN addon (`npm install` runs this). Without the oneDNN headers and
// library, or when the compiler fails, it prints one warning line and exits 0: tracoco then uses
// the JavaScript backends. The full compiler output goes to native/build/build.log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, realpathSync } from 'node:fs';
import { dirname, join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = dirname(fileURLToPath(import.meta.url));
const buildDir = join(nativeDir, 'build');
const logFile = join(buildDir, 'build.log');

const INCLUDE_DIRS = ['/usr/include', '/usr/local/include', ...splitEnv('CPATH'), ...splitEnv('CPLUS_INCLUDE_PATH')];
const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
  ...splitEnv('LIBRARY_PATH'),
];

function splitEnv(name) {
  return (process.env[name] ?? '').split(delimiter).filter(Boolean);
}

function warn(reason) {
  process.stderr.write(`tracoco: native oneDNN kernels not built (${reason}); using the JavaScript backend\n`);
  process.exit(0);
}

/** The node-gyp to run: npm's own (npm passes it) or the one bundled beside npm; never a download. */
function nodeGypCommand() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const npmCli = process.env.npm_execpath ?? whichNpm();
  if (npmCli) {
    const bundled = join(dirname(realpathSync(npmCli)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(bundled)) return [process.execPath, bundled];
  }
  return null;
}

function whichNpm() {
  const r = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  return path && existsSync(path) ? path : null;
}

/**
 * Node's headers: npm's `nodedir` when configured, else the headers installed beside this node
 * (distribution packages ship them), so node-gyp never needs to download them.
 */
function nodeDir() {
  const configured = process.env.npm_config_nodedir ?? npmConfig('nodedir');
  if (configured && existsSync(join(configured, 'include', 'node', 'node_api.h'))) return configured;
  const beside = join(dirname(process.execPath), '..');
  if (existsSync(join(beside, 'include', 'node', 'node_api.h'))) return realpathSync(beside);
  return null;
}

function npmConfig(key) {
  const r = spawnSync('npm', ['config', 'get', key], { encoding: 'utf8', timeout: 30_000 });
  const value = r.status === 0 ? r.stdout.trim() : '';
  return value && value !== 'undefined' && value !== 'null' ? value : null;
}

const header = INCLUDE_DIRS.find((d) => existsSync(join(d, 'oneapi', 'dnnl', 'dnnl.hpp')));
if (!header) warn('oneDNN headers oneapi/dnnl/dnnl.hpp not found; install libdnnl-dev');
const library = LIB_DIRS.find((d) => existsSync(join(d, 'libdnnl.so')));
if (!library) warn('oneDNN library libdnnl.so not found; install libdnnl-dev');

const gyp = nodeGypCommand();
if (!gyp) warn('node-gyp not found beside npm (it is bundled with npm; tracoco does not download it)');
const [cmd, ...baseArgs] = gyp;
const args = [...baseArgs, 'rebuild', '--release', '--jobs', 'max'];
const dir = nodeDir();
if (dir) args.push(`--nodedir=${dir}`);

mkdirSync(buildDir, { recursive: true });
const result = spawnSync(cmd, args, { cwd: nativeDir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
mkdirSync(buildDir, { recursive: true }); // node-gyp rebuild removes build/ first
writeFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}${result.error ?? ''}\n`);
const addon = join(buildDir, 'Release', 'tracoco_native.node');
if (result.status !== 0 || !existsSync(addon)) {
  warn(`build failed with exit code ${result.status ?? result.signal ?? result.error}; see ${logFile}`);
}
process.stderr.write(`tracoco: built native oneDNN kernels: ${addon}\n`);
