/*
 * agui: Fleet's default event-mapper plugin, in C. It turns the engine's events (docs/events.md)
 * into AG-UI protocol events, exactly as the Go mapper next to it (../main.go, the reference:
 * its package comment is the mapping table) does, frame for frame and byte for byte; the golden
 * files of ../testdata and a differential fuzz test against the Go mapper hold the two together.
 *
 * Why C: wazero makes a guest stoppable (a looping mapper must not hang the host) by calling a
 * check at every loop header. Go's wasm backend turns every jump into a loop iteration, so a Go
 * mapper pays that check everywhere; C compiles to structured loops, and this file keeps loops
 * few and short (8 bytes per iteration when scanning strings).
 *
 * Freestanding (no libc, no WASI, no imports): it needs clang and wasm-ld only.
 *   clang --target=wasm32 -O2 -nostdlib -mbulk-memory -Wl,--no-entry -Wl,--strip-all -Wl,--stack-first \
 *     -o agui.wasm agui.c
 * (the stack first: overflowing it traps instead of overwriting data)
 *
 * ABI v1.1 (docs/abi.md sections 3 and 8): exports memory, fleet_abi_v1, fleet_alloc, fleet_init
 * and fleet_map. Malformed input gives status 2, code bad_message; an unknown op, code unsupported.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;

#define EXPORT(name) __attribute__((export_name(name)))
#define INLINE static inline __attribute__((always_inline))
#define NOINLINE static __attribute__((noinline))

/* ---------------------------------------------------------------- memory */

extern u8 __heap_base;
static u32 heap_top;

/* sbrk hands out fresh memory from the top of the heap, growing linear memory as needed; it returns
 * 0 when memory cannot grow. Regions are never freed: each one grows by doubling, so what is left
 * behind is at most what is in use. */
static u8 *sbrk(u32 n) {
    if (n > 1u << 30) return 0; /* more than a 32-bit memory can give; also keeps the sums below from wrapping */
    if (heap_top == 0) heap_top = ((u32)&__heap_base + 15) & ~15u;
    n = (n + 15) & ~15u;
    u32 end = heap_top + n;
    if (end < heap_top) return 0;
    u32 have = (u32)__builtin_wasm_memory_size(0) << 16;
    if (end > have) {
        u32 pages = (end - have + 0xffff) >> 16;
        if (__builtin_wasm_memory_grow(0, pages) == (unsigned long)-1) return 0;
    }
    u8 *p = (u8 *)heap_top;
    heap_top = end;
    return p;
}

/* PAD bytes after every buffer may be read (never written as content): word loads past the end. */
#define PAD 16

typedef struct {
    u8 *p;
    u32 len, cap;
} buf;

/* reserve makes room for n more bytes; 0 when memory is exhausted. */
static int grow(buf *b, u32 n) {
    if (n > 1u << 30) return 0;
    u32 cap = b->cap * 2;
    if (cap < b->len + n) cap = b->len + n;
    if (cap < 4096) cap = 4096;
    u8 *p = sbrk(cap + PAD);
    if (!p) return 0;
    if (b->len) __builtin_memcpy(p, b->p, b->len);
    b->p = p;
    b->cap = cap;
    return 1;
}

INLINE int reserve(buf *b, u32 n) { return b->cap - b->len >= n || grow(b, n); }

/* room makes room for one more element in an array of n elements of size bytes with capacity *cap
 * (moving it to fresh memory twice the size when full); 0 when memory is exhausted. */
static int room(void **v, u32 n, u32 *cap, u32 size) {
    if (n < *cap) return 1;
    u32 c = *cap ? *cap * 2 : 16;
    void *nv = sbrk(c * size);
    if (!nv) return 0;
    if (n) __builtin_memcpy(nv, *v, n * size);
    *v = nv;
    *cap = c;
    return 1;
}

/* ---------------------------------------------------------------- strings */

typedef struct {
    const u8 *p;
    u32 len;
    u32 plain; /* 1: printable ASCII without quotes or backslashes: copied to JSON as it is */
} str;

INLINE u64 load64(const u8 *p) {
    u64 x;
    __builtin_memcpy(&x, p, 8);
    return x;
}

#define MASK(n) ((n) >= 8 ? ~0ULL : (1ULL << (8 * (n))) - 1)
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* text_stops has the high bit set in the lowest byte of x that ends a run of string text (a quote, a
 * backslash or a control character); bits above it may be set spuriously. */
INLINE u64 text_stops(u64 x) {
    u64 q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x)) & HIGHS;
}

/* stops is text_stops that also stops at bytes >= 0x80: the end of a run of plain ASCII. */
INLINE u64 stops(u64 x) { return text_stops(x) | (x & HIGHS); }

NOINLINE u32 plain_run_long(const u8 *b, u32 i) {
    for (;;) {
        u64 s = stops(load64(b + i));
        if (s) return i + (__builtin_ctzll(s) >> 3);
        i += 8;
    }
}

/* plain_run returns the position of the first byte at or after i that is not plain. The buffer
 * must be padded (a zero byte at its end stops the run). */
INLINE u32 plain_run(const u8 *b, u32 i) {
    /* Four words before the loop: most strings (ids, names, times, deltas) end within 32 bytes,
     * and a guest pays a termination check at every loop header it passes. */
    u64 s;
    if ((s = stops(load64(b + i)))) return i + (__builtin_ctzll(s) >> 3);
    if ((s = stops(load64(b + i + 8)))) return i + 8 + (__builtin_ctzll(s) >> 3);
    if ((s = stops(load64(b + i + 16)))) return i + 16 + (__builtin_ctzll(s) >> 3);
    if ((s = stops(load64(b + i + 24)))) return i + 24 + (__builtin_ctzll(s) >> 3);
    return plain_run_long(b, i + 32);
}

/* text_run is plain_run letting bytes >= 0x80 through. */
INLINE u32 text_run(const u8 *b, u32 i) {
    for (;;) {
        u64 s = text_stops(load64(b + i));
        if (s) return i + (__builtin_ctzll(s) >> 3);
        i += 8;
    }
}

/* eqn reports whether a and b hold the same n bytes; up to 32 without a loop. */
static int eqn(const u8 *a, const u8 *b, u32 n) {
    if (n <= 32) {
        u64 d = 0;
        switch ((n + 7) >> 3) {
        case 4: d |= load64(a + 16) ^ load64(b + 16); /* fallthrough */
        case 3: d |= load64(a + 8) ^ load64(b + 8); /* fallthrough */
        case 2: d |= load64(a) ^ load64(b); /* fallthrough */
        case 1: d |= (load64(a + ((n - 1) & ~7u)) ^ load64(b + ((n - 1) & ~7u))) & MASK(((n - 1) & 7) + 1);
        }
        return d == 0 || n == 0;
    }
    u32 i = 0;
    for (; i + 8 <= n; i += 8)
        if (load64(a + i) != load64(b + i)) return 0;
    for (; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

INLINE int str_eq(str a, str b) { return a.len == b.len && eqn(a.p, b.p, a.len); }

/* A literal's first 8 bytes (and the next 8) as a little-endian word, computed at compile time. */
#define LB(s, i) ((i) < sizeof(s) - 1 ? (u64)(u8)(s)[(i) < sizeof(s) ? (i) : 0] << (8 * ((i) % 8)) : 0)
#define LW(s, o) (LB(s, o) | LB(s, o + 1) | LB(s, o + 2) | LB(s, o + 3) | LB(s, o + 4) | LB(s, o + 5) | LB(s, o + 6) | LB(s, o + 7))

/* TOK(p, lit) reports whether p starts with a literal of at most 24 bytes, by word compares (p is
 * padded or followed by more memory; bytes past the literal are masked off). */
#define TOK(p, lit) tok_(p, sizeof("" lit) - 1, LW(lit, 0), LW(lit, 8), LW(lit, 16))
INLINE int tok_(const u8 *p, u32 n, u64 w0, u64 w1, u64 w2) {
    if ((load64(p) & MASK(n)) != w0) return 0;
    if (n <= 8) return 1;
    if ((load64(p + 8) & MASK(n - 8)) != w1) return 0;
    return n <= 16 || (load64(p + 16) & MASK(n - 16)) == w2;
}

/* is(s, "lit") compares s with a literal of at most 24 bytes. */
#define is(s, lit) ((s).len == sizeof("" lit) - 1 && TOK((s).p, lit))

/* ---------------------------------------------------------------- output */

static buf out;        /* the result region: status byte, state line, frame lines */
static buf frames;     /* frame lines of the current batch, appended to out at the end */
static int oom;        /* an output buffer could not grow: the call fails */
static i64 frame_idx;  /* the index the next frame carries */
static u8 idx_prefix[24];
static u32 idx_prefix_len;

INLINE void put(buf *b, const void *s, u32 n) {
    if (!reserve(b, n)) {
        oom = 1;
        return;
    }
    __builtin_memcpy(b->p + b->len, s, n);
    b->len += n;
}
#define LIT(b, s) put(b, "" s, sizeof(s) - 1) /* "" s: literals only */

INLINE void put_byte(buf *b, u8 c) {
    if (!reserve(b, 1)) {
        oom = 1;
        return;
    }
    b->p[b->len++] = c;
}

static void put_int(buf *b, i64 v) {
    if (v >= 0 && v < 10000) { /* frame indexes, phases, most token counts: without a loop */
        u32 u = (u32)v;
        u8 d[4] = {(u8)('0' + u / 1000), (u8)('0' + u / 100 % 10), (u8)('0' + u / 10 % 10), (u8)('0' + u % 10)};
        u32 n = u >= 1000 ? 4 : u >= 100 ? 3 : u >= 10 ? 2 : 1;
        put(b, d + 4 - n, n);
        return;
    }
    u8 d[24];
    u32 n = 0;
    u64 u = v < 0 ? (u64)0 - (u64)v : (u64)v;
    do {
        d[23 - n++] = (u8)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) d[23 - n++] = '-';
    put(b, d + 24 - n, n);
}

static const char hexdig[] = "0123456789abcdef";

/* rune_size returns the length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid: the
 * rules of Go's utf8.DecodeRune (no overlong forms, no surrogates, nothing above U+10FFFF). */
static u32 rune_size(const u8 *p, u32 n, u32 *r) {
    u8 c = p[0];
    if (c < 0xC2 || c > 0xF4) return 0;
    if (c < 0xE0) {
        if (n < 2 || (p[1] & 0xC0) != 0x80) return 0;
        *r = (u32)(c & 0x1F) << 6 | (p[1] & 0x3F);
        return 2;
    }
    u8 lo = 0x80, hi = 0xBF;
    if (c < 0xF0) {
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
        if (n < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) return 0;
        *r = (u32)(c & 0x0F) << 12 | (u32)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
        return 3;
    }
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (n < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
    *r = (u32)(c & 0x07) << 18 | (u32)(p[1] & 0x3F) << 12 | (u32)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
    return 4;
}

/* put_escaped writes the contents of s as a JSON string's, as the SDK's writer (and encoding/json
 * with HTML escaping off) does: quotes, backslashes and control characters escaped, U+2028 and
 * U+2029 escaped, invalid UTF-8 as \ufffd. */
NOINLINE void put_escaped(buf *b, str s) {
    u64 need = (u64)s.len * 6 + 2;
    if (need > 1u << 30 || !reserve(b, (u32)need)) {
        oom = 1;
        return;
    }
    u8 *o = b->p + b->len;
    const u8 *p = s.p;
    u32 i = 0, n = s.len;
    while (i < n) {
        u8 c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = c;
            i++;
            continue;
        }
        if (c < 0x80) {
            *o++ = '\\';
            switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '\b': *o++ = 'b'; break;
            case '\f': *o++ = 'f'; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            default:
                *o++ = 'u', *o++ = '0', *o++ = '0', *o++ = hexdig[c >> 4], *o++ = hexdig[c & 15];
            }
            i++;
            continue;
        }
        u32 r = 0, k = rune_size(p + i, n - i, &r);
        if (k == 0) {
            __builtin_memcpy(o, "\\ufffd", 6);
            o += 6;
            i++;
        } else if (r == 0x2028 || r == 0x2029) {
            __builtin_memcpy(o, "\\u202", 5);
            o[5] = hexdig[r & 15];
            o += 6;
            i += k;
        } else {
            __builtin_memcpy(o, p + i, k);
            o += k;
            i += k;
        }
    }
    b->len = (u32)(o - b->p);
}

/* put_str writes s as a JSON string. */
INLINE void put_str(buf *b, str s) {
    if (s.plain) {
        if (!reserve(b, s.len + 2)) {
            oom = 1;
            return;
        }
        u8 *o = b->p + b->len;
        o[0] = '"';
        __builtin_memcpy(o + 1, s.p, s.len);
        o[s.len + 1] = '"';
        b->len += s.len + 2;
        return;
    }
    put_byte(b, '"');
    put_escaped(b, s);
    put_byte(b, '"');
}

/* frame starts a frame line: "<index> " (the prefix formatted once per index). */
static void frame(const char *start, u32 n) {
    if (idx_prefix_len == 0) {
        buf t = {idx_prefix, 0, sizeof idx_prefix};
        put_int(&t, frame_idx);
        t.p[t.len++] = ' ';
        idx_prefix_len = t.len;
    }
    if (!reserve(&frames, idx_prefix_len + n)) {
        oom = 1;
        return;
    }
    __builtin_memcpy(frames.p + frames.len, idx_prefix, idx_prefix_len);
    __builtin_memcpy(frames.p + frames.len + idx_prefix_len, start, n);
    frames.len += idx_prefix_len + n;
}
#define FRAME(s) frame("" s, sizeof(s) - 1)
#define F(s) LIT(&frames, s)
#define FS(s) put_str(&frames, s)

/* put_raw writes a JSON value as it is (trimmed of whitespace by the scanner); empty is null. */
static void put_raw(buf *b, str v) {
    if (v.len == 0) {
        LIT(b, "null");
        return;
    }
    put(b, v.p, v.len);
}

/* ---------------------------------------------------------------- scanner */

typedef struct {
    const u8 *b;
    u32 i, n;
    const char *err; /* the first error, or 0 */
} scanner;

static buf arena; /* decoded strings with escapes, for one call */

static void fail(scanner *s, const char *why) {
    if (!s->err) s->err = why;
    s->i = s->n; /* nothing more is read */
}

NOINLINE void ws_loop(scanner *s) {
    const u8 *b = s->b;
    while (b[s->i] == ' ' || b[s->i] == '\n' || b[s->i] == '\t' || b[s->i] == '\r') s->i++;
}

/* ws passes over whitespace; the engine sends none, so the loop is entered only when there is. */
INLINE void ws(scanner *s) {
    u8 c = s->b[s->i];
    if (c <= ' ' && (c == ' ' || c == '\n' || c == '\t' || c == '\r')) ws_loop(s);
}

INLINE u8 peek(scanner *s) {
    ws(s);
    return s->i < s->n ? s->b[s->i] : 0;
}

static int hex4(const u8 *p, u32 *r) {
    u32 v = 0;
    for (int k = 0; k < 4; k++) {
        u8 c = p[k];
        if (c >= '0' && c <= '9') c -= '0';
        else if (c >= 'a' && c <= 'f') c = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') c = c - 'A' + 10;
        else return 0;
        v = v << 4 | c;
    }
    *r = v;
    return 1;
}

static u8 *put_rune(u8 *o, u32 r) {
    if (r < 0x80) {
        *o++ = (u8)r;
    } else if (r < 0x800) {
        *o++ = (u8)(0xC0 | r >> 6), *o++ = (u8)(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
        *o++ = (u8)(0xE0 | r >> 12), *o++ = (u8)(0x80 | (r >> 6 & 0x3F)), *o++ = (u8)(0x80 | (r & 0x3F));
    } else {
        *o++ = (u8)(0xF0 | r >> 18), *o++ = (u8)(0x80 | (r >> 12 & 0x3F));
        *o++ = (u8)(0x80 | (r >> 6 & 0x3F)), *o++ = (u8)(0x80 | (r & 0x3F));
    }
    return o;
}

/* escaped decodes a string with escapes (s->i at its first byte) into the arena, as encoding/json
 * does: a lone surrogate becomes U+FFFD. The arena holds the input's length, decoding never
 * lengthens a string and no byte of the input is decoded twice (skip_string only validates), so it
 * never grows (and never moves) while strings point into it. */
NOINLINE str escaped(scanner *s, u32 start) {
    const u8 *b = s->b;
    if (arena.len + (s->n - start) > arena.cap) { /* never: each byte is decoded at most once */
        fail(s, "out of memory");
        return (str){0};
    }
    u8 *o0 = arena.p + arena.len, *o = o0;
    u32 j = start;
    for (;;) {
        u32 k = plain_run(b, j);
        __builtin_memcpy(o, b + j, k - j);
        o += k - j;
        j = k;
        if (j >= s->n) {
            fail(s, "unterminated string");
            return (str){0};
        }
        u8 c = b[j];
        if (c == '"') break;
        if (c >= 0x80) {
            *o++ = c;
            j++;
            continue;
        }
        if (c < 0x20) {
            fail(s, "control character in string");
            return (str){0};
        }
        u8 e = b[j + 1];
        u32 r;
        switch (e) {
        case '"': case '\\': case '/': *o++ = e; j += 2; continue;
        case 'b': *o++ = '\b'; j += 2; continue;
        case 'f': *o++ = '\f'; j += 2; continue;
        case 'n': *o++ = '\n'; j += 2; continue;
        case 'r': *o++ = '\r'; j += 2; continue;
        case 't': *o++ = '\t'; j += 2; continue;
        case 'u':
            if (j + 6 > s->n || !hex4(b + j + 2, &r)) {
                fail(s, "invalid escape in string");
                return (str){0};
            }
            j += 6;
            if (r >= 0xD800 && r < 0xE000) {
                u32 r2;
                if (r < 0xDC00 && j + 6 <= s->n && b[j] == '\\' && b[j + 1] == 'u' && hex4(b + j + 2, &r2) &&
                    r2 >= 0xDC00 && r2 < 0xE000) {
                    r = ((r - 0xD800) << 10 | (r2 - 0xDC00)) + 0x10000;
                    j += 6;
                } else {
                    r = 0xFFFD;
                }
            }
            o = put_rune(o, r);
            continue;
        default:
            fail(s, "invalid escape in string");
            return (str){0};
        }
    }
    s->i = j + 1;
    u32 n = (u32)(o - o0);
    arena.len += n;
    return (str){o0, n, 0};
}

/* read_str reads a string (null reads as ""); anything else is an error. */
static str read_str(scanner *s) {
    u8 c = peek(s);
    if (c != '"') {
        if (c == 'n' && s->i + 4 <= s->n && load64(s->b + s->i) << 32 >> 32 == LW("null", 0)) {
            s->i += 4;
            return (str){(const u8 *)"", 0, 1};
        }
        fail(s, "want a string");
        return (str){0};
    }
    u32 start = s->i + 1, j = plain_run(s->b, start);
    if (j < s->n && s->b[j] == '"') {
        s->i = j + 1;
        return (str){s->b + start, j - start, 1};
    }
    if (j < s->n && s->b[j] >= 0x80) { /* non-ASCII text: still a view unless it has escapes */
        j = text_run(s->b, j);
        if (j < s->n && s->b[j] == '"') {
            s->i = j + 1;
            return (str){s->b + start, j - start, 0};
        }
    }
    return escaped(s, start);
}

/* skip_string passes over a string (s->i at its quote), validating its escapes without decoding
 * it: nothing is written to the arena, so only the strings a caller keeps take arena space. */
static void skip_string(scanner *s) {
    const u8 *b = s->b;
    u32 j = plain_run(b, s->i + 1), r;
    if (j < s->n && b[j] == '"') { /* most strings: no loop */
        s->i = j + 1;
        return;
    }
    for (;;) {
        j = text_run(b, j);
        if (j >= s->n) {
            fail(s, "unterminated string");
            return;
        }
        u8 c = b[j];
        if (c == '"') break;
        if (c < 0x20) {
            fail(s, "control character in string");
            return;
        }
        u8 e = b[j + 1];
        if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
            j += 2;
        } else if (e == 'u' && j + 6 <= s->n && hex4(b + j + 2, &r)) {
            j += 6;
        } else {
            fail(s, "invalid escape in string");
            return;
        }
    }
    s->i = j + 1;
}

/* number passes over a number; *integer says it has no fraction or exponent. */
static void number(scanner *s, int *integer) {
    const u8 *b = s->b;
    u32 j = s->i;
    *integer = 1;
    if (b[j] == '-') j++;
    if (b[j] == '0') j++;
    else if (b[j] >= '1' && b[j] <= '9')
        while (b[j] >= '0' && b[j] <= '9') j++;
    else goto bad;
    if (b[j] == '.') {
        *integer = 0;
        if (!(b[++j] >= '0' && b[j] <= '9')) goto bad;
        while (b[j] >= '0' && b[j] <= '9') j++;
    }
    if (b[j] == 'e' || b[j] == 'E') {
        *integer = 0;
        j++;
        if (b[j] == '+' || b[j] == '-') j++;
        if (!(b[j] >= '0' && b[j] <= '9')) goto bad;
        while (b[j] >= '0' && b[j] <= '9') j++;
    }
    if (j > s->n) goto bad;
    s->i = j;
    return;
bad:
    fail(s, "invalid number");
}

/* literal passes over true, false or null. */
static void literal(scanner *s) {
    u64 w = s->i + 8 <= s->n + PAD ? load64(s->b + s->i) : 0;
    if ((w & MASK(4)) == LW("true", 0) || (w & MASK(4)) == LW("null", 0)) s->i += 4;
    else if ((w & MASK(5)) == LW("false", 0)) s->i += 5;
    else fail(s, "invalid character");
    if (s->i > s->n) fail(s, "unexpected end");
}

/* key_colon reads a member's name into *key (or passes over it when key is null) and its colon; 0
 * (with an error) for anything else. */
static int key_colon(scanner *s, str *key) {
    if (peek(s) != '"') {
        fail(s, "want a member name");
        return 0;
    }
    if (key) *key = read_str(s);
    else skip_string(s);
    if (peek(s) != ':') {
        fail(s, "want a colon");
        return 0;
    }
    s->i++;
    return !s->err;
}

/* member_name passes over a member's name (without decoding it) and its colon. */
static int member_name(scanner *s) { return key_colon(s, 0); }

#define MAX_DEPTH 10000
static u8 nest[MAX_DEPTH + 2]; /* '}' or ']' for each open container of skip */

/* skip_limit passes over one value of any kind, validating it (iteratively: no deep C recursion);
 * as the SDK's scanner, a value inside more than limit containers is an error. */
static void skip_limit(scanner *s, u32 limit) {
    u32 depth = 0;
    int integer;
    for (;;) {
        /* a value */
        if (depth > limit) {
            fail(s, "nested too deep");
            return;
        }
        u8 c = peek(s);
        switch (c) {
        case '"': skip_string(s); break;
        case '{':
        case '[':
            s->i++;
            nest[depth++] = c == '{' ? '}' : ']';
            if (peek(s) == nest[depth - 1]) {
                s->i++;
                depth--;
                break;
            }
            if (c == '{' && !member_name(s)) return;
            continue;
        case 't': case 'f': case 'n': literal(s); break;
        default:
            if (c == '-' || (c >= '0' && c <= '9')) {
                number(s, &integer);
                break;
            }
            fail(s, s->i >= s->n ? "unexpected end" : "invalid character");
            return;
        }
        if (s->err) return;
        /* after a value: close containers or go on to the next element */
        for (;;) {
            if (depth == 0) return;
            u8 d = peek(s);
            if (d == nest[depth - 1]) {
                s->i++;
                depth--;
                continue;
            }
            if (d != ',') {
                fail(s, "want a comma or the end of a container");
                return;
            }
            s->i++;
            if (nest[depth - 1] == '}' && !member_name(s)) return;
            break;
        }
    }
}

static void skip(scanner *s) { skip_limit(s, MAX_DEPTH); }

/* raw passes over a value and returns its text. */
static str raw_limit(scanner *s, u32 limit) {
    ws(s);
    u32 start = s->i;
    skip_limit(s, limit);
    if (s->err) return (str){0};
    return (str){s->b + start, s->i - start, 0};
}

static str raw(scanner *s) {
    ws(s);
    u32 start = s->i;
    skip(s);
    if (s->err) return (str){0};
    return (str){s->b + start, s->i - start, 0};
}

/* open_container opens an object or array (open is '{' or '['): 1 when there is one, 0 for null
 * or (with the error want) anything else. */
static int open_container(scanner *s, u8 open, const char *want) {
    u8 c = peek(s);
    if (c == open) {
        s->i++;
        return 1;
    }
    if (c == 'n') literal(s);
    else fail(s, want);
    return 0;
}

static int object(scanner *s) { return open_container(s, '{', "want an object"); }
static int array(scanner *s) { return open_container(s, '[', "want an array"); }

/* next_item reports whether an open container (ended by close) has another item (*n read so
 * far), passing over the comma before it; 0 at the container's end or on an error. */
static int next_item(scanner *s, u32 *n, u8 close, const char *want) {
    u8 c = peek(s);
    if (c == close) {
        s->i++;
        return 0;
    }
    if (*n > 0) {
        if (c != ',') {
            fail(s, want);
            return 0;
        }
        s->i++;
    }
    ++*n;
    return !s->err;
}

/* member reads the next member name of an open object (*n members read so far) and its colon; 0 at
 * the object's end or on an error. */
static int member(scanner *s, u32 *n, str *key) {
    return next_item(s, n, '}', "want a comma or }") && key_colon(s, key);
}

/* element reports whether an open array has another element (*n read so far). */
static int element(scanner *s, u32 *n) { return next_item(s, n, ']', "want a comma or ]"); }

/* read_int reads an integer (null reads as 0). */
static i64 read_int(scanner *s, int nonneg) {
    u8 c = peek(s);
    if (c == 'n') {
        literal(s);
        return 0;
    }
    if (c != '-' && (c < '0' || c > '9')) {
        fail(s, "want a number");
        return 0;
    }
    if (nonneg && c == '-') {
        fail(s, "want a non-negative integer");
        return 0;
    }
    u32 start = s->i;
    int integer;
    number(s, &integer);
    if (s->err) return 0;
    const u8 *p = s->b + start, *e = s->b + s->i;
    int neg = *p == '-';
    p += neg;
    u64 v = 0, lim = neg ? (u64)1 << 63 : ((u64)1 << 63) - 1;
    for (; integer && p < e; p++) {
        if (v > (lim - (u64)(*p - '0')) / 10) integer = 0;
        v = v * 10 + (u64)(*p - '0');
    }
    if (!integer) {
        fail(s, "want an integer in range");
        return 0;
    }
    return neg ? (i64)((u64)0 - v) : (i64)v;
}

static void end_value(scanner *s) {
    if (peek(s) != 0 || s->i < s->n) fail(s, "data after the value");
}

/* ---------------------------------------------------------------- events */

enum {
    T_UNKNOWN, T_RUN_STARTED, T_RUN_RESUMED, T_RUN_FINISHED, T_RUN_INTERRUPTED, T_RUN_FAILED,
    T_RUN_CANCELLED, T_STEP_STARTED, T_STEP_FINISHED, T_MESSAGE_START, T_MESSAGE_DELTA, T_MESSAGE_END,
    T_REASONING_START, T_REASONING_DELTA, T_REASONING_END, T_TOOL_START, T_TOOL_ARGS, T_TOOL_END,
    T_TOOL_RESULT, T_ROUTE, T_USAGE, T_APPROVAL_REQUESTED, T_APPROVAL_RESOLVED, T_STATE_SNAPSHOT,
};

typedef struct {
    u32 type;
    str run_id, thread_id, node, agent, path;
    str data; /* the payload's text; len 0 when absent */
    /* fast: the payload was {"message_id"|"call_id": id, "delta": delta} with plain strings, read
     * with the envelope (deltas are most events); handlers then skip reading it again. */
    u32 fast;
    str id, delta;
} event;

static event *events;
static u32 nevents, events_cap;

/* type_of maps an event type name to its id: a switch on the length, then word compares. */
static u32 type_of(str t) {
#define T(name, id) if (is(t, name)) return id
    switch (t.len) {
    case 5: T("route", T_ROUTE); T("usage", T_USAGE); break;
    case 8: T("tool.end", T_TOOL_END); break;
    case 9: T("tool.args", T_TOOL_ARGS); break;
    case 10: T("run.failed", T_RUN_FAILED); T("tool.start", T_TOOL_START); break;
    case 11:
        T("run.started", T_RUN_STARTED); T("run.resumed", T_RUN_RESUMED);
        T("message.end", T_MESSAGE_END); T("tool.result", T_TOOL_RESULT);
        break;
    case 12: T("run.finished", T_RUN_FINISHED); T("step.started", T_STEP_STARTED); break;
    case 13:
        T("message.delta", T_MESSAGE_DELTA); T("run.cancelled", T_RUN_CANCELLED);
        T("step.finished", T_STEP_FINISHED); T("message.start", T_MESSAGE_START);
        T("reasoning.end", T_REASONING_END);
        break;
    case 14: T("state.snapshot", T_STATE_SNAPSHOT); break;
    case 15:
        T("run.interrupted", T_RUN_INTERRUPTED); T("reasoning.start", T_REASONING_START);
        T("reasoning.delta", T_REASONING_DELTA);
        break;
    case 17: T("approval.resolved", T_APPROVAL_RESOLVED); break;
    case 18: T("approval.requested", T_APPROVAL_REQUESTED); break;
    }
#undef T
    return T_UNKNOWN;
}

/* read_data reads an event's payload: an object, or null (as if absent). */
static void read_data(scanner *s, event *e) {
    u8 c = peek(s);
    if (s->i < s->n && c != '{' && c != 'n') {
        fail(s, "event data: want an object");
        return;
    }
    if (c == '{') {
        e->data = raw_limit(s, MAX_DEPTH + 1); /* the SDK does not count the payload's own braces */
        return;
    }
    object(s); /* null, or an error */
    e->data = (str){0};
}

/* envelope_strs are the envelope's string members an event keeps, by name. */
static const struct {
    char name[16]; /* padded: eqn reads whole words */
    u32 len, off;
} envelope_strs[] = {
    {"run_id", 6, __builtin_offsetof(event, run_id)}, {"thread_id", 9, __builtin_offsetof(event, thread_id)},
    {"node", 4, __builtin_offsetof(event, node)},     {"agent", 5, __builtin_offsetof(event, agent)},
    {"path", 4, __builtin_offsetof(event, path)},
};

/* envelope_str reads member k into e when it is one of envelope_strs; 0 when it is not. */
static int envelope_str(scanner *s, event *e, str k) {
    for (u32 i = 0; i < sizeof envelope_strs / sizeof envelope_strs[0]; i++) {
        if (k.len == envelope_strs[i].len && eqn(k.p, (const u8 *)envelope_strs[i].name, k.len)) {
            *(str *)((u8 *)e + envelope_strs[i].off) = read_str(s);
            return 1;
        }
    }
    return 0;
}

/* envelope reads one event object into e, its members in any order (the general reader: the
 * engine's own layout goes through fast_envelope). */
static void envelope(scanner *s, event *e) {
    str k, type = {0};
    int has_type = 0;
    u32 n = 0;
    if (!object(s)) {
        if (!s->err) fail(s, "an event is null");
        return;
    }
    while (member(s, &n, &k)) {
        if (is(k, "type")) {
            type = read_str(s);
            has_type = type.len > 0;
        } else if (is(k, "v")) {
            read_int(s, 0);
        } else if (is(k, "seq")) {
            read_int(s, 1);
        } else if (is(k, "data")) {
            read_data(s, e);
        } else if (is(k, "time")) {
            read_str(s);
        } else if (!envelope_str(s, e, k)) {
            skip(s);
        }
    }
    if (!s->err && !has_type) fail(s, "an event has no type");
    e->type = has_type ? type_of(type) : T_UNKNOWN;
}

/* digits returns the number of decimal digits at p, up to 16 (p is padded). */
INLINE u32 digits(const u8 *p) {
    u64 x = load64(p), nd = ((((x & (ONES * 0x7f)) + ONES * 0x46) | (x - ONES * 0x30) | x) & HIGHS);
    if (nd) return __builtin_ctzll(nd) >> 3;
    x = load64(p + 8), nd = ((((x & (ONES * 0x7f)) + ONES * 0x46) | (x - ONES * 0x30) | x) & HIGHS);
    return 8 + (nd ? __builtin_ctzll(nd) >> 3 : 8);
}

/* fast_uint passes over a non-negative integer of at most 15 digits without a leading zero. */
INLINE int fast_uint(const u8 *b, u32 *i) {
    u32 n = digits(b + *i);
    if (n == 0 || n > 15 || (n > 1 && b[*i] == '0')) return 0;
    *i += n;
    return 1;
}

/* fast_str reads a plain string (no escapes, ASCII) whose opening quote is at b[*i - 1]. */
INLINE int fast_str(const u8 *b, u32 n, u32 *i, str *v) {
    u32 j = plain_run(b, *i);
    if (j >= n || b[j] != '"') return 0;
    *v = (str){b + *i, j - *i, 1};
    *i = j + 1;
    return 1;
}

/* fast_delta reads a payload {"message_id"|"call_id":"...","delta":"..."} into e. */
INLINE int fast_delta(const u8 *b, u32 n, u32 *pi, event *e) {
    u32 i = *pi;
    if (e->type == T_TOOL_ARGS) {
        if (!TOK(b + i, "{\"call_id\":\"")) return 0;
        i += 12;
    } else {
        if (!TOK(b + i, "{\"message_id\":\"")) return 0;
        i += 15;
    }
    if (!fast_str(b, n, &i, &e->id) || !TOK(b + i, ",\"delta\":\"")) return 0;
    i += 10;
    if (!fast_str(b, n, &i, &e->delta) || b[i] != '}') return 0;
    e->data = (str){b + *pi, i + 1 - *pi, 0};
    *pi = i + 1;
    return e->fast = 1;
}

/* fast_envelope reads an event in exactly the layout the engine writes (docs/events.md: v, type,
 * seq, run_id, thread_id, time, node?, agent?, path?, data; no whitespace, no escapes) with straight
 * code; for anything else it returns 0 and the general reader takes the event from its start. */
static int fast_envelope(scanner *s, event *e) {
    const u8 *b = s->b;
    u32 n = s->n, i = s->i;
    str type;
    if (!TOK(b + i, "{\"v\":")) return 0;
    i += 5;
    if (!fast_uint(b, &i) || !TOK(b + i, ",\"type\":\"")) return 0;
    i += 9;
    if (!fast_str(b, n, &i, &type) || type.len == 0 || !TOK(b + i, ",\"seq\":")) return 0;
    i += 7;
    if (!fast_uint(b, &i) || !TOK(b + i, ",\"run_id\":\"")) return 0;
    i += 11;
    if (!fast_str(b, n, &i, &e->run_id) || !TOK(b + i, ",\"thread_id\":\"")) return 0;
    i += 14;
    if (!fast_str(b, n, &i, &e->thread_id) || !TOK(b + i, ",\"time\":\"")) return 0;
    i += 9;
    str time;
    if (!fast_str(b, n, &i, &time)) return 0;
    if (TOK(b + i, ",\"node\":\"")) {
        i += 9;
        if (!fast_str(b, n, &i, &e->node)) return 0;
    }
    if (TOK(b + i, ",\"agent\":\"")) {
        i += 10;
        if (!fast_str(b, n, &i, &e->agent)) return 0;
    }
    if (TOK(b + i, ",\"path\":\"")) {
        i += 9;
        if (!fast_str(b, n, &i, &e->path)) return 0;
    }
    if (!TOK(b + i, ",\"data\":")) return 0;
    i += 8;
    e->type = type_of(type);
    u32 t = e->type;
    if (!((t == T_MESSAGE_DELTA || t == T_REASONING_DELTA || t == T_TOOL_ARGS) && fast_delta(b, n, &i, e))) {
        u32 at = s->i;
        s->i = i;
        read_data(s, e);
        if (s->err) return 1;
        i = s->i;
        s->i = at;
    }
    if (b[i] != '}') return 0;
    s->i = i + 1;
    return 1;
}

/* A guest pays a round trip out of native code at every loop header it passes (wazero's check
 * that the module is still open: what makes a looping guest stoppable), so the loops run per event
 * are unrolled four times around calls of functions kept out of line. */
#define UNROLL4(step) \
    for (;;) {         \
        if (!(step)) break; \
        if (!(step)) break; \
        if (!(step)) break; \
        if (!(step)) break; \
    }

/* parse_event reads the next element of the events array into the events table; 0 at its end. */
NOINLINE int parse_event(scanner *s, u32 *n) {
    if (!element(s, n)) return 0;
    if (!room((void **)&events, nevents, &events_cap, sizeof(event))) {
        fail(s, "out of memory");
        return 0;
    }
    event *e = &events[nevents++];
    __builtin_memset(e, 0, sizeof *e);
    ws(s);
    if (!fast_envelope(s, e)) {
        __builtin_memset(e, 0, sizeof *e); /* what the fast reader filled before giving up */
        envelope(s, e);
    }
    return !s->err;
}

static void parse_events(scanner *s) {
    u32 n = 0;
    if (!array(s)) return;
    UNROLL4(parse_event(s, &n));
}

/* ---------------------------------------------------------------- stream state */

typedef struct {
    str *v;
    u32 n, cap;
} ids;

enum { IDLE = 0, RUNNING = 1, OVER = 2 };

static struct {
    i64 phase;
    ids steps, messages, reasoning, tools;
} st;

/* ids_has looks from the newest id back (deltas are mostly of the message opened last), the first
 * four without a loop. */
static int ids_has(ids *l, str id) {
    u32 n = l->n;
    const str *v = l->v;
    if (n == 0) return 0;
    if (str_eq(v[n - 1], id)) return 1;
    if (n == 1) return 0;
    if (str_eq(v[n - 2], id)) return 1;
    if (n == 2) return 0;
    if (str_eq(v[n - 3], id)) return 1;
    if (n == 3) return 0;
    if (str_eq(v[n - 4], id)) return 1;
    for (u32 i = n - 4; i > 0; i--)
        if (str_eq(v[i - 1], id)) return 1;
    return 0;
}

static int ids_add(ids *l, str id) {
    if (ids_has(l, id)) return 0;
    if (!room((void **)&l->v, l->n, &l->cap, sizeof(str))) {
        oom = 1;
        return 0;
    }
    l->v[l->n++] = id;
    return 1;
}

static int ids_remove(ids *l, str id) {
    for (u32 i = 0; i < l->n; i++) {
        if (str_eq(l->v[i], id)) {
            __builtin_memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof(str));
            l->n--;
            return 1;
        }
    }
    return 0;
}

static void read_ids(scanner *s, ids *l) {
    u32 n = 0;
    if (!array(s)) return;
    while (element(s, &n)) {
        str v = read_str(s);
        if (s->err) return;
        if (!room((void **)&l->v, l->n, &l->cap, sizeof(str))) {
            fail(s, "out of memory");
            return;
        }
        l->v[l->n++] = v; /* duplicates kept, as the Go mapper's state decoder keeps them */
    }
}

/* read_state decodes {"p":N,"s":[...],"m":[...],"r":[...],"t":[...]} (null: the zero state). */
static void read_state(scanner *s) {
    str k;
    u32 n = 0;
    if (!object(s)) return;
    while (member(s, &n, &k)) {
        if (is(k, "p")) st.phase = read_int(s, 0);
        else if (is(k, "s")) read_ids(s, &st.steps);
        else if (is(k, "m")) read_ids(s, &st.messages);
        else if (is(k, "r")) read_ids(s, &st.reasoning);
        else if (is(k, "t")) read_ids(s, &st.tools);
        else skip(s);
    }
}

static void write_ids(buf *b, const char *key, ids *l) {
    if (l->n == 0) return;
    put(b, key, 6); /* ,"x":[ */
    for (u32 i = 0; i < l->n; i++) {
        if (i) put_byte(b, ',');
        put_str(b, l->v[i]);
    }
    put_byte(b, ']');
}

static void write_state(buf *b) {
    LIT(b, "{\"p\":");
    put_int(b, st.phase);
    write_ids(b, ",\"s\":[", &st.steps);
    write_ids(b, ",\"m\":[", &st.messages);
    write_ids(b, ",\"r\":[", &st.reasoning);
    write_ids(b, ",\"t\":[", &st.tools);
    put_byte(b, '}');
}

/* ---------------------------------------------------------------- payloads */

/* payload starts reading an event's data as an object: 0 when it is absent or null. */
static int payload(scanner *s, event *e) {
    *s = (scanner){e->data.p, 0, e->data.len, 0};
    if (e->data.len == 0) return 0;
    return object(s);
}

#define MEMBERS(s, e, k)                                                                                    \
    str k;                                                                                                  \
    u32 n_ = 0;                                                                                             \
    if (payload(s, e))                                                                                      \
        while (member(s, &n_, &k))

typedef struct {
    i64 prompt, completion, total, calls;
} usage;

static void read_usage(scanner *s, usage *u) {
    str k;
    u32 n = 0;
    if (!object(s)) return;
    while (member(s, &n, &k)) {
        if (is(k, "prompt_tokens")) u->prompt = read_int(s, 0);
        else if (is(k, "completion_tokens")) u->completion = read_int(s, 0);
        else if (is(k, "total_tokens")) u->total = read_int(s, 0);
        else if (is(k, "calls")) u->calls = read_int(s, 0);
        else skip(s);
    }
}

typedef struct {
    str code, message;
    int set;
} error;

static void read_error(scanner *s, error *e) {
    str k;
    u32 n = 0;
    *e = (error){0};
    if (!object(s)) return;
    while (member(s, &n, &k)) {
        if (is(k, "code")) e->code = read_str(s);
        else if (is(k, "message")) e->message = read_str(s);
        else skip(s);
    }
    e->set = !s->err;
}

typedef struct {
    str id, call_id, tool, raw;
} approval;

static void read_approval(scanner *s, approval *a) {
    str k;
    u32 n = 0;
    *a = (approval){0};
    ws(s);
    u32 start = s->i;
    if (!object(s)) return;
    while (member(s, &n, &k)) {
        if (is(k, "id")) a->id = read_str(s);
        else if (is(k, "call_id")) a->call_id = read_str(s);
        else if (is(k, "tool")) a->tool = read_str(s);
        else if (is(k, "arguments")) raw(s);
        else if (is(k, "agent") || is(k, "node")) read_str(s);
        else skip(s);
    }
    if (!s->err) a->raw = (str){s->b + start, s->i - start, 0};
}

/* ---------------------------------------------------------------- the mapping */

static const char *map_err; /* a payload that could not be decoded */

static void check(scanner *s) {
    if (s->err && !map_err) map_err = s->err;
}

static str or(str a, str b) { return a.len ? a : b; }
/* Literal strings compared with eqn, which reads whole words: padded to 16 bytes. */
static const char run_lit[16] = "run", run_failed_lit[16] = "the run failed";
static const str S_RUN = {(const u8 *)run_lit, 3, 1};
static const str S_EMPTY = {(const u8 *)"", 0, 1};
static const str S_RUN_FAILED = {(const u8 *)run_failed_lit, 14, 1};

static void close_reasoning(str id) {
    FRAME("{\"type\":\"REASONING_MESSAGE_END\",\"messageId\":");
    FS(id);
    F("}\n");
    FRAME("{\"type\":\"REASONING_END\",\"messageId\":");
    FS(id);
    F("}\n");
}

/* close_all ends every open span, innermost first: tool calls, messages, reasoning, steps. */
static void close_all(void) {
    for (u32 i = 0; i < st.tools.n; i++) {
        FRAME("{\"type\":\"TOOL_CALL_END\",\"toolCallId\":");
        FS(st.tools.v[i]);
        F("}\n");
    }
    for (u32 i = 0; i < st.messages.n; i++) {
        FRAME("{\"type\":\"TEXT_MESSAGE_END\",\"messageId\":");
        FS(st.messages.v[i]);
        F("}\n");
    }
    for (u32 i = 0; i < st.reasoning.n; i++) close_reasoning(st.reasoning.v[i]);
    for (u32 i = st.steps.n; i > 0; i--) {
        FRAME("{\"type\":\"STEP_FINISHED\",\"stepName\":");
        FS(st.steps.v[i - 1]);
        F("}\n");
    }
    st.tools.n = st.messages.n = st.reasoning.n = st.steps.n = 0;
}

#define RUN_HEAD(lit, e) run_head("" lit, sizeof(lit) - 1, e)
static void run_head(const char *type, u32 n, event *e) {
    frame(type, n);
    FS(e->thread_id);
    F(",\"runId\":");
    FS(e->run_id);
}

static void run_finished(event *e) {
    close_all();
    RUN_HEAD("{\"type\":\"RUN_FINISHED\",\"threadId\":", e);
    if (e->data.len && !is(e->data, "null")) {
        F(",\"result\":");
        put_raw(&frames, e->data);
    }
    F(",\"outcome\":{\"type\":\"success\"}}\n");
    st.phase = OVER;
}

static void write_usage(usage *u) {
    F("{\"prompt_tokens\":");
    put_int(&frames, u->prompt);
    F(",\"completion_tokens\":");
    put_int(&frames, u->completion);
    F(",\"total_tokens\":");
    put_int(&frames, u->total);
    if (u->calls) {
        F(",\"calls\":");
        put_int(&frames, u->calls);
    }
    F("}");
}

static approval *approvals;
static u32 approvals_cap;

/* add_approval appends to approvals (na of them so far); 0 when memory is exhausted. */
static int add_approval(u32 na, approval *a) {
    if (!room((void **)&approvals, na, &approvals_cap, sizeof(approval))) return 0;
    approvals[na] = *a;
    return 1;
}

static void run_interrupted(event *e) {
    scanner s;
    usage u = {0};
    u32 na = 0;
    close_all();
    MEMBERS(&s, e, k) {
        if (is(k, "approvals")) {
            u32 n = 0;
            na = 0; /* a repeated member: the last one counts */
            if (array(&s))
                while (element(&s, &n)) {
                    approval a;
                    read_approval(&s, &a);
                    if (add_approval(na, &a)) na++;
                    else fail(&s, "out of memory");
                }
        } else if (is(k, "usage")) {
            u = (usage){0};
            read_usage(&s, &u);
        } else {
            skip(&s);
        }
    }
    check(&s);
    if (map_err) return;
    RUN_HEAD("{\"type\":\"RUN_FINISHED\",\"threadId\":", e);
    F(",\"result\":{\"usage\":");
    write_usage(&u);
    F("}");
    if (na > 0) {
        F(",\"outcome\":{\"type\":\"interrupt\",\"interrupts\":[");
        for (u32 i = 0; i < na; i++) {
            approval *a = &approvals[i];
            if (i) F(",");
            F("{\"id\":");
            FS(a->id);
            F(",\"reason\":\"tool_call\",\"message\":\"Approve the call of tool ");
            put_escaped(&frames, a->tool);
            F("?\"");
            if (a->call_id.len) {
                F(",\"toolCallId\":");
                FS(a->call_id);
            }
            F(",\"responseSchema\":{\"type\":\"object\",\"properties\":{\"approved\":{\"type\":\"boolean\"},"
              "\"editedArgs\":{\"type\":\"object\",\"description\":\"Full replacement of the tool's arguments.\"}},"
              "\"required\":[\"approved\"]},\"metadata\":{\"approval\":");
            put_raw(&frames, a->raw);
            F("}}");
        }
        F("]}");
    }
    F("}\n");
    st.phase = IDLE;
}

/* run_error maps run.failed (with its error) and run.cancelled (with its reason) to RUN_ERROR. */
static void run_error(event *e) {
    scanner s;
    error err = {0};
    str reason = {0};
    int cancelled = e->type == T_RUN_CANCELLED;
    MEMBERS(&s, e, k) {
        if (!cancelled && is(k, "error")) read_error(&s, &err);
        else if (cancelled && is(k, "reason")) reason = read_str(&s);
        else if (is(k, "usage")) {
            usage u;
            read_usage(&s, &u);
        } else skip(&s);
    }
    check(&s);
    if (map_err) return;
    close_all();
    if (cancelled) {
        FRAME("{\"type\":\"RUN_ERROR\",\"message\":\"the run was cancelled");
        if (reason.len) {
            F(": ");
            put_escaped(&frames, reason);
        }
        F("\",\"code\":\"cancelled\"}\n");
    } else {
        FRAME("{\"type\":\"RUN_ERROR\",\"message\":");
        FS(or(err.message, S_RUN_FAILED));
        if (err.code.len) {
            F(",\"code\":");
            FS(err.code);
        }
        F("}\n");
    }
    st.phase = OVER;
}

static void step(event *e, int started) {
    str name = or(e->node, or(e->path, S_RUN));
    if (started ? ids_add(&st.steps, name) : ids_remove(&st.steps, name)) {
        if (started) FRAME("{\"type\":\"STEP_STARTED\",\"stepName\":");
        else FRAME("{\"type\":\"STEP_FINISHED\",\"stepName\":");
        FS(name);
        F("}\n");
    }
}

static void open_message(str id, str name) {
    if (!ids_add(&st.messages, id)) return;
    FRAME("{\"type\":\"TEXT_MESSAGE_START\",\"messageId\":");
    FS(id);
    F(",\"role\":\"assistant\"");
    if (name.len) {
        F(",\"name\":");
        FS(name);
    }
    F("}\n");
}

/* id_delta reads the members message_id (or call_id) and delta of a payload. */
static void id_delta(event *e, str *id, str *delta, int call) {
    scanner s;
    if (e->fast) {
        *id = e->id, *delta = e->delta;
        return;
    }
    MEMBERS(&s, e, k) {
        if (call ? is(k, "call_id") : is(k, "message_id")) *id = read_str(&s);
        else if (is(k, "delta")) *delta = read_str(&s);
        else skip(&s);
    }
    check(&s);
}

static void message_start(event *e) {
    scanner s;
    str id = {0}, name = {0};
    MEMBERS(&s, e, k) {
        if (is(k, "message_id")) id = read_str(&s);
        else if (is(k, "name")) name = read_str(&s);
        else if (is(k, "role")) read_str(&s);
        else skip(&s);
    }
    check(&s);
    if (!map_err) open_message(id, or(name, e->agent));
}

static void message_delta(event *e) {
    str id = S_EMPTY, delta = S_EMPTY;
    id_delta(e, &id, &delta, 0);
    if (map_err || delta.len == 0) return;
    if (!ids_has(&st.messages, id)) open_message(id, e->agent);
    FRAME("{\"type\":\"TEXT_MESSAGE_CONTENT\",\"messageId\":");
    FS(id);
    F(",\"delta\":");
    FS(delta);
    F("}\n");
}

/* message_end also reads "aborted", which must be a boolean or null. */
static void read_bool(scanner *s) {
    u8 c = peek(s);
    if (c == 't' || c == 'f' || c == 'n') literal(s);
    else fail(s, "want a boolean");
}

static void message_end(event *e) {
    scanner s;
    str id = S_EMPTY;
    MEMBERS(&s, e, k) {
        if (is(k, "message_id")) id = read_str(&s);
        else if (is(k, "aborted")) read_bool(&s);
        else skip(&s);
    }
    check(&s);
    if (!map_err && ids_remove(&st.messages, id)) {
        FRAME("{\"type\":\"TEXT_MESSAGE_END\",\"messageId\":");
        FS(id);
        F("}\n");
    }
}

static void open_reasoning(str id) {
    if (!ids_add(&st.reasoning, id)) return;
    FRAME("{\"type\":\"REASONING_START\",\"messageId\":");
    FS(id);
    F("}\n");
    FRAME("{\"type\":\"REASONING_MESSAGE_START\",\"messageId\":");
    FS(id);
    F(",\"role\":\"reasoning\"}\n");
}

static void reasoning(event *e) {
    str id = S_EMPTY, delta = S_EMPTY;
    id_delta(e, &id, &delta, 0);
    if (map_err) return;
    switch (e->type) {
    case T_REASONING_START:
        open_reasoning(id);
        break;
    case T_REASONING_DELTA:
        if (delta.len == 0) return;
        open_reasoning(id);
        FRAME("{\"type\":\"REASONING_MESSAGE_CONTENT\",\"messageId\":");
        FS(id);
        F(",\"delta\":");
        FS(delta);
        F("}\n");
        break;
    default:
        if (ids_remove(&st.reasoning, id)) close_reasoning(id);
    }
}

static int open_tool(str id, str tool, str parent) {
    if (!ids_add(&st.tools, id)) return 0;
    FRAME("{\"type\":\"TOOL_CALL_START\",\"toolCallId\":");
    FS(id);
    F(",\"toolCallName\":");
    FS(tool);
    if (parent.len) {
        F(",\"parentMessageId\":");
        FS(parent);
    }
    F("}\n");
    return 1;
}

static void tool_start(event *e) {
    scanner s;
    str id = S_EMPTY, tool = S_EMPTY, parent = S_EMPTY;
    MEMBERS(&s, e, k) {
        if (is(k, "call_id")) id = read_str(&s);
        else if (is(k, "tool")) tool = read_str(&s);
        else if (is(k, "message_id")) parent = read_str(&s);
        else skip(&s);
    }
    check(&s);
    if (!map_err) open_tool(id, tool, parent);
}

static void tool_args(event *e) {
    str id = S_EMPTY, delta = S_EMPTY;
    id_delta(e, &id, &delta, 1);
    if (map_err || delta.len == 0 || !ids_has(&st.tools, id)) return;
    FRAME("{\"type\":\"TOOL_CALL_ARGS\",\"toolCallId\":");
    FS(id);
    F(",\"delta\":");
    FS(delta);
    F("}\n");
}

static void tool_end(event *e) {
    scanner s;
    str id = S_EMPTY, tool = S_EMPTY, args = {0};
    MEMBERS(&s, e, k) {
        if (is(k, "call_id")) id = read_str(&s);
        else if (is(k, "tool")) tool = read_str(&s);
        else if (is(k, "arguments")) args = raw(&s);
        else if (is(k, "aborted")) read_bool(&s);
        else skip(&s);
    }
    check(&s);
    if (map_err) return;
    if (open_tool(id, tool, S_EMPTY) && args.len > 0 && !is(args, "null")) {
        FRAME("{\"type\":\"TOOL_CALL_ARGS\",\"toolCallId\":");
        FS(id);
        F(",\"delta\":\"");
        put_escaped(&frames, args);
        F("\"}\n");
    }
    ids_remove(&st.tools, id);
    FRAME("{\"type\":\"TOOL_CALL_END\",\"toolCallId\":");
    FS(id);
    F("}\n");
}

static void tool_result(event *e) {
    scanner s;
    str id = S_EMPTY, msg = S_EMPTY, result = {0};
    error err = {0};
    MEMBERS(&s, e, k) {
        if (is(k, "call_id")) id = read_str(&s);
        else if (is(k, "message_id")) msg = read_str(&s);
        else if (is(k, "tool")) read_str(&s);
        else if (is(k, "result")) result = raw(&s);
        else if (is(k, "error")) read_error(&s, &err);
        else if (is(k, "duration_ms")) read_int(&s, 0);
        else skip(&s);
    }
    check(&s);
    if (map_err) return;
    FRAME("{\"type\":\"TOOL_CALL_RESULT\",\"messageId\":");
    if (msg.len) {
        FS(msg);
    } else {
        F("\"result_");
        put_escaped(&frames, id);
        F("\"");
    }
    F(",\"toolCallId\":");
    FS(id);
    F(",\"content\":\"");
    if (err.set) {
        /* the text of {"error":{"code"?:...,"message":...}}, escaped once more as a string */
        static buf t;
        t.len = 0;
        LIT(&t, "{\"error\":{");
        if (err.code.len) {
            LIT(&t, "\"code\":");
            put_str(&t, err.code);
            put_byte(&t, ',');
        }
        LIT(&t, "\"message\":");
        put_str(&t, err.message);
        LIT(&t, "}}");
        put_escaped(&frames, (str){t.p, t.len, 0});
    } else if (result.len > 0) {
        put_escaped(&frames, result);
    } else {
        F("null");
    }
    F("\",\"role\":\"tool\"}\n");
}

static void custom(event *e, const char *head, u32 n) {
    frame(head, n);
    put_raw(&frames, e->data);
    F("}\n");
}
#define CUSTOM(e, name) custom(e, "{\"type\":\"CUSTOM\",\"name\":\"" name "\",\"value\":", sizeof("{\"type\":\"CUSTOM\",\"name\":\"" name "\",\"value\":") - 1)

static void approval_requested(event *e) {
    scanner s;
    approval a = {0};
    MEMBERS(&s, e, k) {
        if (is(k, "approval")) read_approval(&s, &a);
        else skip(&s);
    }
    check(&s);
    if (map_err) return;
    FRAME("{\"type\":\"CUSTOM\",\"name\":\"fleet.approval_requested\",\"value\":");
    put_raw(&frames, a.raw);
    F("}\n");
}

static void state_snapshot(event *e) {
    scanner s;
    str v = {0};
    MEMBERS(&s, e, k) {
        if (is(k, "state")) v = raw(&s);
        else skip(&s);
    }
    check(&s);
    if (map_err) return;
    FRAME("{\"type\":\"STATE_SNAPSHOT\",\"snapshot\":");
    put_raw(&frames, v);
    F("}\n");
}

/* map_event is the dispatch: a live stream opens its run first; an over one maps nothing. */
static void map_event(event *e) {
    if (e->type == T_UNKNOWN) return;
    if (st.phase == OVER) return;
    if (st.phase == IDLE) {
        RUN_HEAD("{\"type\":\"RUN_STARTED\",\"threadId\":", e);
        F("}\n");
        st.phase = RUNNING;
    }
    switch (e->type) {
    case T_MESSAGE_DELTA: message_delta(e); break;
    case T_RUN_STARTED: case T_RUN_RESUMED: break;
    case T_RUN_FINISHED: run_finished(e); break;
    case T_RUN_INTERRUPTED: run_interrupted(e); break;
    case T_RUN_FAILED: case T_RUN_CANCELLED: run_error(e); break;
    case T_STEP_STARTED: step(e, 1); break;
    case T_STEP_FINISHED: step(e, 0); break;
    case T_MESSAGE_START: message_start(e); break;
    case T_MESSAGE_END: message_end(e); break;
    case T_REASONING_START: case T_REASONING_DELTA: case T_REASONING_END: reasoning(e); break;
    case T_TOOL_START: tool_start(e); break;
    case T_TOOL_ARGS: tool_args(e); break;
    case T_TOOL_END: tool_end(e); break;
    case T_TOOL_RESULT: tool_result(e); break;
    case T_ROUTE: CUSTOM(e, "fleet.route"); break;
    case T_USAGE: CUSTOM(e, "fleet.usage"); break;
    case T_APPROVAL_REQUESTED: approval_requested(e); break;
    case T_APPROVAL_RESOLVED: CUSTOM(e, "fleet.approval_resolved"); break;
    case T_STATE_SNAPSHOT: state_snapshot(e); break;
    }
}

/* map_next maps event *next and moves on; 0 when the batch is done or failed. */
NOINLINE int map_next(u32 *next) {
    u32 i = *next;
    if (i >= nevents || map_err) return 0;
    frame_idx = i, idx_prefix_len = 0;
    map_event(&events[i]);
    *next = i + 1;
    return 1;
}

/* ---------------------------------------------------------------- exports */

static buf input;

static u32 cstrlen(const char *s) {
    u32 n = 0;
    while (s[n]) n++;
    return n;
}

/* result packs a pointer to the result region and its length. */
static u64 result(void) { return (u64)(u32)out.p << 32 | out.len; }

/* fail_result makes the result region a status 2 error {"message": "agui: <what>: <why>", "code"}. */
static u64 fail_result(const char *code, const char *what, const char *why) {
    out.len = 0;
    oom = 0;
    put_byte(&out, 2);
    LIT(&out, "{\"message\":\"agui: ");
    put_escaped(&out, (str){(const u8 *)what, (u32)cstrlen(what), 0});
    if (why) {
        LIT(&out, ": ");
        put_escaped(&out, (str){(const u8 *)why, (u32)cstrlen(why), 0});
    }
    LIT(&out, "\",\"code\":\"");
    put(&out, code, (u32)cstrlen(code));
    LIT(&out, "\"}");
    return oom ? 0 : result();
}

EXPORT("fleet_abi_v1") void fleet_abi_v1(void) {}

/* fleet_alloc hands out the input region, grown as needed: one call's input at a time. */
EXPORT("fleet_alloc") u8 *fleet_alloc(u32 size) {
    input.len = 0;
    if (!reserve(&input, size)) return 0;
    return input.p;
}

static const char descriptor[] =
    "\0{\"abi_minor\":1,\"name\":\"agui\",\"version\":\"1.0.0\",\"kind\":\"mapper\","
    "\"description\":\"Maps engine events to AG-UI protocol events (Server-Sent Events).\",\"capabilities\":[],"
    "\"mapper\":{\"format\":\"agui\",\"content_type\":\"text/event-stream\",\"framing\":\"sse\",\"events\":["
    "\"approval.requested\",\"approval.resolved\",\"message.delta\",\"message.end\",\"message.start\","
    "\"reasoning.delta\",\"reasoning.end\",\"reasoning.start\",\"route\",\"run.cancelled\",\"run.failed\","
    "\"run.finished\",\"run.interrupted\",\"run.resumed\",\"run.started\",\"state.snapshot\",\"step.finished\","
    "\"step.started\",\"tool.args\",\"tool.end\",\"tool.result\",\"tool.start\",\"usage\"]}}";

/* fleet_init answers the descriptor; the mapper needs no capability, so the request is not read. */
EXPORT("fleet_init") u64 fleet_init(u8 *ptr, u32 len) {
    (void)ptr, (void)len;
    return (u64)(u32)descriptor << 32 | (sizeof descriptor - 1);
}

enum { OP_START = 1, OP_EVENTS, OP_END };

/* fleet_map maps one batch of one stream (docs/abi.md section 8). */
EXPORT("fleet_map") u64 fleet_map(u8 *ptr, u32 len) {
    if (len == 0) return fail_result("bad_message", "fleet_map request", "empty");
    if (ptr != input.p || len > input.cap) /* the host always passes what fleet_alloc gave */
        return fail_result("bad_message", "fleet_map request", "not in the region fleet_alloc gave");
    __builtin_memset(ptr + len, 0, PAD);
    scanner s = {ptr, 0, len, 0};
    str k, op = {0}, state = {0};
    u32 n = 0;

    arena.len = 0;
    if (!reserve(&arena, len)) return 0;
    nevents = 0;
    if (!object(&s)) {
        return fail_result("bad_message", "fleet_map request", s.err ? s.err : "the request is null");
    }
    while (member(&s, &n, &k)) {
        if (is(k, "op")) op = read_str(&s);
        else if (is(k, "state")) state = raw(&s);
        else if (is(k, "events")) parse_events(&s);
        else if (is(k, "stream")) read_str(&s);
        else skip(&s);
    }
    end_value(&s);
    if (s.err) return fail_result("bad_message", "fleet_map request", s.err);
    u32 opid = is(op, "start") ? OP_START : is(op, "events") ? OP_EVENTS : is(op, "end") ? OP_END : 0;
    if (!opid) return fail_result("unsupported", "fleet_map op is not start, events or end", 0);

    st.phase = IDLE;
    st.steps.n = st.messages.n = st.reasoning.n = st.tools.n = 0;
    if (opid != OP_START && state.len) {
        scanner ss = {state.p, 0, state.len, 0};
        read_state(&ss);
        end_value(&ss);
        if (ss.err) return fail_result("bad_message", "fleet_map state", ss.err);
    }

    frames.len = 0;
    oom = 0;
    map_err = 0;
    u32 next = 0;
    UNROLL4(map_next(&next));
    if (map_err) return fail_result("bad_message", "event data", map_err);
    if (opid == OP_END && st.phase == RUNNING) {
        frame_idx = -1, idx_prefix_len = 0;
        close_all();
    }
    frame_idx = -1, idx_prefix_len = 0;

    out.len = 0;
    put_byte(&out, 0);
    write_state(&out);
    put_byte(&out, '\n');
    put(&out, frames.p, frames.len);
    if (oom) return 0;
    return result();
}
