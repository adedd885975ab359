#!/usr/bin/env bash
# Runs statically linked test programs inside Debian's own kernel under qemu, where
# SocketCAN exists (the build machines' kernel has no CAN): the modules can, can-raw,
# can-dev, vcan, can-j1939, can-isotp and slcan are loaded, /dev/pts is mounted and
# vcan0 is up before the first program starts.
#
#   tests/vm/run-in-vm.sh PROGRAM...
#
# Each program runs in order inside the VM with its output on the console; a program
# passes when it exits 0. The VM prints "VM-RESULT: N passed, M failed" and powers off;
# this script exits 0 only when every program passed.
#
# Installs qemu-system-x86, busybox-static and cpio when missing (needs root or sudo).
# The kernel package (the one linux-image-amd64 depends on, ~70 MB) is downloaded once
# into the cache and reused.
#   RSGW_VM_CACHE    cache directory (default: tests/vm/.cache beside this script)
#   RSGW_VM_TIMEOUT  seconds before the VM is killed and the run fails (default 180)
#   RSGW_VM_LOG      also keep the console log in this file
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${RSGW_VM_CACHE:-$here/.cache}
timeout_s=${RSGW_VM_TIMEOUT:-180}
# Dependencies first (can-dev before vcan); then the kernel's own stacks (interop peers
# for our J1939/ISO-TP) and slcan (a device with a real transmit queue, on a pty).
modules=(can can-raw can-dev vcan can-j1939 can-isotp slcan)

unpack_module() { # a module file, decompressed, on stdout
    case $1 in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -qdc "$1" ;;
    *.ko.gz) gzip -dc "$1" ;;
    *) cat "$1" ;;
    esac
}

die() {
    echo "run-in-vm: $*" >&2
    exit 1
}

[ $# -ge 1 ] || die "usage: run-in-vm.sh PROGRAM..."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

install_missing() {
    local missing=() p
    for p in qemu-system-x86 busybox-static cpio; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "run-in-vm: installing ${missing[*]}" >&2
    as_root apt-get update -qq || die "apt-get update failed (root or sudo needed to install ${missing[*]})"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || die "could not install ${missing[*]}"
}

is_static() {
    # A dynamically linked ELF has a program interpreter.
    LC_ALL=C readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter' && return 1
    LC_ALL=C readelf -hW "$1" >/dev/null 2>&1
}

for prog in "$@"; do
    if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then die "$prog: not an executable file"; fi
    is_static "$prog" || die "$prog: not a statically linked ELF program (link it with -static)"
done

install_missing
is_static /bin/busybox || die "/bin/busybox is not the static one (install busybox-static)"

# --- the kernel, once per version --------------------------------------------------------
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # concurrent runs share one download

kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

pkg=$(kernel_pkg)
if [ -z "$pkg" ]; then
    as_root apt-get update -qq >/dev/null 2>&1 || true
    pkg=$(kernel_pkg)
fi
if [ -z "$pkg" ]; then
    # No package lists (offline): fall back to a kernel cached earlier.
    pkg=$(find "$cache" -maxdepth 2 -name .complete -printf '%h\n' 2>/dev/null | sort | tail -1)
    pkg=${pkg##*/}
    [ -n "$pkg" ] || die "cannot resolve linux-image-amd64 (apt-cache depends) and nothing is cached"
    echo "run-in-vm: package lists unavailable, using cached $pkg" >&2
fi

kdir=$cache/$pkg
if [ "$(cat "$kdir/.complete" 2>/dev/null)" != "${modules[*]}" ]; then
    echo "run-in-vm: fetching $pkg into $cache (once)" >&2
    rm -rf "$kdir" "$kdir.tmp" "$cache/dl"
    mkdir -p "$cache/dl"
    # apt-get download runs as the _apt user where it can; a root-owned cache is fine.
    (cd "$cache/dl" && apt-get download "$pkg" >/dev/null 2>&1) ||
        (cd "$cache/dl" && as_root apt-get download "$pkg" >/dev/null) ||
        die "apt-get download $pkg failed"
    deb=$(find "$cache/dl" -name "${pkg}_*.deb" | head -1)
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb"
    mkdir -p "$kdir.tmp"
    dpkg-deb -x "$deb" "$kdir.tmp" || die "dpkg-deb -x $deb failed"
    # Keep only what the VM needs (the whole tree is ~400 MB): the kernel and the CAN
    # modules with their dependencies, flat, in load order. Debian ships no modules.dep
    # (depmod makes it on install), so the order comes from each module's depends=.
    mkdir -p "$kdir/modules"
    cp "$kdir.tmp"/boot/vmlinuz-* "$kdir/" || die "$pkg has no boot/vmlinuz-*"
    declare -A seen=()
    resolve() { # $1: module name (- and _ are the same)
        local name=${1//_/-} path dep
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        path=$(find "$kdir.tmp/lib/modules" \( -name "$name.ko*" -o -name "${name//-/_}.ko*" \) |
            head -1)
        [ -n "$path" ] || die "$pkg has no module $1"
        for dep in $(unpack_module "$path" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
            resolve "$dep"
        done
        unpack_module "$path" >"$kdir/modules/$name.ko"
        echo "$name.ko" >>"$kdir/modules.order"
    }
    : >"$kdir/modules.order"
    for m in "${modules[@]}"; do resolve "$m"; done
    rm -rf "$kdir.tmp" "$cache/dl"
    echo "${modules[*]}" >"$kdir/.complete"
fi
flock -u 9

vmlinuz=$(find "$kdir" -maxdepth 1 -name 'vmlinuz-*' | head -1)
[ -n "$vmlinuz" ] || die "$kdir has no vmlinuz (remove it to fetch again)"

# --- the initramfs -----------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/rsgw-vm.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules,tests}
cp /bin/busybox "$root/bin/busybox"
cp "$kdir"/modules/*.ko "$root/lib/modules/"
cp "$kdir/modules.order" "$root/modules.order"
i=0
for prog in "$@"; do
    i=$((i + 1))
    cp "$prog" "$root/tests/$(printf '%02d' $i)-$(basename "$prog")"
done
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init" "$root"/tests/*
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$work/initrd.gz"

# --- boot --------------------------------------------------------------------------------
log=$work/console.log
start=$(date +%s)
set +e
# No KVM: it is often missing or hangs on these machines; TCG boots in seconds.
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 -m 512 -smp 1 -nographic -no-reboot \
    -nic none -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1" </dev/null 2>&1 |
    tr -d '\r' | sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e
elapsed=$(($(date +%s) - start))
[ -n "${RSGW_VM_LOG:-}" ] && cp "$log" "$RSGW_VM_LOG"

result=$(grep -a -o 'VM-RESULT: [0-9]* passed, [0-9]* failed' "$log" | tail -1 || true)
if [ -z "$result" ]; then
    if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
        die "timed out after ${timeout_s} s without a VM-RESULT line"
    fi
    die "the VM stopped (qemu exit $qemu_rc) without a VM-RESULT line"
fi
passed=$(echo "$result" | awk '{ print $2 }')
failed=$(echo "$result" | awk '{ print $4 }')
echo "run-in-vm: $pkg, $# program(s), ${elapsed} s in the VM: $passed passed, $failed failed" >&2
[ "$failed" -eq 0 ] && [ "$passed" -eq $# ]
