/*
 * hvlog/export.h - HVLOG_API marks the functions of libhvlog's public API.
 *
 * libhvlog is built with -fvisibility=hidden: only declarations marked
 * HVLOG_API are exported from libhvlog.so, everything else stays private
 * to the library.  For a program that includes the headers the mark is
 * harmless (it only repeats the default visibility).
 */
#ifndef HVLOG_EXPORT_H
#define HVLOG_EXPORT_H

#if defined(__GNUC__) && __GNUC__ >= 4
#define HVLOG_API __attribute__((visibility("default")))
#else
#define HVLOG_API
#endif

#endif /* HVLOG_EXPORT_H */
