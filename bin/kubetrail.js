#!/usr/bin/env node
// Entry point of the kubetrail command: runs the compiled CLI.
import { main } from '../dist/src/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`kubetrail: ${err?.stack ?? err}\n`);
    process.exitCode = 2;
  },
);
