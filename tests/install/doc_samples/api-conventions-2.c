/* Extracted from docs/api-conventions.md (code block 2) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
#include <stdio.h>
#include "aoai.h"

/* Returns 0 when the loaded library can serve a program compiled against this header. */
int check_aoai_version(void) {
    uint32_t runtime = aoai_version_number();
    if ((runtime >> 16) != AOAI_VERSION_MAJOR || runtime < (uint32_t)AOAI_VERSION_NUMBER) {
        fprintf(stderr, "aoai %s is loaded, but this program needs %s or a later %d.x\n", aoai_version(),
                AOAI_VERSION_STRING, (int)AOAI_VERSION_MAJOR);
        return -1;
    }
    return 0;
}
