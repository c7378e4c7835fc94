# bash completion for wfguard(8). Installed as
# $(PREFIX)/share/bash-completion/completions/wfguard; or `source` it.
# The commands and options mirror the --help texts (user/wfguard.c's command
# table); tests/net/test_cli.c checks that every option a --help names
# completes here.

_wfguard_ifaces()
{
	local d

	for d in /sys/class/net/*; do
		[[ -e $d ]] && printf '%s\n' "${d##*/}"
	done
}

_wfguard()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd="" nargs=0 i opts words

	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${COMP_WORDS[i]}
			else
				((nargs++))
			fi
			;;
		esac
	done
	if [[ -z $cmd ]]; then
		words="attach detach status stats flows policy run capture keys doctor version"
		[[ $cur == -* ]] && words="--help --version -v"
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		return
	fi

	# the values of options that take one
	case $prev in
	--policy | -p | --keys | -k | --textfile)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--output | -o)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	--xdp-mode | -x)
		mapfile -t COMPREPLY < <(compgen -W "native skb" -- "$cur")
		return
		;;
	--role | -r)
		mapfile -t COMPREPLY < <(compgen -W "client server" -- "$cur")
		return
		;;
	--duration | -d | --flows | -f | --max-packets | -m | --interval)
		return
		;;
	esac

	case $cmd in
	attach) opts="--policy --xdp-mode --xdp-exclusive --keys --ephemeral-key --pool-max" ;;
	status | flows) opts="--json" ;;
	stats) opts="--json --prometheus --watch" ;;
	policy) opts="--json --force" ;;
	keys) opts="--keys --json" ;;
	run) opts="--policy --textfile --interval" ;;
	doctor) opts="--policy --keys --json" ;;
	capture) opts="--output --duration --flows --max-packets --role" ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts --help" -- "$cur")
		return
	fi

	# operands
	case $cmd in
	attach | detach | stats | flows | run | capture | status | doctor)
		((nargs == 0)) && mapfile -t COMPREPLY < <(compgen -W "$(_wfguard_ifaces)" -- "$cur")
		;;
	policy)
		if ((nargs == 0)); then
			mapfile -t COMPREPLY < <(compgen -W "check apply" -- "$cur")
		elif [[ ${COMP_WORDS[*]} == *" apply "* ]] && ((nargs == 1)); then
			mapfile -t COMPREPLY < <(compgen -W "$(_wfguard_ifaces)" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi
		;;
	keys)
		if ((nargs == 0)); then
			mapfile -t COMPREPLY < <(compgen -W "generate show rotate switch retire" -- "$cur")
		elif [[ ${COMP_WORDS[*]} == *" generate "* ]]; then
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		elif ((nargs == 1)); then
			mapfile -t COMPREPLY < <(compgen -W "$(_wfguard_ifaces)" -- "$cur")
		fi
		;;
	esac
}

complete -F _wfguard wfguard
