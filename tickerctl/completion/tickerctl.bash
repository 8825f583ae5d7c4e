# bash completion for tickerctl(1): commands, their actions, options, and values that are
# fixed lists (data types, scopes). Installed as
# ${CMAKE_INSTALL_DATADIR}/bash-completion/completions/tickerctl.

_tickerctl() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local data_types="market_data news fundamentals analytics insider_data"
    local global="--url --token --api-key --json --timeout --cacert --insecure --help --version"

    case $prev in
        --cacert) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --data-types) COMPREPLY=($(compgen -W "$data_types" -- "$cur")); return ;;
        --scopes) COMPREPLY=($(compgen -W "read publish admin" -- "$cur")); return ;;
        --url|--token|--api-key|--timeout|--count|--ttl|--channels) return ;;
    esac

    # The command's words so far, options and their values left out.
    local words=() i word
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            --url|--token|--api-key|--timeout|--cacert|--data-types|--count|--scopes|--ttl|--channels)
                ((i++)) ;;
            -*) ;;
            *) words+=("$word") ;;
        esac
    done

    local options=$global
    case "${words[0]}:${words[1]}" in
        instruments:add) options+=" --data-types --disabled" ;;
        tail:*) options+=" --count" ;;
        token:*) options+=" --scopes --ttl --channels" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
        return
    fi

    case ${#words[@]} in
        0) COMPREPLY=($(compgen -W "status workers instruments cadences vendors tail publish token help" -- "$cur")) ;;
        1) case ${words[0]} in
               workers) COMPREPLY=($(compgen -W "ls start stop start-all stop-all" -- "$cur")) ;;
               instruments) COMPREPLY=($(compgen -W "ls add rm" -- "$cur")) ;;
               cadences) COMPREPLY=($(compgen -W "ls set" -- "$cur")) ;;
               vendors) COMPREPLY=($(compgen -W "ls reload" -- "$cur")) ;;
               help) COMPREPLY=($(compgen -W "status workers instruments cadences vendors tail publish token" -- "$cur")) ;;
           esac ;;
        2) case "${words[0]}:${words[1]}" in
               workers:start|workers:stop)
                   COMPREPLY=($(compgen -W "$(printf 'worker_%s ' $data_types)" -- "$cur")) ;;
               cadences:set) COMPREPLY=($(compgen -W "$data_types" -- "$cur")) ;;
           esac ;;
    esac
}
complete -F _tickerctl tickerctl
