// How DuckDB says that another process holds a file: it refuses to open a file that is open for writing
// elsewhere. Both the store file and a detection state file are opened with this in mind.
export function isLockError(err: unknown): boolean {
  return /lock|Conflicting lock|already open/i.test(String(err));
}
