// Derives, for every file of the corpus, the model the Compose specification gives it with no
// profile enabled: the services (those without `profiles`), the networks (the top-level ones, plus
// `default` when an enabled service is attached to no network and has no network_mode), the
// top-level volumes and secrets. Independent of envtest: YAML read by the `yaml` package
// (YAML 1.1 merge keys on). Prints the manifest as JSON (sorted) on stdout.
// usage: node derive.mjs CORPUS_DIR
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const dir = process.argv[2];
const files = fs.readdirSync(path.join(dir, 'files')).sort();
const manifest = {};
for (const name of files) {
  let doc;
  try {
    doc = parse(fs.readFileSync(path.join(dir, 'files', name), 'utf8'), { merge: true, maxAliasCount: -1 });
  } catch (e) {
    manifest[name] = { invalid: `YAML: ${e.message.split('\n')[0]}` };
    continue;
  }
  if (!doc || typeof doc !== 'object' || !doc.services || typeof doc.services !== 'object') {
    manifest[name] = { invalid: 'no services mapping' };
    continue;
  }
  const keys = (m) => (m && typeof m === 'object' ? Object.keys(m).sort() : []);
  const enabled = Object.entries(doc.services).filter(
    ([, s]) => !(s && Array.isArray(s.profiles) && s.profiles.length > 0));
  const networks = new Set(keys(doc.networks));
  for (const [, s] of enabled)
    if (!(s && (s.networks || s.network_mode))) networks.add('default');
  manifest[name] = {
    services: enabled.map(([k]) => k).sort(),
    networks: [...networks].sort(),
    volumes: keys(doc.volumes),
    secrets: keys(doc.secrets),
  };
}
process.stdout.write(JSON.stringify(manifest, null, 1) + '\n');
