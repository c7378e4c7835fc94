# Pins on a bpffs of the suite's own, where the host gives none (sourced).
#
# wfguard pins its maps on a bpffs. A machine without one on /sys/fs/bpf, where
# wfguard may not mount one (it cannot tell whether the mount would outlive it,
# and then refuses: docs/datapath.md, "Pins"), would fail every attach. There
# the suite runs itself again in a private mount namespace with a bpffs of its
# own (WFGUARD_PIN_ROOT, and LIBXDP_BPFFS for libxdp's dispatcher), gone when
# the suite ends. Where /sys/fs/bpf is a bpffs, or WFGUARD_PIN_ROOT is set,
# nothing changes. The C suites do the same with wfgt_private_pins().
#
#   . "$here/lib/private_pins.sh"; private_pins_or_reexec "$0" "$@"

private_pins_or_reexec() {
	if [ -n "${WFG_PRIVATE_PINS:-}" ]; then
		mount -t bpf bpf "$WFG_PRIVATE_PINS" ||
			{ echo "private_pins: FAIL: cannot mount a bpffs on $WFG_PRIVATE_PINS"; exit 1; }
		export WFGUARD_PIN_ROOT=$WFG_PRIVATE_PINS/wfguard LIBXDP_BPFFS=$WFG_PRIVATE_PINS
		return 0
	fi
	[ -z "${WFGUARD_PIN_ROOT:-}" ] || return 0
	[ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ] || return 0
	_pp_dir=$(mktemp -d)
	WFG_PRIVATE_PINS=$_pp_dir unshare -m --propagation private "$@"
	_pp_rc=$?
	rmdir "$_pp_dir" 2>/dev/null
	exit $_pp_rc
}
