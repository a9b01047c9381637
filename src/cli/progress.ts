// A one-line progress display for long operations on a terminal: percent of bytes, events, rate, ETA.
// Redrawn at most ten times a second on stderr; silent when stderr is not a terminal.

export interface ProgressState {
  bytesRead: number;
  totalBytes: number | undefined;
  events: number;
}

function bytes(v: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

export class Progress {
  private last = 0;
  private readonly started = performance.now();
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly write: (text: string) => void,
    private readonly enabled: boolean,
  ) {}

  update(s: ProgressState, force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const evRate = secs > 0 ? s.events / secs : 0;
    const parts = [this.label];
    if (s.totalBytes) {
      const frac = Math.min(1, s.bytesRead / s.totalBytes);
      const width = 24;
      const filled = Math.round(frac * width);
      parts.push(
        `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`,
      );
      parts.push(`${bytes(s.bytesRead)}/${bytes(s.totalBytes)}`);
      if (frac > 0.01 && frac < 1) parts.push(`ETA ${Math.max(0, Math.round(secs / frac - secs))}s`);
    } else {
      parts.push(bytes(s.bytesRead));
    }
    parts.push(`${s.events.toLocaleString('en-US')} events`, `${rate(evRate)} ev/s`);
    this.write(`\r\x1b[2K${parts.join('  ')}`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.write('\r\x1b[2K');
  }
}
