#!/usr/bin/env bash
# A man page from a tool's --help texts (the tool's, then each command's, in the order
# its --help lists them):
#   scripts/gen-man.sh TOOL_BINARY NAME SECTION "one-line description" > NAME.SECTION
# The --help texts are the reference; the page gathers them so `man` finds them.
# EXAMPLES, FILES and the like, which no --help holds, come from
# contrib/man/NAME.SECTION.tail (roff), put before SEE ALSO.
set -euo pipefail
bin=$1 name=$2 sec=$3 desc=$4
mapfile -t cmds < <("$bin" --help 2>&1 | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | grep -vx help)
when=$(git log -1 --format=%cs 2>/dev/null || true)
esc() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }
echo ".TH ${name^^} $sec \"$when\" \"wfguard\" \"wfguard manual\""
echo ".SH NAME"
echo "$name \\- $desc"
echo ".SH SYNOPSIS"
echo ".nf"
"$bin" --help 2>&1 | esc
echo ".fi"
for c in "${cmds[@]}"; do
	echo ".SH \"$name ${c^^}\""
	echo ".nf"
	"$bin" $c --help 2>&1 | esc
	echo ".fi"
done
tail=$(dirname "$0")/../contrib/man/$name.$sec.tail
if [ -e "$tail" ]; then
	cat "$tail"
fi
echo ".SH SEE ALSO"
echo "The documents under /usr/share/doc/wfguard (docs/ in the source tree)."
