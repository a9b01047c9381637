// Test helper: runs the kubetrail command in process, capturing what it writes and its exit code.
import type { Io } from '../cli/common.js';
import { main } from '../cli/main.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `kubetrail ARGS…` with a non-interactive terminal `width` columns wide. */
export async function runCli(args: readonly string[], width = 200): Promise<CliRun> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), width, interactive: false };
  const code = await main(['node', 'kubetrail', ...args], io);
  return { code, out, err };
}
