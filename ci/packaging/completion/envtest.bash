# bash completion for envtest. Commands and options as `envtest --help` and
# `envtest COMMAND --help` list them (tests/man_check.sh checks that they agree).
# shellcheck disable=SC2207 # COMPREPLY from compgen word lists, as bash-completion does
_envtest()
{
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    }
    local commands="bundle config down env exec fixture gc keep logs ls report run snapshot status trends up version"
    local global="-f --file -p --project-name -H --host --real --profile -v --verbose -q --quiet -h --help --version"
    case $prev in
    -f | --file | --report-dir | -o | --output | --history)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    --format)
        COMPREPLY=($(compgen -W "sh dotenv json github md junit html" -- "$cur"))
        return
        ;;
    --rmi)
        COMPREPLY=($(compgen -W "local" -- "$cur"))
        return
        ;;
    -p | --project-name | -H | --host | --tail | --timeout | --retries | --shard | -j | --jobs | \
        --wait-timeout | -t | --tag | -n | --runs | --days | --mysql | --service | -e | --env)
        return
        ;;
    esac
    local cmd="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        -f | --file | -p | --project-name | -H | --host | --real | --profile) ((i++)) ;;
        -*) ;;
        *)
            cmd=${words[i]}
            break
            ;;
        esac
    done
    local opts
    case $cmd in
    "") opts="$commands $global" ;;
    up) opts="--wait-timeout --keep --no-fixtures --no-snapshot --pod --session --from" ;;
    down) opts="-v --volumes --rmi" ;;
    status) opts="--json" ;;
    env) opts="--format" ;;
    exec) opts="-e --env" ;;
    logs) opts="--tail -f --follow --timestamps" ;;
    config) opts="--services -q --quiet --show-secrets" ;;
    run) opts="-s --suite -j --jobs --timeout --retries --fail-fast --shard -t --tag --keep-on-failure --report-dir --no-env --no-snapshot --pod --history --fail-on-alert --from --failed --bundle-on-failure --" ;;
    report) opts="merge history --format -o --output -n --runs" ;;
    fixture) opts="load verify pack inspect --mysql --service -o --output --json" ;;
    trends) opts="--days --json --history" ;;
    ls) opts="--json" ;;
    keep) opts="--release" ;;
    gc) opts="--images" ;;
    snapshot) opts="ls rm prune --json --older-than --all" ;;
    bundle) opts="create -o --output --run --no-run --without-base-images" ;;
    esac
    [ -n "$cmd" ] && opts="$opts -h --help -f --file -p --project-name -H --host --real --profile"
    if [ "$cmd" = fixture ] || [ "$cmd" = report ] || [ "$cmd" = snapshot ] || [[ $cur == -* ]] || [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$opts" -f -- "$cur"))
    fi
}
complete -F _envtest envtest
