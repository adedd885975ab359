/* SPDX-License-Identifier: MIT */
#include <stdio.h>

int main(void)
{
    puts("rsgw");
    return 0;
}
