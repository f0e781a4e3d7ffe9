/* libFuzzer target: match configurations, and a batch run over records
 * given as JSON with the default configuration. The first byte chooses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <crm/crm.h>

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    if (data[0] & 1) {
        crm_matcher *m = NULL;
        if (crm_matcher_new(&m, text) == 0) {
            char *json = NULL;
            crm_matcher_config_json(&json, m);
            crm_free(json);
        }
        crm_matcher_free(m);
    } else {
        char *out = NULL;
        crm_dedupe_json(&out, NULL, text);
        crm_free(out);
    }
    free(text);
    return 0;
}
