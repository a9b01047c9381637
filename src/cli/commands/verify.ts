// `kubetrail verify --bundle FILE [--public-key FILE]`: checks an evidence bundle: the manifest's
// signature (against the given public key when there is one) and every member's size and SHA-256.
// Exit status 0 when it verifies, 1 on any finding (each names the member or part at fault), 2 for bad
// usage or a file that is not a bundle.
import type { Command } from 'commander';
import { loadPublicKey } from '../../bundle/keys.js';
import { verifyBundle } from '../../bundle/verify.js';
import { choice, n, processIo, type Io } from '../common.js';
import { safeText } from '../terminal.js';

interface VerifyOpts {
  bundle: string;
  publicKey?: string;
  output: string;
}

export function registerVerifyCommand(program: Command, io: Io = processIo()): void {
  program
    .command('verify')
    .description(
      'check an evidence bundle: signature and member digests; exit 1 on any finding, each naming the member or part at fault',
    )
    .requiredOption('--bundle <file>', 'the bundle written by kubetrail export')
    .option('--public-key <file>', 'the Ed25519 public key (PEM) the bundle must be signed with')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: VerifyOpts) => {
      const format = choice('--output', opts.output, ['table', 'json'] as const);
      const key = opts.publicKey ? loadPublicKey(opts.publicKey) : undefined;
      const r = await verifyBundle(opts.bundle, key);
      if (r.findings.length > 0) io.exitCode = 1;
      if (format === 'json') {
        io.out(
          `${JSON.stringify({ bundle: opts.bundle, ok: r.findings.length === 0, findings: r.findings, notes: r.notes, signer: r.signer ?? null, manifest: r.manifest ?? null })}\n`,
        );
        return;
      }
      for (const f of r.findings) io.out(`FAIL  ${f.part}: ${safeText(f.message)}\n`);
      const m = r.manifest;
      if (r.findings.length === 0 && m) {
        io.out(
          `OK    ${safeText(opts.bundle)}: ${n(m.counts.events)} events, ${n(m.counts.objects)} object histories, ${n(m.counts.alerts)} alerts; every member matches its SHA-256; signed by ${r.signer ?? m.signer.fingerprint}\n`,
        );
        io.out(
          `      asked: ${safeText(m.request.filter)}${m.request.since ? ` since ${m.request.since}` : ''}${m.request.until ? ` until ${m.request.until}` : ''} (kubetrail ${safeText(m.tool.version)}, ${m.created})\n`,
        );
      }
      for (const note of r.notes) io.err(`note: ${safeText(note)}\n`);
    });
}
