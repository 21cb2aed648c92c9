// Shared helpers of the oracle scripts: argument parsing, SQL quoting, opening DuckDB.
import { DuckDBInstance } from '@duckdb/node-api';

// Parses `--name value`, `--name=value` and bare flags. `spec` maps option names to 'value' or
// 'flag'; anything else that starts with `--` is an error. Positional arguments go to `_`.
export function parseArgs(argv, spec, usage) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(usage);
      process.exit(0);
    }
    if (!arg.startsWith('--') || arg === '--') {
      out._.push(arg);
      continue;
    }
    let value;
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const name = arg.slice(2);
    const kind = spec[name];
    if (!kind) fail(`unknown option ${arg}\n\n${usage}`);
    if (kind === 'flag') {
      if (value !== undefined) fail(`${arg} takes no value`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      value = argv[++i];
    }
    out[name] = value;
  }
  return out;
}

export function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

export function intArg(value, name, fallback) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} expects a positive integer, got '${value}'`);
  return n;
}

// A SQL string literal.
export function sqlString(s) {
  return `'${String(s).replaceAll("'", "''")}'`;
}

// An in-memory DuckDB pinned to `threads` threads, and a connection to it.
export async function openDuckDB(threads) {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const connection = await instance.connect();
  return { instance, connection };
}
