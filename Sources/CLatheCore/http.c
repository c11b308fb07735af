// HTTP(S) requests through libcurl, loaded with dlopen on first use: start-up does not pay for
// it, and a machine without libcurl only loses the features that talk to servers (track.push).
// The option numbers are libcurl's stable ABI (curl/curl.h, unchanged since 7.x).
#include "CLatheCore.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_WRITEDATA = 10001, OPT_URL = 10002, OPT_USERPWD = 10005, OPT_READDATA = 10009,
    OPT_ERRORBUFFER = 10010, OPT_WRITEFUNCTION = 20011, OPT_READFUNCTION = 20012,
    OPT_POSTFIELDS = 10015, OPT_HTTPHEADER = 10023, OPT_CUSTOMREQUEST = 10036, OPT_UPLOAD = 46,
    OPT_HTTPGET = 80, OPT_NOSIGNAL = 99, OPT_INFILESIZE_LARGE = 30115,
    OPT_POSTFIELDSIZE_LARGE = 30120, OPT_TIMEOUT_MS = 155, OPT_CONNECTTIMEOUT_MS = 156,
    OPT_NOPROXY = 10177,
    INFO_RESPONSE_CODE = 0x200000 + 2,
    GLOBAL_ALL = 3,
};

typedef void CURL;
struct curl_slist;
typedef int (*global_init_fn)(long);
typedef CURL *(*easy_init_fn)(void);
typedef int (*easy_setopt_fn)(CURL *, int, ...);
typedef int (*easy_perform_fn)(CURL *);
typedef int (*easy_getinfo_fn)(CURL *, int, ...);
typedef void (*easy_cleanup_fn)(CURL *);
typedef void (*easy_reset_fn)(CURL *);
typedef const char *(*easy_strerror_fn)(int);
typedef struct curl_slist *(*slist_append_fn)(struct curl_slist *, const char *);
typedef void (*slist_free_fn)(struct curl_slist *);

static struct {
    global_init_fn global_init;
    easy_init_fn init;
    easy_setopt_fn setopt;
    easy_perform_fn perform;
    easy_getinfo_fn getinfo;
    easy_cleanup_fn cleanup;
    easy_reset_fn reset;
    easy_strerror_fn strerror;
    slist_append_fn slist_append;
    slist_free_fn slist_free;
} C;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok = 0;

static void curl_load(void) {
    const char *names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
    void *h = NULL;
    for (int i = 0; i < 3 && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    C.global_init = (global_init_fn)dlsym(h, "curl_global_init");
    C.init = (easy_init_fn)dlsym(h, "curl_easy_init");
    C.setopt = (easy_setopt_fn)dlsym(h, "curl_easy_setopt");
    C.perform = (easy_perform_fn)dlsym(h, "curl_easy_perform");
    C.getinfo = (easy_getinfo_fn)dlsym(h, "curl_easy_getinfo");
    C.cleanup = (easy_cleanup_fn)dlsym(h, "curl_easy_cleanup");
    C.reset = (easy_reset_fn)dlsym(h, "curl_easy_reset");
    C.strerror = (easy_strerror_fn)dlsym(h, "curl_easy_strerror");
    C.slist_append = (slist_append_fn)dlsym(h, "curl_slist_append");
    C.slist_free = (slist_free_fn)dlsym(h, "curl_slist_free_all");
    if (!C.global_init || !C.init || !C.setopt || !C.perform || !C.getinfo || !C.cleanup ||
        !C.reset || !C.strerror || !C.slist_append || !C.slist_free)
        return;
    // not thread-safe in old libcurl: done once, here, before any handle exists
    if (C.global_init(GLOBAL_ALL) != 0) return;
    curl_ok = 1;
}

int lk_http_available(void) {
    pthread_once(&curl_once, curl_load);
    return curl_ok;
}

void *lk_http_open(void) {
    if (!lk_http_available()) return NULL;
    return C.init();
}

void lk_http_close(void *handle) {
    if (handle && curl_ok) C.cleanup(handle);
}

static size_t collect(char *data, size_t size, size_t n, void *user) {
    lk_http_response *r = user;
    size_t add = size * n;
    if (r->body_len + add + 1 > r->capacity) {
        size_t cap = r->capacity ? r->capacity : 4096;
        while (cap < r->body_len + add + 1) cap *= 2;
        unsigned char *p = realloc(r->body, cap);
        if (!p) return 0;  // aborts the transfer: "failure writing output"
        r->body = p;
        r->capacity = cap;
    }
    memcpy(r->body + r->body_len, data, add);
    r->body_len += add;
    r->body[r->body_len] = 0;
    return add;
}

static size_t read_file(char *buf, size_t size, size_t n, void *user) {
    return fread(buf, size, n, (FILE *)user);
}

int lk_http_request(void *handle, const char *method, const char *url, const char *const *headers,
                    int nheaders, const void *body, size_t body_len, const char *upload_file,
                    const char *userpwd, long timeout_ms, lk_http_response *out) {
    memset(out, 0, sizeof *out);
    if (!handle || !curl_ok) {
        snprintf(out->error, sizeof out->error, "libcurl (libcurl.so.4) could not be loaded");
        return -1;
    }
    FILE *fp = NULL;
    long long file_size = 0;
    if (upload_file) {
        fp = fopen(upload_file, "rb");
        if (!fp) {
            snprintf(out->error, sizeof out->error, "cannot read %s", upload_file);
            return -2;
        }
        fseeko(fp, 0, SEEK_END);
        file_size = ftello(fp);
        fseeko(fp, 0, SEEK_SET);
    }
    C.reset(handle);  // keeps the connection cache: requests to one server reuse a connection
    struct curl_slist *hl = NULL;
    for (int i = 0; i < nheaders; i++) hl = C.slist_append(hl, headers[i]);
    char errbuf[256] = "";
    C.setopt(handle, OPT_URL, url);
    C.setopt(handle, OPT_NOSIGNAL, 1L);
    C.setopt(handle, OPT_ERRORBUFFER, errbuf);
    C.setopt(handle, OPT_WRITEFUNCTION, collect);
    C.setopt(handle, OPT_WRITEDATA, out);
    C.setopt(handle, OPT_TIMEOUT_MS, timeout_ms);
    C.setopt(handle, OPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
    if (!getenv("no_proxy") && !getenv("NO_PROXY"))
        C.setopt(handle, OPT_NOPROXY, "localhost,127.0.0.1,::1");
    if (hl) C.setopt(handle, OPT_HTTPHEADER, hl);
    if (userpwd) C.setopt(handle, OPT_USERPWD, userpwd);
    if (fp) {
        C.setopt(handle, OPT_UPLOAD, 1L);
        C.setopt(handle, OPT_READFUNCTION, read_file);
        C.setopt(handle, OPT_READDATA, fp);
        C.setopt(handle, OPT_INFILESIZE_LARGE, (long long)file_size);
        if (strcmp(method, "PUT") != 0) C.setopt(handle, OPT_CUSTOMREQUEST, method);
    } else if (body) {
        C.setopt(handle, OPT_POSTFIELDSIZE_LARGE, (long long)body_len);
        C.setopt(handle, OPT_POSTFIELDS, body);
        if (strcmp(method, "POST") != 0) C.setopt(handle, OPT_CUSTOMREQUEST, method);
    } else {
        C.setopt(handle, OPT_HTTPGET, 1L);
        if (strcmp(method, "GET") != 0) C.setopt(handle, OPT_CUSTOMREQUEST, method);
    }
    int rc = C.perform(handle);
    if (fp) fclose(fp);
    if (hl) C.slist_free(hl);
    if (rc != 0) {
        snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : C.strerror(rc));
        return -2;
    }
    long status = 0;
    C.getinfo(handle, INFO_RESPONSE_CODE, &status);
    out->status = status;
    return 0;
}

void lk_http_free(lk_http_response *r) {
    free(r->body);
    r->body = NULL;
    r->body_len = r->capacity = 0;
}
