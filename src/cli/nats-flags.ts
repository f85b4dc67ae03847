/** The NATS connection flags (`--nats`, `--nats-user`, ...) on a command; parsed by transport/nats-options. */
import type { Command } from 'commander';
import { NATS_SETTINGS, type NatsFlags } from '../transport/nats-options.js';

export type { NatsFlags };

const FLAG_ARGS: Record<keyof NatsFlags, string> = {
  nats: '<url>', natsUser: '<name>', natsPassword: '<password>', natsToken: '<token>', natsNkeySeed: '<file>',
  natsCreds: '<file>', natsTlsCa: '<file>', natsTlsCert: '<file>', natsTlsKey: '<file>',
};

/** Registers the NATS flags on a command (`--nats` itself only when `withUrl`, for commands that declare it themselves). */
export function addNatsFlags(command: Command, options: { withUrl?: boolean } = {}): Command {
  for (const key of Object.keys(NATS_SETTINGS) as (keyof NatsFlags)[]) {
    if (key === 'nats' && !options.withUrl) continue;
    command.option(`${NATS_SETTINGS[key].flag} ${FLAG_ARGS[key]}`, NATS_SETTINGS[key].help);
  }
  return command;
}
