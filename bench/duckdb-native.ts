// The baseline a user would reach for: DuckDB's own JSON reader over the same file, in its own process.
// Usage: node dist/bench/duckdb-native.js load FILE DB   |   node dist/bench/duckdb-native.js query FILE
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, file, db] = process.argv.slice(2);
if (!mode || !file) {
  process.stderr.write('usage: duckdb-native load FILE DB | query FILE\n');
  process.exit(2);
}
const inst = await DuckDBInstance.create(mode === 'load' ? (db ?? ':memory:') : ':memory:', {
  threads: '2',
  memory_limit: '1GB',
});
const c = await inst.connect();
const src = `read_json('${file.replace(/'/g, "''")}', format='newline_delimited', maximum_object_size=67108864)`;
if (mode === 'load') {
  await c.run(`CREATE TABLE t AS SELECT * FROM ${src}`);
  const r = await c.runAndReadAll('SELECT count(*) FROM t');
  process.stdout.write(`${String(r.getRows()[0]![0])}\n`);
} else {
  const r = await c.runAndReadAll(
    `SELECT count(*) FROM ${src} WHERE verb = 'delete' AND objectRef.resource = 'secrets'`,
  );
  process.stdout.write(`${String(r.getRows()[0]![0])}\n`);
}
c.closeSync();
inst.closeSync();
