/*
 * crmcore — one SWIG interface for the Python and Java bindings.
 *
 * The wrapped surface is the thin C layer in support.h, not the public
 * headers directly: that layer owns the handles (so a closed handle raises
 * instead of crashing, and closing a database ends its live iterators) and
 * keeps one thread-local status that the single %exception below turns into
 * an exception of the right class.
 *
 * Values cross as plain data, never as borrowed C pointers:
 *   - Python receives leads and events as JSON text, which crm/__init__.py
 *     decodes into dicts, and an ingest result as a dict;
 *   - Java receives io.crmcore.Lead, Event and IngestResult objects built in
 *     JNI (see the out typemaps), so no Java object points into C memory
 *     except the three AutoCloseable handles (Crm, LeadIterator,
 *     EventIterator).
 *
 * Language-specific parts are under #if defined(SWIGPYTHON) / SWIGJAVA.
 */

#if defined(SWIGPYTHON)
/* The proxy module is crm.core; the extension it loads is crm._crm
 * (swig -interface _crm). The user-facing API is crm/__init__.py. */
%module(package="crm") core
#elif defined(SWIGJAVA)
/* Package-private module and JNI classes; the public API is Crm,
 * LeadIterator, EventIterator and the hand-written classes next to them. */
%module CrmNative
#else
#error "crm.i: only Python and Java are supported"
#endif

%{
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <crm/crm.h>
#include "support.h"
%}

%include <stdint.i>

/* Nothing is constructed or destroyed except through the %extend below. */
%nodefaultctor;
%nodefaultdtor;

/* Strings the library allocates are freed with crm_free. */
%typemap(newfree) char * "crm_free($1);"

/* ======================================================================== */
/* The one place errors become exceptions.                                   */
/* ======================================================================== */

#if defined(SWIGPYTHON)

%{
/*
 * Raise crm.<Class>Error for a status. The classes live in crm/_errors.py
 * (plain Python, so users can subclass, pickle and document them); the
 * module is imported already by the time anything can fail, so this is a
 * dictionary lookup in sys.modules.
 */
static void crmb_py_raise(int code, const char *msg)
{
    PyObject *mod, *text, *exc;

    mod = PyImport_ImportModule("crm._errors");
    if (mod == NULL)
        return;
    /* "replace": a message quoting bad input must not itself fail to decode */
    text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace");
    exc = text ? PyObject_CallMethod(mod, "_make", "iO", code, text) : NULL;
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    Py_XDECREF(text);
    Py_DECREF(mod);
}
%}

%exception {
    crmb_err_reset();
    $action
    if (crmb_err_code() != 0) {
        crmb_py_raise(crmb_err_code(), crmb_err_message());
        SWIG_fail;
    }
}

#elif defined(SWIGJAVA)

%{
/*
 * Text crosses JNI as UTF-16 (NewString/GetStringChars), converted here,
 * rather than through NewStringUTF/GetStringUTFChars: those speak Java's
 * "modified UTF-8", which encodes characters outside the BMP (emoji, rare
 * CJK ideographs used in names) as surrogate pairs the library would refuse
 * as invalid UTF-8, and would mangle such characters on the way out.
 */

/* UTF-8 -> Java String. Invalid bytes become U+FFFD. NULL -> null. */
static jstring crmb_jstring(JNIEnv *jenv, const char *s)
{
    const unsigned char *p, *end;
    jchar stackbuf[256] = {0}, *buf; /* zeroed: gcc -Wmaybe-uninitialized */
    size_t n, k = 0;
    jstring out;

    if (s == NULL)
        return NULL;
    n = strlen(s);
    /* UTF-16 never needs more units than UTF-8 has bytes */
    buf = n <= sizeof stackbuf / sizeof stackbuf[0] ? stackbuf : (jchar *)calloc(n, sizeof(jchar));
    if (buf == NULL) {
        (*jenv)->ThrowNew(jenv, (*jenv)->FindClass(jenv, "java/lang/OutOfMemoryError"), "crmcore: string");
        return NULL;
    }
    p = (const unsigned char *)s;
    end = p + n;
    while (p < end) {
        unsigned int b = *p, c, min;
        int len, i, ok = 1;
        if (b < 0x80) { buf[k++] = (jchar)b; p++; continue; }
        else if ((b & 0xE0) == 0xC0) { c = b & 0x1F; len = 2; min = 0x80; }
        else if ((b & 0xF0) == 0xE0) { c = b & 0x0F; len = 3; min = 0x800; }
        else if ((b & 0xF8) == 0xF0) { c = b & 0x07; len = 4; min = 0x10000; }
        else { buf[k++] = 0xFFFD; p++; continue; }
        if (end - p < len) { buf[k++] = 0xFFFD; p++; continue; }
        for (i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) { ok = 0; break; }
            c = (c << 6) | (p[i] & 0x3Fu);
        }
        if (!ok || c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
            buf[k++] = 0xFFFD; p++; continue;
        }
        p += len;
        if (c >= 0x10000) {
            c -= 0x10000;
            buf[k++] = (jchar)(0xD800 + (c >> 10));
            buf[k++] = (jchar)(0xDC00 + (c & 0x3FF));
        } else {
            buf[k++] = (jchar)c;
        }
    }
    out = (*jenv)->NewString(jenv, buf, (jsize)k);
    if (buf != stackbuf)
        free(buf);
    return out;
}

/* Java String -> UTF-8, malloc'ed (free with free()). Lone surrogates become
 * U+FFFD. NULL with a Java exception pending on failure. */
static char *crmb_utf8(JNIEnv *jenv, jstring s, size_t *outlen)
{
    jsize n = (*jenv)->GetStringLength(jenv, s), i;
    const jchar *u;
    char *out, *q;

    out = (char *)malloc((size_t)n * 3 + 1);
    if (out == NULL) {
        (*jenv)->ThrowNew(jenv, (*jenv)->FindClass(jenv, "java/lang/OutOfMemoryError"), "crmcore: string");
        return NULL;
    }
    u = (*jenv)->GetStringChars(jenv, s, NULL);
    if (u == NULL) {
        free(out);
        return NULL;
    }
    q = out;
    for (i = 0; i < n; i++) {
        unsigned int c = u[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00u);
            i++;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = 0xFFFD;
        }
        if (c < 0x80) {
            *q++ = (char)c;
        } else if (c < 0x800) {
            *q++ = (char)(0xC0 | (c >> 6));
            *q++ = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            *q++ = (char)(0xE0 | (c >> 12));
            *q++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *q++ = (char)(0x80 | (c & 0x3F));
        } else {
            *q++ = (char)(0xF0 | (c >> 18));
            *q++ = (char)(0x80 | ((c >> 12) & 0x3F));
            *q++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *q++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *q = '\0';
    (*jenv)->ReleaseStringChars(jenv, s, u);
    if (outlen)
        *outlen = (size_t)(q - out);
    return out;
}

/* Throw io.crmcore.<Kind>Exception(message) for a status. */
static void crmb_java_throw(JNIEnv *jenv, int code, const char *msg)
{
    const char *cls;
    jclass k;
    jmethodID ctor;
    jstring text;
    jobject exc = NULL;
    int with_code = 0;

    switch (code) {
    case CRM_ENOTFOUND: cls = "io/crmcore/NotFoundException"; break;
    case CRM_EEXISTS:   cls = "io/crmcore/ExistsException"; break;
    case CRM_EINVALID:  cls = "io/crmcore/InvalidInputException"; break;
    case CRM_ECONFLICT: cls = "io/crmcore/ConflictException"; break;
    case CRM_EPERM:     cls = "io/crmcore/PermissionDeniedException"; break;
    case CRM_ESTORAGE:  cls = "io/crmcore/StorageException"; break;
    case CRM_EBUSY:     cls = "io/crmcore/BusyException"; break;
    case CRM_ENOMEM:    cls = "io/crmcore/OutOfMemoryException"; break;
    default:            cls = "io/crmcore/CrmException"; with_code = 1; break;
    }
    if ((*jenv)->ExceptionCheck(jenv))
        return; /* a conversion already threw */
    k = (*jenv)->FindClass(jenv, cls);
    if (k == NULL)
        return; /* NoClassDefFoundError is pending */
    text = crmb_jstring(jenv, msg);
    if (text == NULL)
        return;
    if (with_code) {
        ctor = (*jenv)->GetMethodID(jenv, k, "<init>", "(ILjava/lang/String;)V");
        if (ctor)
            exc = (*jenv)->NewObject(jenv, k, ctor, (jint)code, text);
    } else {
        ctor = (*jenv)->GetMethodID(jenv, k, "<init>", "(Ljava/lang/String;)V");
        if (ctor)
            exc = (*jenv)->NewObject(jenv, k, ctor, text);
    }
    if (exc != NULL)
        (*jenv)->Throw(jenv, (jthrowable)exc);
    (*jenv)->DeleteLocalRef(jenv, text);
    (*jenv)->DeleteLocalRef(jenv, k);
}

/* new io.crmcore.Lead(String[] text, int timeline, int testDrive, int status,
 *                     int score, long createdAt, long updatedAt) */
static jobject crmb_java_lead(JNIEnv *jenv, const crm_lead *l)
{
    const char *text[18];
    jclass k, str;
    jmethodID ctor;
    jobjectArray arr;
    jobject out = NULL;
    jsize i;

    if (l == NULL)
        return NULL;
    /* the order is Lead's constructor's */
    text[0] = l->id;             text[1] = l->channel;
    text[2] = l->campaign;       text[3] = l->name;
    text[4] = l->phone;          text[5] = l->email;
    text[6] = l->wechat_openid;  text[7] = l->wechat_unionid;
    text[8] = l->province;       text[9] = l->city;
    text[10] = l->dealer_id;     text[11] = l->owner_id;
    text[12] = l->model;         text[13] = l->grade;
    text[14] = l->customer_id;   text[15] = l->attributes;
    text[16] = l->merged_into;   text[17] = crm_lead_quality_name(l->quality);

    k = (*jenv)->FindClass(jenv, "io/crmcore/Lead");
    if (k == NULL)
        return NULL;
    ctor = (*jenv)->GetMethodID(jenv, k, "<init>", "([Ljava/lang/String;IIIIJJ)V");
    str = (*jenv)->FindClass(jenv, "java/lang/String");
    if (ctor == NULL || str == NULL)
        return NULL;
    arr = (*jenv)->NewObjectArray(jenv, 18, str, NULL);
    if (arr == NULL)
        return NULL;
    for (i = 0; i < 18; i++) {
        jstring s = crmb_jstring(jenv, text[i]);
        if (s == NULL && text[i] != NULL)
            return NULL;
        (*jenv)->SetObjectArrayElement(jenv, arr, i, s);
        if (s)
            (*jenv)->DeleteLocalRef(jenv, s);
    }
    out = (*jenv)->NewObject(jenv, k, ctor, arr, (jint)l->purchase_timeline,
                             (jint)l->test_drive, (jint)l->status, (jint)l->score,
                             (jlong)l->created_at, (jlong)l->updated_at);
    (*jenv)->DeleteLocalRef(jenv, arr);
    (*jenv)->DeleteLocalRef(jenv, str);
    (*jenv)->DeleteLocalRef(jenv, k);
    return out;
}

/* new io.crmcore.Event(String[] text, long at) */
static jobject crmb_java_event(JNIEnv *jenv, const crm_event *e)
{
    const char *text[7];
    jclass k, str;
    jmethodID ctor;
    jobjectArray arr;
    jobject out;
    jsize i;

    if (e == NULL)
        return NULL;
    text[0] = e->id;        text[1] = e->kind;
    text[2] = e->entity_type; text[3] = e->entity_id;
    text[4] = e->dealer_id; text[5] = e->actor;
    text[6] = e->data;
    k = (*jenv)->FindClass(jenv, "io/crmcore/Event");
    if (k == NULL)
        return NULL;
    ctor = (*jenv)->GetMethodID(jenv, k, "<init>", "([Ljava/lang/String;J)V");
    str = (*jenv)->FindClass(jenv, "java/lang/String");
    if (ctor == NULL || str == NULL)
        return NULL;
    arr = (*jenv)->NewObjectArray(jenv, 7, str, NULL);
    if (arr == NULL)
        return NULL;
    for (i = 0; i < 7; i++) {
        jstring s = crmb_jstring(jenv, text[i]);
        if (s == NULL && text[i] != NULL)
            return NULL;
        (*jenv)->SetObjectArrayElement(jenv, arr, i, s);
        if (s)
            (*jenv)->DeleteLocalRef(jenv, s);
    }
    out = (*jenv)->NewObject(jenv, k, ctor, arr, (jlong)e->at);
    (*jenv)->DeleteLocalRef(jenv, arr);
    (*jenv)->DeleteLocalRef(jenv, str);
    (*jenv)->DeleteLocalRef(jenv, k);
    return out;
}

/* new io.crmcore.IngestResult(int outcome, String id, String duplicateOf, String reason,
 *                            int score, String grade, String quality) */
static jobject crmb_java_ingest_result(JNIEnv *jenv, const crm_ingest_result *r)
{
    jclass k;
    jmethodID ctor;
    jstring id, dup = NULL, reason, grade = NULL, quality;
    jobject out;

    if (r == NULL)
        return NULL;
    k = (*jenv)->FindClass(jenv, "io/crmcore/IngestResult");
    if (k == NULL)
        return NULL;
    ctor = (*jenv)->GetMethodID(jenv, k, "<init>",
                                "(ILjava/lang/String;Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;"
                                "Ljava/lang/String;)V");
    if (ctor == NULL)
        return NULL;
    id = crmb_jstring(jenv, r->id);
    if (id == NULL)
        return NULL;
    if (r->duplicate_of[0] && (dup = crmb_jstring(jenv, r->duplicate_of)) == NULL)
        return NULL;
    reason = crmb_jstring(jenv, r->reason);
    if (reason == NULL)
        return NULL;
    if (r->grade[0] && (grade = crmb_jstring(jenv, r->grade)) == NULL)
        return NULL;
    quality = crmb_jstring(jenv, crm_lead_quality_name(r->quality));
    if (quality == NULL)
        return NULL;
    out = (*jenv)->NewObject(jenv, k, ctor,
                             (jint)r->outcome,
                             id, dup, reason, (jint)r->score, grade, quality);
    (*jenv)->DeleteLocalRef(jenv, k);
    return out;
}
%}

%exception {
    crmb_err_reset();
    $action
    if (crmb_err_code() != 0) {
        crmb_java_throw(jenv, crmb_err_code(), crmb_err_message());
        return $null;
    }
}

#endif

/* ======================================================================== */
/* Language-specific typemaps.                                               */
/* ======================================================================== */

#if defined(SWIGPYTHON)

/* A document: str (encoded as UTF-8) or bytes (passed through, so invalid
 * UTF-8 reaches the library and comes back as InvalidInputError). */
%typemap(in) (const char *json, size_t len) (Py_ssize_t n = 0) {
    if (PyBytes_Check($input)) {
        char *p = NULL;
        if (PyBytes_AsStringAndSize($input, &p, &n) < 0)
            SWIG_fail;
        $1 = p;
    } else if (PyUnicode_Check($input)) {
        const char *p = PyUnicode_AsUTF8AndSize($input, &n);
        if (p == NULL)
            SWIG_fail;
        $1 = p;
    } else {
        PyErr_Format(PyExc_TypeError, "a lead must be a dict, str or bytes, not %.100s",
                     Py_TYPE($input)->tp_name);
        SWIG_fail;
    }
    $2 = (size_t)n;
}

/* An ingest result becomes a dict. */
%typemap(out) const crm_ingest_result * {
    if ($1 == NULL) {
        $result = SWIG_Py_Void();
    } else {
        const char *quality = crm_lead_quality_name($1->quality);
        $result = Py_BuildValue("{s:s,s:s,s:N,s:s,s:N,s:N,s:s}",
            "outcome", $1->outcome == CRM_INGEST_DUPLICATE ? "duplicate"
                       : $1->outcome == CRM_INGEST_REVIEW ? "review" : "created",
            "id", $1->id,
            "duplicate_of", $1->duplicate_of[0] ? PyUnicode_FromString($1->duplicate_of) : SWIG_Py_Void(),
            "reason", $1->reason,
            "score", $1->score >= 0 ? PyLong_FromLong($1->score) : SWIG_Py_Void(),
            "grade", $1->grade[0] ? PyUnicode_FromString($1->grade) : SWIG_Py_Void(),
            "quality", quality ? quality : "unknown");
        if ($result == NULL)
            SWIG_fail;
    }
}

#elif defined(SWIGJAVA)

/* Strings, both ways, through UTF-16 (see crmb_jstring). */
%typemap(in, noblock=1) char * {
    $1 = 0;
    if ($input) {
        $1 = ($1_ltype)crmb_utf8(jenv, $input, NULL);
        if (!$1) return $null;
    }
}
%typemap(freearg, noblock=1) char * { free((char *)$1); }
%typemap(out, noblock=1) char * { $result = crmb_jstring(jenv, (const char *)$1); }

/* A document is a String. */
%typemap(jni) (const char *json, size_t len) "jstring"
%typemap(jtype) (const char *json, size_t len) "String"
%typemap(jstype) (const char *json, size_t len) "String"
%typemap(javain) (const char *json, size_t len) "$javainput"
%typemap(in, noblock=1) (const char *json, size_t len) {
    $1 = 0;
    $2 = 0;
    if ($input) {
        $1 = crmb_utf8(jenv, $input, &$2);
        if (!$1) return $null;
    }
}
%typemap(freearg, noblock=1) (const char *json, size_t len) { free((char *)$1); }

/* Plain-data results become Java objects; nothing in Java points into C. */
%define CRMB_JAVA_VALUE(CTYPE, JTYPE, MAKE)
%typemap(jni) const CTYPE * "jobject"
%typemap(jtype) const CTYPE * "JTYPE"
%typemap(jstype) const CTYPE * "JTYPE"
%typemap(javaout) const CTYPE * { return $jnicall; }
%typemap(out, noblock=1) const CTYPE * { $result = MAKE(jenv, $1); }
%enddef
CRMB_JAVA_VALUE(crm_lead, Lead, crmb_java_lead)
CRMB_JAVA_VALUE(crm_event, Event, crmb_java_event)
CRMB_JAVA_VALUE(crm_ingest_result, IngestResult, crmb_java_ingest_result)

/* Handles: AutoCloseable, no finalizers (deprecated for removal), final. */
%define CRMB_JAVA_HANDLE(CTYPE, INTERFACES)
%typemap(javafinalize) struct CTYPE ""
%typemap(javainterfaces) struct CTYPE INTERFACES
%typemap(javaclassmodifiers) struct CTYPE "public final class"
%enddef
CRMB_JAVA_HANDLE(crmb_handle, "AutoCloseable")
CRMB_JAVA_HANDLE(crmb_lead_iter, "java.util.Iterator<Lead>, AutoCloseable")
CRMB_JAVA_HANDLE(crmb_event_iter, "java.util.Iterator<Event>, AutoCloseable")

%pragma(java) moduleclassmodifiers="final class"
%pragma(java) jniclassclassmodifiers="final class"
%pragma(java) jniclasscode=%{
  static {
    /* -Dio.crmcore.jni=/path/to/libcrmjni.so overrides java.library.path */
    String path = System.getProperty("io.crmcore.jni");
    if (path != null && !path.isEmpty())
      System.load(path);
    else
      System.loadLibrary("crmjni");
  }
%}

#endif

/* ======================================================================== */
/* The wrapped types.                                                         */
/* ======================================================================== */

#if defined(SWIGPYTHON)
%rename(Database) crmb_handle;
%rename(LeadCursor) crmb_lead_iter;
%rename(EventCursor) crmb_event_iter;
#elif defined(SWIGJAVA)
%rename(Crm) crmb_handle;
%rename(LeadIterator) crmb_lead_iter;
%rename(EventIterator) crmb_event_iter;
#endif


/* Ownership of what comes back. */
%newobject crmb_handle::get_json;
%newobject crmb_handle::reviews;
%newobject crmb_handle::reviewsJson;
%newobject crmb_handle::merge;
%newobject crmb_handle::merge_get;
%newobject crmb_handle::merges;
%newobject crmb_handle::dedupe_leads;
%newobject crmb_handle::dedupeLeadsJson;
%newobject crmb_handle::mergeJson;
%newobject crmb_handle::getMergeJson;
%newobject crmb_handle::mergesJson;
%newobject crmb_handle::getLeadJson;
%newobject crmb_handle::leads;
%newobject crmb_handle::leadsRaw;
%newobject crmb_handle::events;
%newobject crmb_handle::call;
%newobject crmb_handle::eventsRaw;
%newobject crmb_lead_iter::next_json;
%newobject crmb_event_iter::next_json;
%newobject crmb_handle::model_save;
%newobject crmb_handle::model_load;
%newobject crmb_handle::model_train_leads;
%newobject crmb_handle::lead_score;
%newobject crmb_handle::saveModel;
%newobject crmb_handle::loadModel;
%newobject crmb_handle::trainModel;
%newobject crmb_handle::scoreLead;
%newobject crmb_model_train_rows;
%newobject crmb_handle::stages_json;
%newobject crmb_handle::funnel_json;
%newobject crmb_handle::route_json;
%newobject crmb_handle::routeJson;
%newobject crmb_handle::getFunnelJson;
%newobject crmb_handle::getStagesJson;
%newobject crmb_model_score_values;

#if defined(SWIGPYTHON)

%extend crmb_handle {
    crmb_handle(const char *uri, int busy_timeout_ms, int create) {
        return crmb_db_open(uri, busy_timeout_ms, create);
    }
    ~crmb_handle() { crmb_db_free($self); }
    void close() { crmb_db_close($self); }
    bool is_open() { return crmb_db_is_open($self) != 0; }
    int schema_version() { return crmb_db_schema_version($self); }
    void begin() { crmb_db_begin($self); }
    void commit() { crmb_db_commit($self); }
    void rollback() { crmb_db_rollback($self); }
    int transaction_depth() { return crmb_db_transaction_depth($self); }
    void set_scope(const char *dealer_id) { crmb_db_set_scope($self, dealer_id); }
    const char *scope() { return crmb_db_scope($self); }
    void set_actor(const char *actor) { crmb_db_set_actor($self, actor); }
    void enable_matching(const char *config) { crmb_db_enable_matching($self, config); }
    int64_t index_matching() { return crmb_db_match_index($self); }
    int64_t judge_all() { return crmb_lead_judge_all($self); }
    void disable_matching() { crmb_db_disable_matching($self); }
    void enable_scoring(const char *model_json) { crmb_db_enable_scoring($self, model_json); }
    void disable_scoring() { crmb_db_disable_scoring($self); }
    char *reviews(const char *status, int limit) { return crmb_db_reviews($self, status, limit); }
    void review_decide(const char *id, int accept) { crmb_db_review_decide($self, id, accept); }
    char *merge(const char *survivor_id, const char *other_id, const char *rules) {
        return crmb_db_merge($self, survivor_id, other_id, rules);
    }
    void unmerge(const char *merge_id) { crmb_db_unmerge($self, merge_id); }
    char *merge_get(const char *merge_id) { return crmb_db_merge_get($self, merge_id); }
    char *merges(const char *lead_id, int limit) { return crmb_db_merges($self, lead_id, limit); }
    char *dedupe_leads(const char *config, int apply) { return crmb_db_dedupe_leads($self, config, apply); }
    const char *actor() { return crmb_db_actor($self); }
    void set_time(int64_t unix_ms) { crmb_db_set_time($self, unix_ms); }
    int64_t now() { return crmb_db_now($self); }
    const crm_ingest_result *ingest(const char *json, size_t len) {
        return crmb_db_ingest($self, json, len);
    }
    char *get_json(const char *id) { return crmb_db_get_json($self, id); }
    crmb_lead_iter *leads(unsigned int statuses, const char *dealer_id, const char *channel,
                            int64_t created_from, int64_t created_to, int64_t limit,
                            unsigned int qualities = 0) {
        return crmb_db_leads($self, statuses, dealer_id, channel, created_from, created_to, limit,
                             qualities);
    }
    crmb_event_iter *events(const char *entity_id) { return crmb_db_events($self, entity_id); }
    char *model_save(const char *model_json) { return crmb_model_save($self, model_json); }
    char *model_load(const char *name, int version) { return crmb_model_load($self, name, version); }
    char *model_train_leads(const char *kind, const char *name, double holdout, int64_t seed,
                            double l2, double alpha, int bins, const char *crosses) {
        return crmb_model_train_leads($self, kind, name, holdout, seed, l2, alpha, bins, crosses);
    }
    char *lead_score(const char *model_json, const char *id) { return crmb_lead_score($self, model_json, id); }
    int64_t rescore_all(const char *model_json) { return crmb_lead_rescore_all($self, model_json); }
    void transition(const char *id, const char *to, const char *reason, const char *dealer_id,
                    const char *owner_id) {
        crmb_lead_transition($self, id, to, reason, dealer_id, owner_id);
    }
    char *stages_json(const char *id) { return crmb_lead_stages_json($self, id); }
    char *funnel_json(const char *by, int64_t created_from, int64_t created_to, int tz_offset_minutes) {
        return crmb_funnel_json($self, by, created_from, created_to, tz_offset_minutes);
    }
    char *route_json(const char *rules_json, const char *ids_json) {
        return crmb_route_json($self, rules_json, ids_json);
    }
    int64_t recycle(int64_t follow_up_ms) { return crmb_lead_recycle($self, follow_up_ms); }
    char *call(const char *op, const char *args_json) { return crmb_db_call($self, op, args_json); }
}

%extend crmb_lead_iter {
    ~crmb_lead_iter() { crmb_lead_cursor_free($self); }
    char *next_json() { return crmb_lead_cursor_next_json($self); }
    void close() { crmb_lead_cursor_close($self); }
}

%extend crmb_event_iter {
    ~crmb_event_iter() { crmb_event_cursor_free($self); }
    char *next_json() { return crmb_event_cursor_next_json($self); }
    void close() { crmb_event_cursor_close($self); }
}

%rename(version) crmb_version;
%rename(status_parse) crmb_lead_status_parse;
%rename(status_name) crmb_lead_status_name;
%inline %{
static const char *crmb_version(void) { return crm_version(); }
%}
int crmb_lead_status_parse(const char *name);
const char *crmb_lead_status_name(int status);
%rename(quality_parse) crmb_lead_quality_parse;
%rename(quality_name) crmb_lead_quality_name;
int crmb_lead_quality_parse(const char *name);
const char *crmb_lead_quality_name(int quality);
%rename(train_rows) crmb_model_train_rows;
%rename(score_values) crmb_model_score_values;
char *crmb_model_train_rows(const char *data_json, const char *kind, const char *name, double holdout,
                            int64_t seed, double l2, double alpha, int bins, const char *crosses);
char *crmb_model_score_values(const char *model_json, const char *values_json);
%rename(_fail_for_test) crmb_fail_for_test;
void crmb_fail_for_test(int code, const char *message);
%newobject crmb_clean;
%newobject crmb_clean_lead;
%rename(clean) crmb_clean;
%rename(clean_lead) crmb_clean_lead;
char *crmb_clean(const char *kind, const char *raw);
char *crmb_clean_lead(const char *json);
%newobject crmb_dedupe;
%rename(dedupe) crmb_dedupe;
%rename(match_default_config) crmb_match_default_config;
char *crmb_dedupe(const char *config, const char *records);
const char *crmb_match_default_config(void);
%rename(merge_default_rules) crmb_merge_default_rules;
const char *crmb_merge_default_rules(void);

#elif defined(SWIGJAVA)

/*
 * The library wants one handle used by one thread at a time; Java code may
 * still close a database on one thread while another uses it or one of its
 * iterators. Every native call on a handle therefore holds the Crm object's
 * monitor (delete() is synchronized too, and iterators lock their Crm), so
 * misuse gets an exception for a closed handle, never a use after free.
 */
%javamethodmodifiers crmb_handle::crmb_handle "private";
%javamethodmodifiers crmb_handle::leadsRaw "private synchronized";
%javamethodmodifiers crmb_handle::eventsRaw "private synchronized";
%javamethodmodifiers crmb_handle::getSchemaVersion "public synchronized";
%javamethodmodifiers crmb_handle::begin "public synchronized";
%javamethodmodifiers crmb_handle::commit "public synchronized";
%javamethodmodifiers crmb_handle::rollback "public synchronized";
%javamethodmodifiers crmb_handle::getTransactionDepth "public synchronized";
%javamethodmodifiers crmb_handle::setScope "public synchronized";
%javamethodmodifiers crmb_handle::getScope "public synchronized";
%javamethodmodifiers crmb_handle::setActor "public synchronized";
%javamethodmodifiers crmb_handle::enableMatching "public synchronized";
%javamethodmodifiers crmb_handle::indexMatching "public synchronized";
%javamethodmodifiers crmb_handle::judgeAll "public synchronized";
%javamethodmodifiers crmb_handle::disableMatching "public synchronized";
%javamethodmodifiers crmb_handle::enableScoring "public synchronized";
%javamethodmodifiers crmb_handle::disableScoring "public synchronized";
%javamethodmodifiers crmb_handle::reviewsJson "public synchronized";
%javamethodmodifiers crmb_handle::decideReview "public synchronized";
%javamethodmodifiers crmb_handle::mergeJson "public synchronized";
%javamethodmodifiers crmb_handle::unmerge "public synchronized";
%javamethodmodifiers crmb_handle::getMergeJson "public synchronized";
%javamethodmodifiers crmb_handle::mergesJson "public synchronized";
%javamethodmodifiers crmb_handle::dedupeLeadsJson "public synchronized";
%javamethodmodifiers crmb_handle::getActor "public synchronized";
%javamethodmodifiers crmb_handle::setTime "public synchronized";
%javamethodmodifiers crmb_handle::now "public synchronized";
%javamethodmodifiers crmb_handle::ingest "public synchronized";
%javamethodmodifiers crmb_handle::getLeadJson "public synchronized";
%javamethodmodifiers crmb_handle::getLead "public synchronized";
%javamethodmodifiers crmb_handle::saveModel "public synchronized";
%javamethodmodifiers crmb_handle::loadModel "public synchronized";
%javamethodmodifiers crmb_handle::trainModel "public synchronized";
%javamethodmodifiers crmb_handle::scoreLead "public synchronized";
%javamethodmodifiers crmb_handle::rescoreAll "public synchronized";
%javamethodmodifiers crmb_handle::transition "public synchronized";
%javamethodmodifiers crmb_handle::getStagesJson "public synchronized";
%javamethodmodifiers crmb_handle::getFunnelJson "public synchronized";
%javamethodmodifiers crmb_handle::routeJson "public synchronized";
%javamethodmodifiers crmb_handle::recycleOverdue "public synchronized";
%javamethodmodifiers crmb_handle::call "private synchronized";
%javamethodmodifiers crmb_lead_iter::nextLead "private";
%javamethodmodifiers crmb_event_iter::nextEvent "private";

%typemap(javacode) struct crmb_handle %{
  /**
   * Open (and if needed create and migrate) a database: a file path,
   * "sqlite:PATH" or ":memory:".
   *
   * @throws StorageException, BusyException, InvalidInputException
   */
  public static Crm open(String uri) {
    return new Crm(uri, 5000, 1);
  }

  /**
   * Open a database with options.
   *
   * @param busyTimeoutMs how long to wait for a lock held elsewhere
   * @param create        false: fail with NotFoundException when the file is missing
   */
  public static Crm open(String uri, int busyTimeoutMs, boolean create) {
    return new Crm(uri, busyTimeoutMs, create ? 1 : 0);
  }

  /** Close the database, ending its open iterators. Idempotent. */
  @Override
  public void close() {
    delete();
  }

  /** True once {@link #close()} was called. */
  public synchronized boolean isClosed() {
    return swigCPtr == 0;
  }

  /** Every lead visible in the scope, oldest first. Close the iterator. */
  public LeadIterator leads() {
    return leads(null);
  }

  /** The leads that pass a filter (null: all), oldest first. Close the iterator. */
  public LeadIterator leads(LeadFilter filter) {
    LeadFilter f = filter != null ? filter : new LeadFilter();
    LeadIterator it = leadsRaw(f.statusBits(), f.getDealerId(), f.getChannel(),
                               f.getCreatedFrom(), f.getCreatedTo(), f.getLimit(), f.qualityBits());
    it.lock = this;
    return it;
  }

  /** The audit events of a record, oldest first. Close the iterator. */
  public EventIterator events(String entityId) {
    EventIterator it = eventsRaw(entityId);
    it.lock = this;
    return it;
  }

  /**
   * The events of one kind ("workorder.sla_notify", ...) across work orders,
   * at or after sinceMs, in append order: how a host consumes escalation
   * notifications. Close the iterator.
   */
  public EventIterator workorderEvents(String kind, long sinceMs) {
    EventIterator it = eventsOfKindRaw(kind, sinceMs);
    it.lock = this;
    return it;
  }

  /**
   * Begin a transaction that {@link Transaction#close()} rolls back unless
   * {@link Transaction#commit()} was called:
   * {@code try (Transaction tx = db.transaction()) { ...; tx.commit(); }}
   */
  public Transaction transaction() {
    begin();
    return new Transaction(this);
  }

  /** The library's version. */
  public static String version() {
    return CrmNative.version();
  }

  /** The names of the lead qualities, best first: ["ok", "suspect", "junk"]. */
  public static java.util.List<String> leadQualities() {
    java.util.List<String> names = new java.util.ArrayList<>();
    for (String q; (q = CrmNative.qualityName(names.size())) != null; )
      names.add(q);
    return java.util.Collections.unmodifiableList(names);
  }

  /**
   * Train a model on rows given as JSON: {"columns": [...], "kinds":
   * ["category"|"number", ...], "rows": [[...], ...], "labels": [0|1, ...]}.
   * Returns the model's document. kind "logistic" or "naive_bayes"; a
   * negative holdout or seed, or 0 for l2, alpha or bins, keeps the default.
   */
  public static String trainRows(String dataJson, String kind, String name, double holdout, long seed,
                                 double l2, double alpha, int bins) {
    return CrmNative.trainRows(dataJson, kind, name, holdout, seed, l2, alpha, bins, null);
  }

  /**
   * As trainRows, with feature crosses: "A*B,C*D" (pairs of category
   * columns, each learnt as one more category "A*B"), or null for none.
   */
  public static String trainRows(String dataJson, String kind, String name, double holdout, long seed,
                                 double l2, double alpha, int bins, String crosses) {
    return CrmNative.trainRows(dataJson, kind, name, holdout, seed, l2, alpha, bins, crosses);
  }

  /** Score one row (a JSON array in the model's column order); the score as JSON. */
  public static String scoreValues(String modelJson, String valuesJson) {
    return CrmNative.scoreValues(modelJson, valuesJson);
  }

  /**
   * The due time (Unix ms) that many business minutes after start on a
   * business calendar (JSON; null: China, Mon-Fri 09:00-18:00 UTC+8, with
   * public holidays and make-up workdays).
   */
  public static long calendarDue(String calendarJson, long startMs, long minutes) {
    return CrmNative.calendarDue(calendarJson, startMs, minutes);
  }

  /** Business minutes between two times on a calendar (see calendarDue). */
  public static long calendarMinutes(String calendarJson, long fromMs, long toMs) {
    return CrmNative.calendarMinutes(calendarJson, fromMs, toMs);
  }

  /* ---- customers, members, points, tags, segments, vehicles ------------
   * Records come back as the library's JSON text (parse with any JSON
   * library); counts as numbers. Rules are JSON text, null for none. */

  /* {"k": v, ...} from name/value pairs: strings are quoted, numbers and null as is. */
  private static String args(Object... kv) {
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < kv.length; i += 2) {
      if (i > 0)
        b.append(',');
      quote(b, (String) kv[i]);
      b.append(':');
      Object v = kv[i + 1];
      if (v == null)
        b.append("null");
      else if (v instanceof String)
        quote(b, (String) v);
      else
        b.append(v.toString());
    }
    return b.append('}').toString();
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\')
        b.append('\\').append(c);
      else if (c < 0x20)
        b.append(String.format("\\u%04x", (int) c));
      else
        b.append(c);
    }
    b.append('"');
  }

  /** Resolve identities to one customer (create, link or merge); returns the result as JSON. */
  public String resolveCustomer(String docJson, String mergeRulesJson) {
    return call("customer.resolve", args("doc", docJson, "merge_rules", mergeRulesJson));
  }

  /** Resolve a lead's identities to a customer and set its customer_id; the result as JSON. */
  public String resolveLead(String leadId, String mergeRulesJson) {
    return call("customer.resolve_lead", args("lead_id", leadId, "merge_rules", mergeRulesJson));
  }

  /** The customer 360 view as JSON. */
  public String customer(String customerId) {
    return call("customer.view", args("id", customerId));
  }

  /** The id of the customer an identity belongs to; NotFoundException when none. */
  public String findCustomer(String kind, String value, String appId) {
    String id = call("customer.find", args("kind", kind, "value", value, "app_id", appId));
    return id.substring(1, id.length() - 1);
  }

  /** Undo the merge of a customer. */
  public void unmergeCustomer(String customerId) {
    call("customer.unmerge", args("id", customerId));
  }

  /** Record marketing consent for a channel ("sms", "wechat", ...). */
  public void setConsent(String customerId, String channel, boolean granted) {
    call("customer.consent", args("id", customerId, "channel", channel, "granted", granted ? 1 : 0));
  }

  /** Enrol a customer as a member. */
  public void enrol(String customerId, String memberNo, String rulesJson) {
    call("member.enrol", args("customer_id", customerId, "member_no", memberNo, "rules", rulesJson));
  }

  /** A member as JSON (benefits and qualifying points with rules). */
  public String member(String customerId, String rulesJson) {
    return call("member.get", args("customer_id", customerId, "rules", rulesJson));
  }

  /** Re-evaluate a member's tier now; true when it changed. */
  public boolean evaluateTier(String customerId, String rulesJson) {
    return "true".equals(call("member.retier", args("customer_id", customerId, "rules", rulesJson)));
  }

  /** Accrue points (expiresAt: Unix ms, 0 never); {"txn_id","balance","replayed"} as JSON. */
  public String accrue(String customerId, long points, long expiresAt, String key, String reason, String rulesJson) {
    return call("points.accrue", args("customer_id", customerId, "points", points, "expires_at", expiresAt,
                                      "key", key, "reason", reason, "rules", rulesJson));
  }

  /** Redeem points, earliest-expiring first. */
  public String redeem(String customerId, long points, String key, String reason, String rulesJson) {
    return call("points.redeem", args("customer_id", customerId, "points", points, "key", key,
                                      "reason", reason, "rules", rulesJson));
  }

  /** Reverse an accrual or a redemption. */
  public String reverse(String txnId, String key, String reason, String rulesJson) {
    return call("points.reverse", args("txn_id", txnId, "key", key, "reason", reason, "rules", rulesJson));
  }

  /** The expiry run; how many batches expired. */
  public long expirePoints() {
    return Long.parseLong(call("points.expire", "{}"));
  }

  /** A member's ledger as a JSON array. */
  public String ledger(String customerId) {
    return call("points.ledger", args("customer_id", customerId));
  }

  /** Assign a manual tag. */
  public void tag(String customerId, String tag, String source) {
    call("tag.assign", args("customer_id", customerId, "tag", tag, "source", source));
  }

  /** Remove a manual tag. */
  public void untag(String customerId, String tag) {
    call("tag.remove", args("customer_id", customerId, "tag", tag));
  }

  /** Define a rule tag and compute it; how many customers have it. */
  public long defineRuleTag(String tag, String rule) {
    return Long.parseLong(call("tag.rule", args("tag", tag, "rule", rule)));
  }

  /** Compute every rule tag again; how many. */
  public long refreshRuleTags() {
    return Long.parseLong(call("tag.refresh", "{}"));
  }

  /** A customer's tags as a JSON array. */
  public String tags(String customerId) {
    return call("tag.list", args("customer_id", customerId));
  }

  /** How many customers a segment has. */
  public long segmentCount(String expr) {
    return Long.parseLong(call("segment.count", args("expr", expr)));
  }

  /** A segment's customer ids as a JSON array; with consent, only who consented (0: no limit). */
  public String segment(String expr, String consent, long limit) {
    return call("segment.export", args("expr", expr, "consent", consent, "limit", limit));
  }

  /** Register or update a vehicle (times in Unix ms, 0 unknown). */
  public void putVehicle(String vin, String model, int year, long purchasedAt, long servicedAt) {
    call("vehicle.put", args("vin", vin, "model", model, "year", year, "purchased_at", purchasedAt,
                             "serviced_at", servicedAt));
  }

  /** Relate a customer to a vehicle as "owner" or "driver" (since 0: now; until 0: still). */
  public void relateVehicle(String vin, String customerId, String role, long since, long until) {
    call("vehicle.relate", args("vin", vin, "customer_id", customerId, "role", role, "since", since,
                                "until", until));
  }

  /** A vehicle and its people as JSON. */
  public String vehicle(String vin) {
    return call("vehicle.get", args("vin", vin));
  }

  /** A customer's vehicles as a JSON array. */
  public String vehicles(String customerId) {
    return call("vehicle.list", args("customer_id", customerId));
  }

  /**
   * Clean one value with the cleaner named by kind ("phone", "name", "email",
   * "region", "id_card", "vin"); the result as a JSON object: value, flags,
   * reasons, and salutation, key, province, city when they apply.
   */
  public static String clean(String kind, String raw) {
    return CrmNative.clean(kind, raw);
  }

  /** Clean a lead document (JSON): clean values and a "clean" report with the quality. */
  public static String cleanLead(String json) {
    return CrmNative.cleanLead(json);
  }

  /**
   * Deduplicate records in a batch. records is a JSON array of objects
   * ("id" names a record, the other members are columns); config a match
   * configuration, or null for the default for leads. The result is JSON:
   * "clusters" (id and cluster of every record), "pairs" (merged or for
   * review, with the evidence), "stats" and "config" (with the weights used).
   */
  public static String dedupe(String config, String records) {
    return CrmNative.dedupe(config, records);
  }

  /** The default match configuration for leads (JSON). */
  public static String defaultMatchConfig() {
    return CrmNative.matchDefaultConfig();
  }
%}

%typemap(javacode) struct crmb_lead_iter %{
  /* the Crm this iterator reads from: native calls hold its monitor */
  Object lock = this;
  private Lead pending;
  private boolean fetched;

  /** True when {@link #next()} has a lead; false at the end. */
  @Override
  public boolean hasNext() {
    if (!fetched) {
      synchronized (lock) {
        pending = nextLead();
      }
      fetched = true;
    }
    return pending != null;
  }

  /** The next lead. */
  @Override
  public Lead next() {
    if (!hasNext())
      throw new java.util.NoSuchElementException();
    Lead l = pending;
    pending = null;
    fetched = false;
    return l;
  }

  /** Release the iterator. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      delete();
    }
  }
%}

%typemap(javacode) struct crmb_event_iter %{
  /* the Crm this iterator reads from: native calls hold its monitor */
  Object lock = this;
  private Event pending;
  private boolean fetched;

  /** True when {@link #next()} has an event; false at the end. */
  @Override
  public boolean hasNext() {
    if (!fetched) {
      synchronized (lock) {
        pending = nextEvent();
      }
      fetched = true;
    }
    return pending != null;
  }

  /** The next event. */
  @Override
  public Event next() {
    if (!hasNext())
      throw new java.util.NoSuchElementException();
    Event e = pending;
    pending = null;
    fetched = false;
    return e;
  }

  /** Release the iterator. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      delete();
    }
  }
%}

%extend crmb_handle {
    crmb_handle(const char *uri, int busy_timeout_ms, int create) {
        return crmb_db_open(uri, busy_timeout_ms, create);
    }
    ~crmb_handle() { crmb_db_free($self); }
    /** The schema version (the number of the last migration applied). */
    int getSchemaVersion() { return crmb_db_schema_version($self); }
    /** Begin a transaction; transactions nest (savepoints). */
    void begin() { crmb_db_begin($self); }
    /** Commit the innermost transaction. */
    void commit() { crmb_db_commit($self); }
    /** Roll back the innermost transaction. */
    void rollback() { crmb_db_rollback($self); }
    /** How many transactions are open. */
    int getTransactionDepth() { return crmb_db_transaction_depth($self); }
    /** Restrict to one dealer's records; null lifts the restriction. */
    void setScope(const char *dealerId) { crmb_db_set_scope($self, dealerId); }
    /** The dealer scope, or null for all dealers. */
    const char *getScope() { return crmb_db_scope($self); }
    /** Who is acting, written into audit events ("system" by default). */
    void setActor(const char *actor) { crmb_db_set_actor($self, actor); }
    void enableMatching(const char *config) { crmb_db_enable_matching($self, config); }
    /** Store the matching keys of every stored lead (after enableMatching); returns how many leads. */
    int64_t indexMatching() { return crmb_db_match_index($self); }
    /**
     * Judge every lead in the scope again (ok, suspect, junk, as ingest does: leads stored
     * before quality existed read as ok), in one transaction; only the leads whose quality
     * changes are written, each with a "lead.quality" event. Returns how many changed.
     */
    int64_t judgeAll() { return crmb_lead_judge_all($self); }
    void disableMatching() { crmb_db_disable_matching($self); }
    /** Score every lead that ingest stores with this model (JSON), in the same transaction. */
    void enableScoring(const char *modelJson) { crmb_db_enable_scoring($self, modelJson); }
    /** Stop scoring on ingest. */
    void disableScoring() { crmb_db_disable_scoring($self); }
    char *reviewsJson(const char *status, int limit) { return crmb_db_reviews($self, status, limit); }
    void decideReview(const char *id, bool accept) { crmb_db_review_decide($self, id, accept ? 1 : 0); }
    /**
     * Merge lead otherId into survivorId by survivorship rules (JSON, or null for the
     * defaults); returns what the merge did, as JSON (its "id" undoes it).
     */
    char *mergeJson(const char *survivorId, const char *otherId, const char *rules) {
        return crmb_db_merge($self, survivorId, otherId, rules);
    }
    /** Undo a merge: every row it changed goes back as it was. */
    void unmerge(const char *mergeId) { crmb_db_unmerge($self, mergeId); }
    /** What a merge did, as JSON. */
    char *getMergeJson(const char *mergeId) { return crmb_db_merge_get($self, mergeId); }
    /** Merges newest first as a JSON array; leadId null for all. */
    char *mergesJson(const char *leadId, int limit) { return crmb_db_merges($self, leadId, limit); }
    /**
     * Deduplicate the stored leads in one batch run (config JSON, or null for the default);
     * with apply, merge each cluster into its oldest lead. Returns clusters, pairs, stats
     * (and merge ids) as JSON.
     */
    char *dedupeLeadsJson(const char *config, bool apply) { return crmb_db_dedupe_leads($self, config, apply ? 1 : 0); }
    const char *getActor() { return crmb_db_actor($self); }
    /** Fix the clock (Unix ms, UTC); 0 returns to the system clock. */
    void setTime(int64_t unixMs) { crmb_db_set_time($self, unixMs); }
    /** The handle's current time (Unix ms, UTC). */
    int64_t now() { return crmb_db_now($self); }
    /** Ingest one lead from a JSON object. */
    const crm_ingest_result *ingest(const char *json, size_t len) {
        return crmb_db_ingest($self, json, len);
    }
    /** One lead as a JSON object. */
    char *getLeadJson(const char *id) { return crmb_db_get_json($self, id); }
    /** One lead. */
    const crm_lead *getLead(const char *id) { return crmb_db_get_lead($self, id); }
    crmb_lead_iter *leadsRaw(int statuses, const char *dealerId, const char *channel,
                               int64_t createdFrom, int64_t createdTo, int64_t limit,
                               int qualities) {
        return crmb_db_leads($self, (unsigned int)statuses, dealerId, channel,
                             createdFrom, createdTo, limit, (unsigned int)qualities);
    }
    crmb_event_iter *eventsRaw(const char *entityId) { return crmb_db_events($self, entityId); }
    /** Store a model document (JSON) as the next version of its name; the saved document. */
    char *saveModel(const char *modelJson) { return crmb_model_save($self, modelJson); }
    /** A stored model's document; version 0 is the newest. */
    char *loadModel(const char *name, int version) { return crmb_model_load($self, name, version); }
    /**
     * Train on the leads with an outcome; the model's document (not saved).
     * kind "logistic" or "naive_bayes"; a negative holdout or seed, or 0 for
     * l2, alpha or bins, keeps the default.
     */
    char *trainModel(const char *kind, const char *name, double holdout, int64_t seed,
                     double l2, double alpha, int bins) {
        return crmb_model_train_leads($self, kind, name, holdout, seed, l2, alpha, bins, NULL);
    }
    /** As trainModel, with feature crosses "A*B,C*D" (null: none). */
    char *trainModel(const char *kind, const char *name, double holdout, int64_t seed,
                     double l2, double alpha, int bins, const char *crosses) {
        return crmb_model_train_leads($self, kind, name, holdout, seed, l2, alpha, bins, crosses);
    }
    /** Score a stored lead and keep its score and grade; the score as JSON. */
    char *scoreLead(const char *modelJson, const char *id) { return crmb_lead_score($self, modelJson, id); }
    /** Rescore every lead in the scope; how many changed. */
    int64_t rescoreAll(const char *modelJson) { return crmb_lead_rescore_all($self, modelJson); }
    /**
     * Move a lead to a state ("contacted", "lost", ...); reason (required for
     * lost), dealerId and ownerId (on assignment) may be null.
     */
    void transition(const char *id, const char *to, const char *reason, const char *dealerId,
                    const char *ownerId) {
        crmb_lead_transition($self, id, to, reason, dealerId, ownerId);
    }
    /** The stages a lead went through, as a JSON array. */
    char *getStagesJson(const char *id) { return crmb_lead_stages_json($self, id); }
    /**
     * The conversion funnel as JSON, grouped by "all", "channel", "campaign",
     * "dealer", "model" or "month"; created bounds in Unix ms (0: none).
     */
    char *getFunnelJson(const char *by, int64_t createdFrom, int64_t createdTo, int tzOffsetMinutes) {
        return crmb_funnel_json($self, by, createdFrom, createdTo, tzOffsetMinutes);
    }
    /**
     * Route leads with rules (JSON): the ids in idsJson (a JSON array), or
     * every new lead in the scope when null. A JSON array of {"id",
     * "dealer_id", "owner_id", "reason"} or {"id", "error"}.
     */
    char *routeJson(const char *rulesJson, const char *idsJson) { return crmb_route_json($self, rulesJson, idsJson); }
    /** Return leads not contacted within followUpMs of assignment to the recycle pool; how many. */
    int64_t recycleOverdue(int64_t followUpMs) { return crmb_lead_recycle($self, followUpMs); }
    /** The customer side of the API as JSON in, JSON out (see the typed methods). */
    char *call(const char *op, const char *argsJson) { return crmb_db_call($self, op, argsJson); }
}

%extend crmb_lead_iter {
    ~crmb_lead_iter() { crmb_lead_cursor_free($self); }
    const crm_lead *nextLead() { return crmb_lead_cursor_next($self); }
}

%extend crmb_event_iter {
    ~crmb_event_iter() { crmb_event_cursor_free($self); }
    const crm_event *nextEvent() { return crmb_event_cursor_next($self); }
}

%rename(version) crmb_version;
%inline %{
static const char *crmb_version(void) { return crm_version(); }
%}
/* package-private (CrmNative is); Crm.trainRows / Crm.scoreValues are the public face */
%rename(trainRows) crmb_model_train_rows;
%rename(scoreValues) crmb_model_score_values;
char *crmb_model_train_rows(const char *data_json, const char *kind, const char *name, double holdout,
                            int64_t seed, double l2, double alpha, int bins, const char *crosses);
char *crmb_model_score_values(const char *model_json, const char *values_json);
/* package-private (CrmNative is); LeadFilter.qualities and Crm.leadQualities are the public face */
%rename(qualityParse) crmb_lead_quality_parse;
%rename(qualityName) crmb_lead_quality_name;
int crmb_lead_quality_parse(const char *name);
const char *crmb_lead_quality_name(int quality);
/* package-private (CrmNative is): for the tests of the exception mapping */
%rename(failForTest) crmb_fail_for_test;
void crmb_fail_for_test(int code, const char *message);
%newobject crmb_clean;
%newobject crmb_clean_lead;
%rename(clean) crmb_clean;
%rename(cleanLead) crmb_clean_lead;
char *crmb_clean(const char *kind, const char *raw);
char *crmb_clean_lead(const char *json);
%newobject crmb_dedupe;
%rename(dedupe) crmb_dedupe;
%rename(matchDefaultConfig) crmb_match_default_config;
char *crmb_dedupe(const char *config, const char *records);
const char *crmb_match_default_config(void);
%rename(mergeDefaultRules) crmb_merge_default_rules;
const char *crmb_merge_default_rules(void);

#endif

/* ======================================================================== */
/* Work orders, SLAs and calendars (issue 6): the same methods in both      */
/* languages, JSON text in and out (crm/__init__.py decodes it for Python). */
/* ======================================================================== */

%newobject crmb_handle::workorderCreate;
%newobject crmb_handle::workorderComment;
%newobject crmb_handle::workorderJson;
%newobject crmb_handle::workordersJson;
%newobject crmb_handle::workorderCommentsJson;
%newobject crmb_handle::slaEscalateJson;
%newobject crmb_handle::slaReportJson;
%newobject crmb_handle::eventsOfKindRaw;
#if defined(SWIGJAVA)
%javamethodmodifiers crmb_handle::workorderCreate "public synchronized";
%javamethodmodifiers crmb_handle::workorderAssign "public synchronized";
%javamethodmodifiers crmb_handle::workorderMove "public synchronized";
%javamethodmodifiers crmb_handle::workorderComment "public synchronized";
%javamethodmodifiers crmb_handle::workorderJson "public synchronized";
%javamethodmodifiers crmb_handle::workordersJson "public synchronized";
%javamethodmodifiers crmb_handle::workorderCommentsJson "public synchronized";
%javamethodmodifiers crmb_handle::slaEscalateJson "public synchronized";
%javamethodmodifiers crmb_handle::slaReportJson "public synchronized";
%javamethodmodifiers crmb_handle::eventsOfKindRaw "private synchronized";
#endif

%extend crmb_handle {
    /** Create a work order from a JSON object; returns its id. */
    char *workorderCreate(const char *json) { return crmb_wo_create($self, json); }
    /** Assign (or reassign) a work order; queue may be null to keep it. */
    void workorderAssign(const char *id, const char *assignee, const char *queue) {
        crmb_wo_assign($self, id, assignee, queue);
    }
    /** Move a work order to a status by name ("in_progress", ...); note may be null. */
    void workorderMove(const char *id, const char *status, const char *note) {
        crmb_wo_move($self, id, status, note);
    }
    /** Add a comment, internal or visible to the customer; returns its id. */
    char *workorderComment(const char *id, const char *body, bool isPublic) {
        return crmb_wo_comment($self, id, body, isPublic ? 1 : 0);
    }
    /** One work order as a JSON object. */
    char *workorderJson(const char *id) { return crmb_wo_get_json($self, id); }
    /** Work orders as a JSON array; statuses: comma-separated names or null; limit 0: all. */
    char *workordersJson(const char *statuses, const char *queue, const char *assignee, const char *type,
                         int64_t limit) {
        return crmb_wo_list_json($self, statuses, queue, assignee, type, limit);
    }
    /** The comments of a work order as a JSON array. */
    char *workorderCommentsJson(const char *id) { return crmb_wo_comments_json($self, id); }
    /** The escalation run with an SLA policy document as of a time (0: now); counts as JSON. */
    char *slaEscalateJson(const char *policyJson, int64_t asOf) {
        return crmb_sla_escalate_json($self, policyJson, asOf);
    }
    /** The events of one kind across work orders since a time (see workorderEvents in Java). */
    crmb_event_iter *eventsOfKindRaw(const char *kind, int64_t since) {
        return crmb_db_events_of_kind($self, kind, since);
    }
    /** SLA analytics as JSON; groupBy: none, queue, dealer, type or month. */
    char *slaReportJson(const char *policyJson, const char *groupBy, int64_t asOf, int64_t createdFrom,
                        int64_t createdTo) {
        return crmb_sla_report_json($self, policyJson, groupBy, asOf, createdFrom, createdTo);
    }
}

%rename(calendarDue) crmb_calendar_due;
%rename(calendarMinutes) crmb_calendar_minutes;
int64_t crmb_calendar_due(const char *calendar_json, int64_t start, int64_t minutes);
int64_t crmb_calendar_minutes(const char *calendar_json, int64_t from, int64_t to);

/* The wrapped types, opaque to SWIG: only the %extend members above exist.
 * Declared last so that every typemap and feature above applies to them. */
struct crmb_handle {};
struct crmb_lead_iter {};
struct crmb_event_iter {};
typedef struct crmb_handle crmb_handle;
typedef struct crmb_lead_iter crmb_lead_iter;
typedef struct crmb_event_iter crmb_event_iter;
