#!/usr/bin/env node
import { applyProcessDefaults } from './process-env.mjs';
import { main } from '../dist/src/cli/main.js';

applyProcessDefaults();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tracoco: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
