#!/usr/bin/env node
// Runs SQL in an in-memory DuckDB and prints the result of the last statement on stdout.
// The reference engine of Sluice's tests: see README.md for the value conventions.
import { readFileSync } from 'node:fs';
import { fail, intArg, openDuckDB, parseArgs } from './common.mjs';

const USAGE = `Usage: node duckdb-query.mjs "SQL" [--format json|ndjson|csv] [--threads N]
       node duckdb-query.mjs --file script.sql [--format ...] [--threads N]

Runs the statement(s) in a fresh in-memory DuckDB and prints the rows of the last one.
  --format json     one JSON array of row objects (default)
  --format ndjson   one JSON object per line
  --format csv      header line + rows (RFC 4180 quoting; NULL is an empty field)
  --threads N       DuckDB worker threads (default 1)
Values: BIGINT, HUGEINT, DECIMAL, DATE, TIME, TIMESTAMP(TZ), UUID -> strings;
        TINYINT..INTEGER, FLOAT, DOUBLE -> numbers (NaN/Infinity -> strings); BOOLEAN -> true/false;
        NULL -> null; LIST -> array; STRUCT -> object; MAP -> [{"key":..,"value":..}].
Exit codes: 0 ok, 1 SQL error (message on stderr), 2 bad usage.
`;

const args = parseArgs(process.argv.slice(2), { format: 'value', file: 'value', threads: 'value' }, USAGE);
let sql;
if (args.file !== undefined) {
  if (args._.length) fail('give either SQL or --file, not both');
  sql = readFileSync(args.file, 'utf8');
} else {
  if (args._.length !== 1) fail(`expected one SQL argument\n\n${USAGE}`);
  sql = args._[0];
}
const format = args.format ?? 'json';
if (!['json', 'ndjson', 'csv'].includes(format)) fail(`unknown --format '${format}'`);
const threads = intArg(args.threads, 'threads', 1);

function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

let connection;
try {
  ({ connection } = await openDuckDB(threads));
  const reader = await connection.runAndReadAll(sql);
  const rows = reader.getRowObjectsJson();
  let out;
  if (format === 'json') {
    out = JSON.stringify(rows) + '\n';
  } else if (format === 'ndjson') {
    out = rows.map((r) => JSON.stringify(r) + '\n').join('');
  } else {
    const names = reader.columnNames();
    out = names.map(csvField).join(',') + '\n';
    for (const r of rows) out += names.map((n) => csvField(r[n])).join(',') + '\n';
  }
  process.stdout.write(out);
} catch (e) {
  process.stderr.write(`duckdb error: ${e.message}\n`);
  process.exitCode = 1;
} finally {
  connection?.closeSync();
}
