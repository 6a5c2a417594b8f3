# bash completion for hvlog(1)                                -*- shell-script -*-
# shellcheck disable=SC2016  # backquotes in sed patterns are Markdown, not expansions
#
# Installed as share/bash-completion/completions/hvlog; or by hand:
#   source completion/hvlog.bash
#
# Completes commands, each command's options, option values (formats,
# --to and --from, --color, group aliases, event names, the parameter names
# of a --where expression) and file names.  Commands and
# options are read from the hvlog being completed (`hvlog --help`,
# `hvlog COMMAND --help`), groups and events from `hvlog events --format
# markdown`, so the completion follows the program it completes; each
# answer is asked once per shell and program.

declare -gA _hvlog_cache 2>/dev/null || true

# _hvlog_ask BIN KEY ARGS...: BIN's output for ARGS, cached under KEY
_hvlog_ask()
{
    local bin=$1 key=$1:$2
    shift 2
    if [[ -z ${_hvlog_cache[$key]+set} ]]; then
        _hvlog_cache[$key]=$(LC_ALL=C NO_COLOR=1 "$bin" "$@" 2>/dev/null)
    fi
    printf '%s\n' "${_hvlog_cache[$key]}"
}

_hvlog_commands()
{
    {
        _hvlog_ask "$1" help --help |
            sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\).*/\1/p'
        echo schema
    } | sort -u
}

# The long options of COMMAND (with "=" after those taking an argument).
_hvlog_options()
{
    _hvlog_ask "$1" "help-$2" "$2" --help |
        sed -n 's/^ *\(-[^-], \)\{0,1\}\(--[a-z][a-z0-9-]*\)\(\[\{0,1\}=\)\{0,1\}.*/\2\3/p' |
        sed 's/\[=$/=/'
}

# The long option a short one stands for, or $2 itself.
_hvlog_long()
{
    local o
    case $2 in
    --*) echo "$2"; return ;;
    esac
    o=$(_hvlog_ask "$1" "help-$3" "$3" --help |
        sed -n "s/^ *$2, \(--[a-z][a-z0-9-]*\)=.*/\1/p" | head -n 1)
    echo "${o:-$2}"
}

# Whether option $2 of command $3 takes an argument (--opt=ARG in --help).
_hvlog_takes_arg()
{
    _hvlog_ask "$1" "help-$3" "$3" --help | grep -Eq -- "(^| )$2=[A-Z]"
}

_hvlog_groups()
{
    _hvlog_ask "$1" md events --format markdown |
        sed -n 's/^| `\([A-Za-z0-9_]*\)` | [^|`]* | `0x[0-9a-fA-F]*` |$/\1/p'
}

_hvlog_events()
{
    _hvlog_ask "$1" md events --format markdown |
        sed -n 's/^| `0x[0-9A-Fa-f]*` | `\(HV_TR_\)\{0,1\}\([A-Za-z0-9_]*\)` |.*/\2/p'
}

# Parameter keys (for --top and --where).
_hvlog_params()
{
    _hvlog_ask "$1" md events --format markdown |
        sed -n 's/^| `0x[0-9A-Fa-f]*` | .* | \([^|]*\) |$/\1/p' |
        tr ',' '\n' | sed -n 's/^ *\([a-z][a-z0-9_]*\) .*/\1/p' | sort -u
}

# Those of the words $4... that the --help text of option $2 of command
# $3 names: the choices the program itself offers.
_hvlog_choices()
{
    local bin=$1 opt=$2 cmd=$3 help w
    shift 3
    help=$(_hvlog_ask "$bin" "help-$cmd" "$cmd" --help |
        sed -n "/$opt=/,/^ *-/p")
    for w in "$@"; do
        [[ $help == *"$w"* ]] && echo "$w"
    done
}

# Values for option $2 (long form) of command $3.
_hvlog_values()
{
    local bin=$1 opt=$2 cmd=$3
    case $opt in
    --format) _hvlog_choices "$bin" "$opt" "$cmd" text json markdown csv binary ;;
    --to) _hvlog_choices "$bin" "$opt" "$cmd" json csv cbor ctf chrome perfetto ;;
    --from) _hvlog_choices "$bin" "$opt" "$cmd" json cbor ;;
    --color | --colour) printf '%s\n' auto always never ;;
    --time) printf '%s\n' relative absolute ticks delta ;;
    --group | --exclude-group | --groups) _hvlog_groups "$bin" ;;
    --event | --exclude-event | --events) _hvlog_events "$bin" ;;
    --top) _hvlog_params "$bin" ;;
    esac
}

_hvlog()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev='' bin=${COMP_WORDS[0]} cmd='' i opt eqprefix=''
    COMPREPLY=()
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    bin=${bin/#\~/$HOME}
    type -P -- "$bin" > /dev/null 2>&1 || [[ -x $bin ]] || bin=hvlog

    # "--opt=value": bash may split it at "=" (COMP_WORDBREAKS)
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ $cur == --*=* ]]; then # "=" not a word break: answer "--opt=value"
        prev=${cur%%=*}
        cur=${cur#*=}
        eqprefix=$prev=
    fi

    # the command: the first word after the program that is not an option
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} != -* ]]; then
            cmd=${COMP_WORDS[i]}
            break
        fi
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '--help --usage --version' -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$(_hvlog_commands "$bin")" -- "$cur")
        fi
        return 0
    fi

    # the value of an option
    if [[ $prev == -* ]]; then
        opt=$(_hvlog_long "$bin" "$prev" "$cmd")
        # a separate word is the option's only if it takes one; after
        # "=" (an optional argument too) it always is
        if _hvlog_takes_arg "$bin" "$opt" "$cmd" || [[ ${COMP_WORDS[COMP_CWORD - 1]} == = ||
            ${COMP_WORDS[COMP_CWORD]} == = || -n $eqprefix ]]; then
            case $opt in
            --output | --out | --file)
                compopt -o filenames 2> /dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                ;;
            --where)
                # the parameter name being typed, at the end of the expression
                local word=${cur##*[!A-Za-z0-9_]} pre
                pre=${cur%"$word"}
                # (a loop: in a ${a[@]/#/...} replacement, bash 5.2 reads "&")
                local w
                while read -r w; do
                    [[ -n $w ]] && COMPREPLY+=("$pre$w")
                done < <(compgen -W "$(_hvlog_params "$bin")" -- "$word")
                compopt -o nospace 2> /dev/null
                ;;
            *)
                mapfile -t COMPREPLY < <(compgen -W "$(_hvlog_values "$bin" "$opt" "$cmd")" -- "$cur")
                ;;
            esac
            [[ -n $eqprefix ]] && COMPREPLY=("${COMPREPLY[@]/#/$eqprefix}")
            return 0
        fi
    fi

    if [[ $cur == -* ]]; then
        local opts
        opts=$(_hvlog_options "$bin" "$cmd")
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        # no space after "--opt=": its value follows
        [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2> /dev/null
        return 0
    fi

    compopt -o filenames 2> /dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return 0
}

complete -F _hvlog hvlog
