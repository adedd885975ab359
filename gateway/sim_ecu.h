/* SPDX-License-Identifier: MIT */
/* rsgw sim ecu: the simulated vehicle (can/ecusim.h) on SocketCAN or into a log. */
#ifndef SIM_ECU_H
#define SIM_ECU_H

/* argv[0] is "ecu". Returns the process exit code. */
int sim_ecu_main(int argc, char **argv);

#endif
