/* libFuzzer target: every cleaner, and lead documents, on arbitrary bytes.
 * The first byte picks the cleaner. Nothing may crash, leak or read out of
 * bounds; a cleaner either fails with CRM_EINVALID or fills its result. */
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
    static const char *const kinds[] = {"phone", "name", "email", "region", "id_card", "vin"};
    char *out = NULL;
    if (data[0] < 6 * 40) {
        crm_clean_json(&out, kinds[data[0] % 6], text);
    } else {
        crm_clean_lead_json(&out, text);
    }
    crm_free(out);
    free(text);
    return 0;
}
