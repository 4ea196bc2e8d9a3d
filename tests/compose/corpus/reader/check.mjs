// Runs `envtest config` on every file of the corpus's manifest and compares the services,
// networks, volumes and secrets it reads with the manifest (derive.mjs). Prints TAP and the
// figure; fails when fewer than 95 % of the valid files are read, or when a read file differs.
// No dependency beyond Node. usage: node check.mjs ENVTEST CORPUS_DIR MANIFEST
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const firstError = (s) => (s || '').split('\n').find((l) => l.includes('error:')) || (s || '').split('\n')[0];
const [envtest, dir, manifestPath] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const names = Object.keys(manifest).filter((n) => !manifest[n].invalid).sort();
let read = 0, same = 0, n = 0;
const refused = [];
console.log(`1..${names.length + 1}`);
for (const name of names) {
  const want = manifest[name];
  const r = spawnSync(envtest, ['-q', '-f', path.join(dir, 'files', name), '-p', 'compatcorpus', 'config'],
    { encoding: 'utf8', env: { ...process.env, COMPOSE_PROFILES: '' } });
  n++;
  if (r.status !== 0) {
    refused.push(`${name}: ${firstError(r.stderr)}`);
    console.log(`ok ${n} - ${name} # TODO refused: ${firstError(r.stderr)}`);
    continue;
  }
  read++;
  const got = JSON.parse(r.stdout);
  const keys = (m) => (m && typeof m === 'object' ? Object.keys(m).sort() : []);
  const have = { services: keys(got.services), networks: keys(got.networks), volumes: keys(got.volumes), secrets: keys(got.secrets) };
  const diff = ['services', 'networks', 'volumes', 'secrets'].filter(
    (k) => JSON.stringify(have[k]) !== JSON.stringify(want[k]));
  if (diff.length === 0) {
    same++;
    console.log(`ok ${n} - ${name}`);
  } else {
    console.log(`not ok ${n} - ${name}`);
    for (const k of diff) console.log(`#   ${k}: envtest ${JSON.stringify(have[k])}, specification ${JSON.stringify(want[k])}`);
  }
}
const pct = (100 * read) / names.length;
n++;
const ok = pct >= 95 && same === read;
console.log(`${ok ? 'ok' : 'not ok'} ${n} - corpus: envtest reads ${read} of ${names.length} files (${pct.toFixed(1)} %), ${same} of them with the same services, networks, volumes and secrets (${Object.keys(manifest).length - names.length} not Compose files by the independent reader)`);
for (const r of refused) console.log(`# refused: ${r}`);
process.exit(ok ? 0 : 1);
