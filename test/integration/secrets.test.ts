/**
 * Access control on a NATS server that requires a user and password: a client without
 * credentials, or with a wrong password, cannot publish into the run; a short run whose processes
 * hold the credentials (flags and NATS_* variables) never writes the secret to its logs, its
 * stdout or its /metrics.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect } from 'nats';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { freePort, skipUnlessBinary, tempDir } from '../support/env.js';
import { startCli, startWorker, waitUntil, type CliProcess } from '../support/cluster.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';

const skip = skipUnlessBinary('nats-server');
const PASSWORD = 'pw-7c1e9a4f-never-logged';

describe('credentials and secrets', { skip }, () => {
  const tmp = tempDir('tracoco-secrets-');
  let nats: NatsServer;
  const processes: CliProcess[] = [];
  after(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await nats?.stop();
    tmp.cleanup();
  });

  test('no or wrong credentials cannot connect to publish; a run with them leaks the password nowhere', async () => {
    nats = await startNatsServer({ jetstream: true, user: 'tracoco', password: PASSWORD });
    for (const options of [{}, { user: 'tracoco', pass: 'wrong' }, { user: 'intruder', pass: PASSWORD }]) {
      await assert.rejects(connect({ servers: nats.url, ...options, reconnect: false, timeout: 5000 }), /AUTHORIZATION_VIOLATION|Authorization/i);
    }
    const root = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 5, testCases: 1, shape: [16, 16, 16], seed: 1 })).root;
    const ports = [await freePort(), await freePort()];
    // One worker gets the password as a flag, the other from the environment.
    const viaFlag = startWorker(nats.url, 's-flag', ['--backend', 'cpu', '--nats-user', 'tracoco', '--nats-password', PASSWORD, '--metrics-port', String(ports[0])]);
    const viaEnv = startCli(['worker', '--nats', nats.url, '--id', 's-env', '--heartbeat-ms', '200', '--backend', 'cpu', '--metrics-port', String(ports[1])], {
      NATS_USER: 'tracoco',
      NATS_PASSWORD: PASSWORD,
    });
    processes.push(viaFlag, viaEnv);
    const coordinator = startCli([
      'coordinator', '--config', 'phantom', '--nats', nats.url, '--nats-user', 'tracoco', '--nats-password', PASSWORD, '--data', root,
      '--out', join(tmp.path, 'run'), '--workers', '2', '--max-iterations', '2', '--shutdown-workers',
      '--set', 'data.labeled=2', '--set', 'data.patch=[16,16,16]', '--set', 'model.filters=2', '--set', 'eval.patch=[16,16,16]',
      '--set', 'eval.stride_xy=8', '--set', 'eval.stride_z=8', '--set', 'eval.split=test',
    ]);
    processes.push(coordinator);
    await waitUntil(() => viaFlag.events().some((e) => e.event === 'worker.started') && viaEnv.events().some((e) => e.event === 'worker.started'), 60_000, 'both workers to start');
    const metrics = await Promise.all(ports.map((p) => fetch(`http://127.0.0.1:${p}/metrics`).then((r) => r.text())));
    assert.equal(await coordinator.exited(180_000), 0, coordinator.output().slice(-3000));
    const outputs = [viaFlag.output(), viaEnv.output(), coordinator.output(), ...metrics];
    assert.ok(outputs.every((o) => o.length > 0));
    for (const [i, text] of outputs.entries()) assert.ok(!text.includes(PASSWORD), `output ${i} contains the password`);
    // The authentication kind is logged, without the secret.
    assert.ok(coordinator.events().some((e) => JSON.stringify(e).includes('"user"')), 'the coordinator logs which authentication it uses');
  });
});
