#!/bin/busybox sh
# shellcheck shell=dash
# /init of the test VM (tests/vm/run-in-vm.sh): mounts, loads the CAN modules in
# /modules.order, brings up vcan0, runs /tests/* in order, reports and powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
echo 1 >/proc/sys/kernel/printk

setup_ok=1
while read -r m; do
    if ! insmod "/lib/modules/$m"; then
        echo "VM-SETUP: insmod $m failed"
        setup_ok=0
    fi
done </modules.order
if ! { ip link add dev vcan0 type vcan && ip link set up vcan0; }; then
    echo "VM-SETUP: could not create vcan0"
    setup_ok=0
fi
ip link set up lo

passed=0
failed=0
for t in /tests/*; do
    name=${t##*/}
    name=${name#[0-9][0-9]-}
    if [ "$setup_ok" != 1 ]; then
        echo "VM-TEST: $name SKIPPED (setup failed)"
        failed=$((failed + 1))
        continue
    fi
    echo "VM-TEST: $name start"
    "$t"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "VM-TEST: $name PASS"
        passed=$((passed + 1))
    else
        echo "VM-TEST: $name FAIL (exit $rc)"
        failed=$((failed + 1))
    fi
done
echo "VM-RESULT: $passed passed, $failed failed"
poweroff -f
