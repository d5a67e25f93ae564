/*
 * wordcount: a Fleet tool plugin in C, written by hand against docs/abi.md (ABI v1).
 *
 * One tool, "char_stats", takes {"text": "..."} and answers
 * {"bytes":N,"characters":N,"words":N,"lines":N,"spaces":N,"digits":N,"uppercase":N,"lowercase":N,"non_ascii":N}.
 * It asks for the "log" capability and, when granted, logs each call at debug level through
 * fleet_v1.host_call: the one import a plugin needs to reach the host.
 *
 * Build (a WASI reactor: the host calls _initialize, never _start):
 *   clang --target=wasm32-wasi -O2 -mexec-model=reactor -o wordcount.wasm wordcount.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("fleet_v1"), import_name(name)))

/* host_call(cap, op, ptr, len) -> (status << 32) | response_len. Capability 1 is log; op 0 is debug. */
IMPORT("host_call") uint64_t host_call(uint32_t cap, uint32_t op, const void *ptr, uint32_t len);

enum { STATUS_OK = 0, STATUS_TOOL_ERROR = 1, STATUS_BAD_REQUEST = 2 };
enum { CAP_LOG = 1, LOG_DEBUG = 0 };

static const char descriptor[] =
    "{\"abi_minor\":0,\"name\":\"wordcount\",\"version\":\"1.0.0\",\"kind\":\"tool\","
    "\"description\":\"Counts the characters, words and lines of a text (a plugin written in C).\","
    "\"capabilities\":[\"log\"],"
    "\"tools\":[{\"name\":\"char_stats\","
    "\"description\":\"Count the bytes, characters, words, lines, spaces, digits and letters of a text.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
    "\"description\":\"The text to count.\"}},\"required\":[\"text\"],\"additionalProperties\":false}}]}";

/* The input region handed out by fleet_alloc, and the result region of the last call. Each is freed
 * when the next one replaces it: the host copies a result out before its next call. */
static uint8_t *input;
static uint8_t *result;
static int log_granted;

EXPORT("fleet_abi_v1") void fleet_abi_v1(void) {}

EXPORT("fleet_alloc") uint8_t *fleet_alloc(uint32_t size) {
    free(input);
    input = malloc(size);
    return input; /* NULL (0) tells the host we are out of memory */
}

/* pack returns the packed pointer to a fresh result region: status byte, then len bytes of payload. */
static uint64_t pack(uint8_t status, const char *payload, size_t len) {
    free(result);
    result = malloc(len + 1);
    if (result == NULL) {
        return 0; /* a null result: the host reports an ABI error */
    }
    result[0] = status;
    memcpy(result + 1, payload, len);
    return ((uint64_t)(uintptr_t)result << 32) | (uint64_t)(len + 1);
}

/* A small text builder: appending never overruns; the buffers below are sized for their contents. */
typedef struct {
    char *buf;
    size_t len, cap;
} builder;

static void put(builder *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n > b->cap) n = b->cap - b->len;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static void put_uint(builder *b, unsigned long v) {
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0 && b->len < b->cap) b->buf[b->len++] = digits[--n];
}

/* fail answers an error status; code and message are constants with nothing to escape. */
static uint64_t fail(uint8_t status, const char *code, const char *message) {
    char buf[256];
    builder b = {buf, 0, sizeof buf};
    put(&b, "{\"message\":\"");
    put(&b, message);
    put(&b, "\",\"code\":\"");
    put(&b, code);
    put(&b, "\"}");
    return pack(status, buf, b.len);
}

EXPORT("fleet_init") uint64_t fleet_init(const char *req, uint32_t len) {
    /* The init request lists the granted capabilities: a substring test is enough for "log". */
    log_granted = 0;
    for (uint32_t i = 0; i + 5 <= len; i++) {
        if (memcmp(req + i, "\"log\"", 5) == 0) {
            log_granted = 1;
        }
    }
    return pack(STATUS_OK, descriptor, sizeof descriptor - 1);
}

/* ---- A minimal JSON reader: enough to find the "text" member of the arguments object. ---- */

typedef struct {
    const char *p, *end;
} reader;

static void skip_ws(reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
        r->p++;
    }
}

static int hex4(reader *r, uint32_t *out) {
    uint32_t v = 0;
    if (r->end - r->p < 4) {
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        char c = *r->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *dst, uint32_t c) {
    if (c < 0x80) { dst[0] = (char)c; return 1; }
    if (c < 0x800) { dst[0] = (char)(0xC0 | c >> 6); dst[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        dst[0] = (char)(0xE0 | c >> 12); dst[1] = (char)(0x80 | (c >> 6 & 0x3F)); dst[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | c >> 18); dst[1] = (char)(0x80 | (c >> 12 & 0x3F));
    dst[2] = (char)(0x80 | (c >> 6 & 0x3F)); dst[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* read_escape decodes one escape after the backslash; surrogate pairs become one code point and a lone
 * surrogate becomes U+FFFD, as Go's encoding/json does. */
static int read_escape(reader *r, uint32_t *cp) {
    if (r->p >= r->end) return 0;
    char c = *r->p++;
    switch (c) {
    case '"': case '\\': case '/': *cp = (uint32_t)c; return 1;
    case 'b': *cp = '\b'; return 1;
    case 'f': *cp = '\f'; return 1;
    case 'n': *cp = '\n'; return 1;
    case 'r': *cp = '\r'; return 1;
    case 't': *cp = '\t'; return 1;
    case 'u': break;
    default: return 0;
    }
    if (!hex4(r, cp)) return 0;
    if (*cp >= 0xD800 && *cp < 0xDC00 && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
        reader save = *r;
        uint32_t lo;
        r->p += 2;
        if (hex4(r, &lo) && lo >= 0xDC00 && lo < 0xE000) {
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
            return 1;
        }
        *r = save;
    }
    if (*cp >= 0xD800 && *cp < 0xE000) *cp = 0xFFFD;
    return 1;
}

/* read_string decodes a JSON string at r (the opening quote next) into dst, which has room for the
 * encoded length (decoding never grows a string). It returns the decoded length, or -1. */
static long read_string(reader *r, char *dst) {
    size_t n = 0;
    if (r->p >= r->end || *r->p != '"') return -1;
    r->p++;
    while (r->p < r->end) {
        unsigned char c = (unsigned char)*r->p++;
        if (c == '"') return (long)n;
        if (c < 0x20) return -1;
        if (c != '\\') {
            if (dst) dst[n] = (char)c;
            n++;
            continue;
        }
        uint32_t cp;
        if (!read_escape(r, &cp)) return -1;
        char tmp[4];
        size_t k = put_utf8(tmp, cp);
        if (dst) memcpy(dst + n, tmp, k);
        n += k;
    }
    return -1;
}

/* skip_value skips any JSON value (the host has validated the arguments; this only needs to be safe). */
static int skip_value(reader *r) {
    int depth = 0;
    skip_ws(r);
    do {
        if (r->p >= r->end) return 0;
        char c = *r->p;
        if (c == '"') {
            if (read_string(r, NULL) < 0) return 0;
        } else {
            r->p++;
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') depth--;
        }
        skip_ws(r);
    } while (depth > 0 || (r->p < r->end && *r->p != ',' && *r->p != '}' && *r->p != ']'));
    return depth == 0;
}

/* find_text returns the decoded "text" member of the arguments object in a malloc'd buffer. */
static char *find_text(const char *json, size_t len, size_t *out_len) {
    reader r = {json, json + len};
    char key[8];
    skip_ws(&r);
    if (r.p >= r.end || *r.p++ != '{') return NULL;
    for (;;) {
        skip_ws(&r);
        if (r.p < r.end && *r.p == '}') return NULL; /* no "text" */
        reader k = r;
        long kl = read_string(&k, NULL);
        if (kl < 0) return NULL;
        int is_text = 0;
        if (kl == 4) {
            read_string(&r, key);
            is_text = memcmp(key, "text", 4) == 0;
        } else {
            r = k;
        }
        skip_ws(&r);
        if (r.p >= r.end || *r.p++ != ':') return NULL;
        skip_ws(&r);
        if (is_text) {
            char *text = malloc(len + 1);
            long n = text ? read_string(&r, text) : -1;
            if (n < 0) { free(text); return NULL; }
            *out_len = (size_t)n;
            return text;
        }
        if (!skip_value(&r)) return NULL;
        skip_ws(&r);
        if (r.p < r.end && *r.p == ',') r.p++;
    }
}

/* ---- The tool ---- */

typedef struct {
    unsigned long bytes, characters, words, lines, spaces, digits, upper, lower, non_ascii;
} stats;

static stats count(const char *s, size_t n) {
    stats st = {0};
    int in_word = 0;
    st.bytes = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
        if ((c & 0xC0) != 0x80) st.characters++;
        if (c >= 0xC0) st.non_ascii++;
        if (c == '\n') st.lines++;
        if (space) st.spaces++;
        if (c >= '0' && c <= '9') st.digits++;
        if (c >= 'A' && c <= 'Z') st.upper++;
        if (c >= 'a' && c <= 'z') st.lower++;
        if (!space && !in_word) st.words++;
        in_word = !space;
    }
    if (n > 0 && s[n - 1] != '\n') st.lines++; /* a last line without a newline still counts */
    return st;
}

EXPORT("fleet_call") uint64_t fleet_call(uint32_t tool, const char *args, uint32_t len) {
    if (tool != 0) {
        return fail(STATUS_BAD_REQUEST, "unknown_tool", "wordcount has one tool, char_stats (index 0)");
    }
    size_t n = 0;
    char *text = find_text(args, len, &n);
    if (text == NULL) {
        return fail(STATUS_BAD_REQUEST, "invalid_arguments", "expected an object with a string member text");
    }
    stats st = count(text, n);
    free(text);
    if (log_granted) {
        char msg[64];
        builder m = {msg, 0, sizeof msg};
        put(&m, "char_stats: ");
        put_uint(&m, st.bytes);
        put(&m, " bytes");
        host_call(CAP_LOG, LOG_DEBUG, msg, (uint32_t)m.len); /* a refused log is not an error */
    }
    const char *names[] = {"bytes", "characters", "words", "lines", "spaces",
                           "digits", "uppercase", "lowercase", "non_ascii"};
    unsigned long values[] = {st.bytes, st.characters, st.words, st.lines, st.spaces,
                              st.digits, st.upper, st.lower, st.non_ascii};
    char out[320];
    builder b = {out, 0, sizeof out};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        put(&b, i == 0 ? "{\"" : ",\"");
        put(&b, names[i]);
        put(&b, "\":");
        put_uint(&b, values[i]);
    }
    put(&b, "}");
    return pack(STATUS_OK, out, b.len);
}
