/* sockshim: the start of a record file (raw_file.h). */
#include "raw_file.h"

#include <string.h>

#include "call_record.h"

struct ss_raw_start_frame ss_raw_start_frame(void)
{
    struct ss_raw_start_frame f;
    memset(&f, 0, sizeof f);
    f.frame = ss_raw_frame_of(SS_RAW_START, 0, sizeof f.start);
    memcpy(f.start.name, SS_RAW_NAME, sizeof SS_RAW_NAME - 1);
    f.start.byte_order = SS_RAW_BYTE_ORDER;
    f.start.version = SS_RAW_VERSION;
    f.start.callrec_version = SS_CALLREC_VERSION;
    f.start.call_size = (uint32_t)sizeof(struct ss_call);
    size_t n = strlen(SOCKSHIM_VERSION);
    memcpy(f.start.sockshim, SOCKSHIM_VERSION,
           n < sizeof f.start.sockshim - 1 ? n : sizeof f.start.sockshim - 1);
    return f;
}
