#include "ShellShim.h"

#include <langinfo.h>
#include <wchar.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <editline/readline.h>

static ls_complete_fn complete_fn = NULL;

static char *dup_range(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

// libedit edits wide characters and passes the completion range in characters; the line
// buffer (and the completer) are UTF-8 bytes.
static int char_to_byte_offset(const char *s, int chars) {
    size_t len = strlen(s), off = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (int i = 0; i < chars && off < len; i++) {
        size_t n = mbrlen(s + off, len - off, &st);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            n = 1;  // an invalid byte counts as one character, as libedit decodes it
            memset(&st, 0, sizeof st);
        }
        off += n;
    }
    return (int)off;
}

static char **attempted_completion(const char *text, int start, int end) {
    (void)text;
    rl_attempted_completion_over = 1;  // no fallback to filename completion
    if (!complete_fn) return NULL;
    char *cands = complete_fn(rl_line_buffer, char_to_byte_offset(rl_line_buffer, start), char_to_byte_offset(rl_line_buffer, end));
    if (!cands) return NULL;
    // split on '\n'
    int n = 0;
    for (char *p = cands; *p; p++)
        if (*p == '\n') n++;
    if (cands[0] && cands[strlen(cands) - 1] != '\n') n++;
    if (n == 0) {
        free(cands);
        return NULL;
    }
    char **matches = calloc((size_t)n + 2, sizeof(char *));
    if (!matches) {
        free(cands);
        return NULL;
    }
    int k = 1;
    char *s = cands;
    while (*s && k <= n) {
        char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        matches[k++] = dup_range(s, len);
        if (!e) break;
        s = e + 1;
    }
    int count = k - 1;
    // matches[0]: the longest common prefix
    size_t lcp = strlen(matches[1]);
    for (int i = 2; i <= count; i++) {
        size_t j = 0;
        while (j < lcp && matches[i][j] && matches[i][j] == matches[1][j]) j++;
        lcp = j;
    }
    matches[0] = dup_range(matches[1], lcp);
    matches[count + 1] = NULL;
    free(cands);
    if (count == 1) {
        // a single match: readline uses matches[0]; no duplicate list needed
        free(matches[1]);
        matches[1] = NULL;
    }
    return matches;
}

// libedit decodes typed bytes with the C library's multibyte functions: under the default "C"
// locale every byte above 0x7f is dropped (typed "café" arrives as "caf"). The user's
// LC_CTYPE is taken, and when that is plain ASCII ("C", "POSIX", no LANG at all) UTF-8 is
// used, as terminals today send it. Only LC_CTYPE: number formatting stays "C" for Lua.
static void use_terminal_charset(void) {
    setlocale(LC_CTYPE, "");
    const char *cs = nl_langinfo(CODESET);
    if (cs && strcmp(cs, "ANSI_X3.4-1968") != 0 && strcmp(cs, "ASCII") != 0) return;
    if (!setlocale(LC_CTYPE, "C.UTF-8")) setlocale(LC_CTYPE, "C.utf8");
}

void ls_init(const char *name, ls_complete_fn fn, int max_history, const char *history_path) {
    use_terminal_charset();
    static char namebuf[64];
    snprintf(namebuf, sizeof namebuf, "%s", name);
    rl_readline_name = namebuf;
    complete_fn = fn;
    rl_attempted_completion_function = attempted_completion;
    rl_basic_word_break_characters = " \t\n\"'`=({[,;+*%^<>~#|&";
    rl_completion_append_character = '\0';
    rl_initialize();  // the key map below needs the editor, which readline() makes lazily
    // Ctrl-R's incremental search looks a typed character up in the key map by its low byte
    // only, and the map leaves 0x80-0x9F unassigned, so a character such as ん (U+3093) ended
    // the search. Those entries (C1 controls) mean nothing else; the key is given as the UTF-8
    // of U+0080..U+009F, which libedit decodes to the one map entry.
    for (int c = 0x80; c <= 0x9F; c++) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "bind %c%c ed-insert", 0xC0 | (c >> 6), 0x80 | (c & 0x3F));
        rl_parse_and_bind(cmd);
    }
    using_history();
    stifle_history(max_history);
    if (history_path) read_history(history_path);
}

char *ls_readline(const char *prompt) { return readline(prompt); }

void ls_add_history(const char *line) { add_history(line); }

int ls_write_history(const char *path) { return write_history(path); }

int ls_history_length(void) { return history_length; }

const char *ls_history_get(int i) {
    HIST_ENTRY *h = history_get(history_base + i);
    return h ? h->line : NULL;
}

void ls_free(void *p) { free(p); }
