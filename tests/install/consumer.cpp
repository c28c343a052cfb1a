// SPDX-License-Identifier: MIT
// consumer.c compiled as C++: the installed header must work from C++ as is.
#include "consumer.c"
