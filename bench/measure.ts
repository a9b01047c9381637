// Runs a command as a child process and measures its wall time and peak memory (VmHWM from /proc).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Measured {
  seconds: number;
  peakRssMb: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

function peakOf(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `cmd args`, optionally through a shell (for redirections); polls peak RSS every 50 ms. */
export function measure(
  cmd: string,
  args: string[],
  opts: { shell?: boolean; cwd?: string } = {},
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      shell: opts.shell ?? false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peak: number | undefined;
    child.stdout?.on('data', (c: Buffer) => {
      if (stdout.length < 1 << 20) stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 1 << 20) stderr += c.toString();
    });
    const timer = setInterval(() => {
      if (child.pid === undefined) return;
      const p = peakOf(child.pid);
      if (p !== undefined) peak = Math.max(peak ?? 0, p);
    }, 50);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ seconds: (performance.now() - started) / 1000, peakRssMb: peak, code, stdout, stderr });
    });
  });
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
