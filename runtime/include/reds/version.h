/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: the library's version, at compile time (the macros) and at run time
 * (the functions, which say which library a program actually loaded).
 *
 * These three numbers are the only place the version is written: the
 * Makefile reads them from here for the shared library's file name and
 * SONAME (libreds.so.MAJOR), reds.pc and the CMake package.
 */
#ifndef REDS_VERSION_H
#define REDS_VERSION_H

#include <reds/types.h>

#ifdef __cplusplus
extern "C" {
#endif
REDS_API_BEGIN

#define REDS_VERSION_MAJOR 0
#define REDS_VERSION_MINOR 2
#define REDS_VERSION_PATCH 0

#define REDS__STRINGIFY(x)   #x
#define REDS__VERSION_STR(x) REDS__STRINGIFY(x)

/** The version as a string, "MAJOR.MINOR.PATCH". */
#define REDS_VERSION                                                                               \
    REDS__VERSION_STR(REDS_VERSION_MAJOR)                                                          \
    "." REDS__VERSION_STR(REDS_VERSION_MINOR) "." REDS__VERSION_STR(REDS_VERSION_PATCH)

/** The version as one comparable number, MAJOR * 10000 + MINOR * 100 + PATCH:
 *  `#if REDS_VERSION_NUMBER >= 200` for 0.2.0 and later. */
#define REDS_VERSION_NUMBER                                                                        \
    (REDS_VERSION_MAJOR * 10000 + REDS_VERSION_MINOR * 100 + REDS_VERSION_PATCH)

/** The version of the library the program runs with, "MAJOR.MINOR.PATCH"
 *  (REDS_VERSION is the one it was compiled against). A static string. */
const char *reds_version(void);

/** reds_version() as REDS_VERSION_NUMBER writes it. */
int reds_version_number(void);

REDS_API_END
#ifdef __cplusplus
}
#endif
#endif
