// The same application as C++17: main.c, compiled as C++.
#include "main.c"
