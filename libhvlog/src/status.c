#include "hvlog/hvlog.h"

const char *hvlog_status_str(hvlog_status st)
{
	static const char *const msg[] = {
#define HVLOG_X_(name, num, text) [num] = text,
		HVLOG_STATUS_LIST(HVLOG_X_)
#undef HVLOG_X_
	};
	if ((unsigned)st < sizeof msg / sizeof msg[0] && msg[st])
		return msg[st];
	return "unknown status";
}

const char *hvlog_version(void)
{
	return HVLOG_VERSION_STRING;
}
