/* SPDX-License-Identifier: MIT */
#include "rsu_text.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

bool rsu_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* iconv with whole-input semantics: partial sequences count as invalid. */
static int convert(const char *to, const char *from, const char *in, size_t inlen, char *out,
                   size_t outsize, size_t *outlen)
{
    iconv_t cd = iconv_open(to, from);
    if (cd == (iconv_t)-1)
        return RSU_TEXT_EINVAL;
    char *ip = (char *)in; /* iconv's prototype is not const-correct */
    char *op = out;
    size_t il = inlen, ol = outsize;
    int rc = RSU_TEXT_OK;
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
        rc = errno == E2BIG ? RSU_TEXT_ETOOBIG : RSU_TEXT_EINVAL;
    else if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
        rc = errno == E2BIG ? RSU_TEXT_ETOOBIG : RSU_TEXT_EINVAL;
    iconv_close(cd);
    *outlen = outsize - ol;
    return rc;
}

int rsu_text_to_utf8(enum rsu_encoding enc, const char *in, size_t inlen, char *out, size_t outsize)
{
    if (outsize == 0)
        return RSU_TEXT_ETOOBIG;
    out[0] = '\0';
    if (enc == RSU_ENC_UTF8) {
        if (!rsu_utf8_valid(in, inlen))
            return RSU_TEXT_EINVAL;
        if (inlen >= outsize)
            return RSU_TEXT_ETOOBIG;
        memcpy(out, in, inlen);
        out[inlen] = '\0';
        return RSU_TEXT_OK;
    }
    size_t n = 0;
    int rc = convert("UTF-8", "GB18030", in, inlen, out, outsize - 1, &n);
    out[rc == RSU_TEXT_OK ? n : 0] = '\0';
    return rc;
}

int rsu_text_from_utf8(enum rsu_encoding enc, const char *in, char *out, size_t outsize,
                       size_t *outlen)
{
    size_t inlen = strlen(in);
    *outlen = 0;
    if (!rsu_utf8_valid(in, inlen))
        return RSU_TEXT_EINVAL;
    if (enc == RSU_ENC_UTF8) {
        if (inlen > outsize)
            return RSU_TEXT_ETOOBIG;
        memcpy(out, in, inlen);
        *outlen = inlen;
        return RSU_TEXT_OK;
    }
    return convert("GB18030", "UTF-8", in, inlen, out, outsize, outlen);
}
