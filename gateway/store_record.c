/* SPDX-License-Identifier: MIT */
/*
 * What the store reads out of a record: the indexed columns, derived from the
 * payload in one place so that store_append() and store_verify() agree.
 * Empty strings and bytes count as absent (NULL columns).
 */
#include "store_priv.h"

#include <string.h>
#include <strings.h>

#include "rsgw/v1/record.pb-c.h"

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

static uint32_t exceeded_mask(const Rsgw__V1__Verdict *v)
{
    static const uint32_t bits[] = {POLLUTANT_OPACITY, POLLUTANT_NO, POLLUTANT_RINGELMANN,
                                    POLLUTANT_CO,      POLLUTANT_HC, POLLUTANT_OBD};
    uint32_t mask = 0;
    for (size_t i = 0; i < v->n_exceeded; i++) {
        if (!v->exceeded[i])
            continue;
        /* Names the store does not know stay in the payload; they just have no bit. */
        for (size_t b = 0; b < sizeof bits / sizeof bits[0]; b++)
            if (strcasecmp(v->exceeded[i], history_pollutant_name(bits[b])) == 0)
                mask |= bits[b];
    }
    return mask;
}

static void derive_pass(const Rsgw__V1__Pass *p, struct store_derived *d)
{
    const Rsgw__V1__Measurement *m = p->measurement;
    d->kind = STORE_KIND_PASS;
    d->plate = p->vehicle ? nonempty(p->vehicle->plate) : NULL;
    if (!d->plate && m)
        d->plate = nonempty(m->plate);
    if (m) {
        d->device_id = nonempty(m->device_id);
        d->has_device_seq = m->has_device_seq;
        d->device_seq = m->device_seq;
        if (m->has_raw_fingerprint && m->raw_fingerprint.len > 0) {
            d->fingerprint = m->raw_fingerprint.data;
            d->fingerprint_len = m->raw_fingerprint.len;
        }
    }
    if (p->verdict && p->verdict->has_result) {
        d->has_result = true;
        d->result = (int)p->verdict->result;
        d->judged = d->result == RSGW__V1__RESULT__RESULT_PASS ||
                    d->result == RSGW__V1__RESULT__RESULT_OVER_STANDARD;
        d->finding = d->result == RSGW__V1__RESULT__RESULT_OVER_STANDARD;
    }
    if (p->verdict)
        d->exceeded = exceeded_mask(p->verdict);
}

/* An OBD inspection is indexed like a pass judged by the policy: the plate from the
 * vehicle (else the one the officer entered), result / exceeded / finding from the
 * verdict; it comes from no device, so the device columns stay empty. */
static void derive_obd(const Rsgw__V1__ObdInspection *o, struct store_derived *d)
{
    d->kind = STORE_KIND_PASS;
    d->plate = o->vehicle ? nonempty(o->vehicle->plate) : NULL;
    if (!d->plate && o->check)
        d->plate = nonempty(o->check->plate);
    if (o->verdict && o->verdict->has_result) {
        d->has_result = true;
        d->result = (int)o->verdict->result;
        d->judged = d->result == RSGW__V1__RESULT__RESULT_PASS ||
                    d->result == RSGW__V1__RESULT__RESULT_OVER_STANDARD;
        d->finding = d->result == RSGW__V1__RESULT__RESULT_OVER_STANDARD;
    }
    if (o->verdict)
        d->exceeded = exceeded_mask(o->verdict);
}

int store_derive(const uint8_t *payload, size_t len, struct store_derived *d)
{
    memset(d, 0, sizeof *d);
    if (!payload && len > 0)
        return STORE_EINVAL;
    Rsgw__V1__Record *r = rsgw__v1__record__unpack(NULL, len, payload);
    if (!r)
        return STORE_EINVAL;
    d->rec = r;
    d->seq = r->has_seq ? r->seq : 0;
    d->time_ms = r->has_time_ms ? r->time_ms : 0;
    d->checkpoint = nonempty(r->checkpoint);
    if (r->body_case == RSGW__V1__RECORD__BODY_PASS && r->pass)
        derive_pass(r->pass, d);
    else if (r->body_case == RSGW__V1__RECORD__BODY_OBD && r->obd)
        derive_obd(r->obd, d);
    else if (r->body_case == RSGW__V1__RECORD__BODY_EVENT)
        d->kind = STORE_KIND_EVENT;
    return STORE_OK;
}

void store_derived_free(struct store_derived *d)
{
    if (d->rec)
        rsgw__v1__record__free_unpacked(d->rec, NULL);
    memset(d, 0, sizeof *d);
}

int store_chain_hash(store *s, const uint8_t prev[STORE_HASH_LEN], const uint8_t *payload,
                     size_t len, uint8_t out[STORE_HASH_LEN])
{
    unsigned int out_len = 0;
    if (EVP_DigestInit_ex2(s->md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(s->md, prev, STORE_HASH_LEN) != 1 ||
        (len > 0 && EVP_DigestUpdate(s->md, payload, len) != 1) ||
        EVP_DigestFinal_ex(s->md, out, &out_len) != 1 || out_len != STORE_HASH_LEN)
        return store_fail(s, STORE_ERR, "%s: SHA-256 failed (libcrypto)", s->path);
    return STORE_OK;
}
