# The VM test: Debian's own kernel under qemu gives the suite a real SocketCAN bus
# (vcan0, can-isotp, can-j1939), which the build machines' kernel lacks. Programs run
# inside the VM's bare initramfs, so they are linked statically, and without the
# sanitizers (their runtimes do not link statically). tests/vm/run-in-vm.sh installs
# qemu-system-x86, busybox-static and cpio when missing and caches the kernel in
# tests/vm/.cache.

# can/ as rsgw_can compiles it, minus -fsanitize: the same sources, its own options.
function(rsgw_vm_unsanitize target)
  foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
    get_target_property(opts ${target} ${prop})
    if(opts)
      list(FILTER opts EXCLUDE REGEX "sanitize")
      set_property(TARGET ${target} PROPERTY ${prop} ${opts})
    endif()
  endforeach()
endfunction()

get_target_property(rsgw_can_vm_sources rsgw_can SOURCES)
add_library(rsgw_can_vm STATIC ${rsgw_can_vm_sources})
target_include_directories(rsgw_can_vm PUBLIC ${CMAKE_SOURCE_DIR}/can)
rsgw_vm_unsanitize(rsgw_can_vm)

add_executable(vm_canbus_test ${CMAKE_CURRENT_LIST_DIR}/vm_canbus_test.c)
target_link_libraries(vm_canbus_test PRIVATE rsgw_can_vm Threads::Threads)
target_link_options(vm_canbus_test PRIVATE -static)
rsgw_vm_unsanitize(vm_canbus_test)

# Our stacks (j1939_tp_rx, isotp_client/link, obdread + ecusim) against the kernel's
# can-j1939 and can-isotp on vcan0; runs in the same VM boot as vm_canbus_test.
add_executable(vm_stack_test ${CMAKE_CURRENT_LIST_DIR}/vm_stack_test.c)
target_link_libraries(vm_stack_test PRIVATE rsgw_can_vm Threads::Threads)
target_link_options(vm_stack_test PRIVATE -static)
rsgw_vm_unsanitize(vm_stack_test)

add_test(NAME vm_socketcan
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/run-in-vm.sh $<TARGET_FILE:vm_canbus_test>
                 $<TARGET_FILE:vm_stack_test>)
# First run downloads the kernel package (~70 MB); later runs reuse the cache.
set_tests_properties(vm_socketcan PROPERTIES LABELS vm TIMEOUT 300 RESOURCE_LOCK rsgw_vm)
