// Compiles the public headers as C++: a build failure here is the test.
#include <crm/crm.h>
#include <crm/sys/backend.h>

int main()
{
    crm_db_options opts = CRM_DB_OPTIONS_INIT;
    crm_lead_filter filter = CRM_LEAD_FILTER_INIT;
    return opts.version == CRM_DB_OPTIONS_VERSION && filter.version == CRM_LEAD_FILTER_VERSION ? 0 : 1;
}
