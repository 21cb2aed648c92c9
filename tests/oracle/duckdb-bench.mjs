#!/usr/bin/env node
// Times DuckDB on the workloads Sluice benchmarks itself against (bench/README.md) and prints
// one JSON object: {"seconds": best wall time, "rows": n, ...}.
import { statSync } from 'node:fs';
import { fail, intArg, openDuckDB, parseArgs, sqlString } from './common.mjs';
import duckdb from '@duckdb/node-api';

const USAGE = `Usage:
  node duckdb-bench.mjs --json FILE [--columns JSON | --sql SQL] [--repeat N] [--threads N]
  node duckdb-bench.mjs --csv-to-parquet FILE --out OUT.parquet [--csv-options OPTS] [--repeat N] [--threads N]
  node duckdb-bench.mjs --sql SQL [--repeat N] [--threads N]

--json FILE          decode newline-delimited JSON with read_json(FILE, format='newline_delimited',
                     columns={...}, ignore_errors=true) and aggregate every column so that all of
                     them are really decoded. --columns is a JSON object {"name": "DUCKDB TYPE"};
                     the default is the clickstream schema of sluice-gen.
--sql SQL            time this statement instead; $FILE in it is replaced by the quoted file path.
                     rows = the first column of the first result row when it is a number,
                     else the number of result rows.
--csv-to-parquet F   COPY (FROM read_csv(F, OPTS)) TO OUT (FORMAT parquet, COMPRESSION zstd);
                     --csv-options are extra read_csv arguments, e.g. "header=true, delim=','".
--repeat N           runs (default 3); the best is reported, all are listed.
--threads N          DuckDB threads (default 1).
Prints {"engine","duckdb_version","mode","threads","repeat","seconds","all_seconds","rows",
        "rows_per_second","input_bytes","mb_per_second", ...} on one line.
`;

const CLICKSTREAM_COLUMNS = {
  event_id: 'VARCHAR',
  event_type: 'VARCHAR',
  timestamp: 'TIMESTAMP',
  user_id: 'BIGINT',
  data: 'STRUCT(action VARCHAR, page VARCHAR, session_id VARCHAR)',
  metadata: 'STRUCT(source VARCHAR, version VARCHAR)',
};

const args = parseArgs(
  process.argv.slice(2),
  {
    json: 'value', columns: 'value', sql: 'value', 'csv-to-parquet': 'value', out: 'value',
    'csv-options': 'value', repeat: 'value', threads: 'value',
  },
  USAGE,
);
if (args._.length) fail(`unexpected argument '${args._[0]}'\n\n${USAGE}`);
const repeat = intArg(args.repeat, 'repeat', 3);
const threads = intArg(args.threads, 'threads', 1);

function quoteIdent(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

// An aggregate per column that forces DuckDB to decode it (count(*) alone may skip parsing).
function touchColumns(columns) {
  const exprs = ['count(*) AS rows'];
  for (const [name, type] of Object.entries(columns)) {
    const t = type.trim().toUpperCase();
    if (t.startsWith('STRUCT')) {
      // min() over a struct compares its fields, so every field is decoded.
      exprs.push(`min(${quoteIdent(name)})`);
    } else if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|DOUBLE|FLOAT|DECIMAL)/.test(t)) {
      exprs.push(`sum(${quoteIdent(name)})`);
    } else {
      exprs.push(`max(${quoteIdent(name)})`);
    }
  }
  return exprs.join(', ');
}

function fileSize(path) {
  try {
    return statSync(path).size;
  } catch (e) {
    fail(`cannot read ${path}: ${e.message}`);
  }
}

let mode;
let sql;
let inputBytes = null;
const extra = {};
if (args['csv-to-parquet'] !== undefined) {
  mode = 'csv_to_parquet';
  if (!args.out) fail('--csv-to-parquet needs --out OUT.parquet');
  const input = args['csv-to-parquet'];
  inputBytes = fileSize(input);
  const opts = args['csv-options'] ? `, ${args['csv-options']}` : '';
  sql = `COPY (FROM read_csv(${sqlString(input)}${opts})) TO ${sqlString(args.out)} ` +
        `(FORMAT parquet, COMPRESSION zstd)`;
  extra.output = args.out;
} else if (args.json !== undefined) {
  mode = 'json_decode';
  inputBytes = fileSize(args.json);
  if (args.sql !== undefined) {
    sql = args.sql.replaceAll('$FILE', sqlString(args.json));
  } else {
    let columns = CLICKSTREAM_COLUMNS;
    if (args.columns !== undefined) {
      try {
        columns = JSON.parse(args.columns);
      } catch (e) {
        fail(`--columns is not JSON: ${e.message}`);
      }
    }
    const spec = Object.entries(columns).map(([n, t]) => `${sqlString(n)}: ${sqlString(t)}`).join(', ');
    sql = `SELECT ${touchColumns(columns)} FROM read_json(${sqlString(args.json)}, ` +
          `format='newline_delimited', columns={${spec}}, ignore_errors=true)`;
  }
} else if (args.sql !== undefined) {
  mode = 'sql';
  sql = args.sql;
} else {
  fail(`give --json, --csv-to-parquet or --sql\n\n${USAGE}`);
}

// The row count a statement reports: COPY returns the rows written; an aggregate its first column.
function rowsOf(reader) {
  const rows = reader.getRowsJson();
  if (rows.length === 1 && rows[0].length >= 1) {
    const n = Number(rows[0][0]);
    if (Number.isFinite(n)) return n;
  }
  return rows.length;
}

let connection;
try {
  ({ connection } = await openDuckDB(threads));
  const times = [];
  let rows = 0;
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    const reader = await connection.runAndReadAll(sql);
    const t1 = process.hrtime.bigint();
    times.push(Number(t1 - t0) / 1e9);
    rows = rowsOf(reader);
  }
  const best = Math.min(...times);
  const result = {
    engine: 'duckdb',
    duckdb_version: duckdb.version(),
    mode,
    threads,
    repeat,
    seconds: best,
    all_seconds: times,
    rows,
    rows_per_second: best > 0 ? Math.round(rows / best) : null,
    input_bytes: inputBytes,
    mb_per_second: inputBytes !== null && best > 0 ? +(inputBytes / 1e6 / best).toFixed(1) : null,
    ...extra,
    sql,
  };
  if (mode === 'csv_to_parquet') result.output_bytes = statSync(args.out).size;
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (e) {
  process.stderr.write(`duckdb error: ${e.message}\n`);
  process.exitCode = 1;
} finally {
  connection?.closeSync();
}
