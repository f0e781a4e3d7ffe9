/* The per-thread last error. The only state the library keeps outside a
 * handle, and it is per thread, so handles on different threads never see
 * each other's errors. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

#define CRM_ERROR_MESSAGE_MAX 512

static _Thread_local struct {
    int code;
    char message[CRM_ERROR_MESSAGE_MAX];
    crm_error view;
} last_error;

const crm_error *crm_error_last(void)
{
    last_error.view.code = last_error.code;
    last_error.view.message = last_error.code == CRM_OK && last_error.message[0] == '\0'
                                  ? "no error"
                                  : last_error.message;
    return &last_error.view;
}

void crm_error_clear(void)
{
    last_error.code = CRM_OK;
    last_error.message[0] = '\0';
}

int crm_error_set(int code, const char *fmt, ...)
{
    /* Format into a scratch buffer first: callers may pass the previous
     * message as an argument ("...: %s", crm_error_last()->message). */
    char message[CRM_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(last_error.message, message, sizeof message);
    last_error.code = code;
    return code;
}

int crm__error_nomem(void)
{
    /* No formatting, no allocation: this path must work when memory is gone. */
    last_error.code = CRM_ENOMEM;
    memcpy(last_error.message, "out of memory", sizeof "out of memory");
    return CRM_ENOMEM;
}

const char *crm_error_name(int code)
{
    switch (code) {
    case CRM_OK: return "ok";
    case CRM_ENOTFOUND: return "not found";
    case CRM_EEXISTS: return "exists";
    case CRM_EINVALID: return "invalid input";
    case CRM_ECONFLICT: return "conflict";
    case CRM_EPERM: return "permission denied";
    case CRM_ESTORAGE: return "storage error";
    case CRM_EBUSY: return "busy";
    case CRM_ENOMEM: return "out of memory";
    case CRM_ITEROVER: return "iteration over";
    default: return "unknown error";
    }
}

const char *crm_version(void)
{
    return CRM_VERSION;
}
