// Checks the oracle scripts' contracts (value conventions, formats, exit codes, bench output).
// Run: node --test (in tests/oracle, after npm install).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const run = (script, args) => execFileSync('node', [join(here, script), ...args], { encoding: 'utf8' });

test('values follow the documented JSON conventions', () => {
  const rows = JSON.parse(run('duckdb-query.mjs', [
    "select 9007199254740993::bigint b, 2 i, 3.5::decimal(10,2) d, date '2026-11-01' dt, " +
    "timestamp '2026-11-01 10:15:30.5' ts, 1.25::double f, null z, [1,2] l, {'a': 'x'} s, true t",
  ]));
  assert.deepEqual(rows, [{
    b: '9007199254740993', i: 2, d: '3.50', dt: '2026-11-01', ts: '2026-11-01 10:15:30.5',
    f: 1.25, z: null, l: [1, 2], s: { a: 'x' }, t: true,
  }]);
});

test('ndjson and csv formats, scripts with several statements', () => {
  assert.equal(run('duckdb-query.mjs', ["select 1 a, 'x,\"y' s", '--format', 'csv']), 'a,s\n1,"x,""y"\n');
  assert.equal(run('duckdb-query.mjs', ['--format=ndjson', 'select * from range(2) t(a)']),
    '{"a":"0"}\n{"a":"1"}\n');
  const dir = mkdtempSync(join(tmpdir(), 'oracle-'));
  try {
    const file = join(dir, 'q.sql');
    writeFileSync(file, 'create table t(x int); insert into t values (1), (2);\nselect sum(x) s from t;\n');
    assert.deepEqual(JSON.parse(run('duckdb-query.mjs', ['--file', file])), [{ s: '3' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SQL errors exit 1, usage errors exit 2', () => {
  const bad = spawnSync('node', [join(here, 'duckdb-query.mjs'), 'select * from no_such_table']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr.toString(), /no_such_table/);
  const usage = spawnSync('node', [join(here, 'duckdb-query.mjs'), 'select 1', '--format', 'xml']);
  assert.equal(usage.status, 2);
});

test('bench decodes NDJSON and converts CSV to Parquet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oracle-'));
  try {
    const json = join(dir, 'e.ndjson');
    writeFileSync(json, [
      '{"event_id":"a","event_type":"page_view","timestamp":"2026-11-01T00:00:00Z","user_id":1,' +
        '"data":{"action":"view","page":"/","session_id":"s"},"metadata":{"source":"web","version":"1"}}',
      '{"event_id":"b","event_type":"search","timestamp":"2026-11-01T00:00:01Z","user_id":2,' +
        '"data":{"action":"search","page":"/search","session_id":"s"},"metadata":{"source":"ios","version":"1"}}',
    ].join('\n') + '\n');
    const r = JSON.parse(run('duckdb-bench.mjs', ['--json', json, '--repeat', '2']));
    assert.equal(r.rows, 2);
    assert.equal(r.threads, 1);
    assert.equal(r.all_seconds.length, 2);
    assert.ok(r.seconds > 0 && r.seconds === Math.min(...r.all_seconds));

    const csv = join(dir, 'c.csv');
    const parquet = join(dir, 'c.parquet');
    writeFileSync(csv, 'id,name\n1,"Smith, Ann"\n2,Bo\n3,Cy\n');
    const c = JSON.parse(run('duckdb-bench.mjs', ['--csv-to-parquet', csv, '--out', parquet,
      '--csv-options', 'header=true', '--repeat', '1']));
    assert.equal(c.rows, 3);
    assert.ok(c.output_bytes > 0);
    assert.deepEqual(JSON.parse(run('duckdb-query.mjs', [`select name from '${parquet}' where id = 1`])),
      [{ name: 'Smith, Ann' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
