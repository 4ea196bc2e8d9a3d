#!/bin/sh
# Rebuilds files/ and SOURCES.tsv from git clones of the source repositories (not run by tests).
# usage: collect.sh DIR   where DIR/<owner>+<name>/repo is a clone (bare or not) of each repository
set -eu
dir=$1
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$here/files" && mkdir -p "$here/files"
printf 'file\trepository\tpath\tcommit\tlicence\n' >"$here/SOURCES.tsv"
take() { # repo licence path-regex [exclude-regex]
    repo=$1 licence=$2 include=$3 exclude=${4:-'^$'}
    git_dir="$dir/$(echo "$repo" | tr / +)/repo"
    commit=$(git -C "$git_dir" rev-parse HEAD)
    git -C "$git_dir" ls-tree -r --name-only HEAD | grep -E "$include" | grep -vE "$exclude" |
        while read -r path; do
            name="$(echo "$repo" | tr / _)__$(echo "$path" | sed 's|/|__|g')"
            git -C "$git_dir" show "HEAD:$path" >"$here/files/$name"
            printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$repo" "$path" "$commit" "$licence" \
                >>"$here/SOURCES.tsv"
        done
}
compose='(^|/)(docker-)?compose[^/]*\.ya?ml$|(^|/)docker-stack\.ya?ml$'
take docker/awesome-compose CC0-1.0 "$compose"
take dockersamples/atsea-sample-shop-app Apache-2.0 "$compose"
take dockersamples/docker-init-demos MIT "$compose"
take dockersamples/example-voting-app Apache-2.0 "$compose"
# Left out below: files that docker compose itself cannot read alone, because they need a file the
# repository does not hold beside them, a variable their tests set, or the base file they are an
# override fragment of.
# compose.yaml reads backend.env, which the repository does not hold
take dockersamples/genai-model-runner-metrics MIT "$compose" '^compose\.yaml$'
# the compose.override.* files are fragments for compose.yaml (${CONTENT_PATH}, its volumes)
take dockersamples/labspace-infra Apache-2.0 "$compose" 'compose\.override\.'
take dockersamples/simspace Apache-2.0 "$compose"
take dockersamples/wordsmith Apache-2.0 "$compose"
# docker compose's own end-to-end fixtures (the files it brings up in its tests), less the
# Helm/Kubernetes outputs, the ones meant to fail, and config_hash (app.env), env_file (tests
# the missing-file error), logs-test/cat (${FILE}), publish/oci (extends.yaml, test.env)
take docker/compose Apache-2.0 '^pkg/e2e/fixtures/.*\.ya?ml$' \
    'expected-(helm|kubernetes)|wrong-composefile|unsupported-platform|build-infinite|config_hash/|env_file/|logs-test/cat|publish/oci/compose(-override)?\.yaml'
