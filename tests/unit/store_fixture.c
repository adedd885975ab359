/* SPDX-License-Identifier: MIT */
#include "store_fixture.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "rsgw/v1/record.pb-c.h"

static void raw_registers(uint32_t device_seq, uint8_t raw[40])
{
    for (int i = 0; i < 40; i++)
        raw[i] = (uint8_t)((device_seq * 2654435761u) >> (i % 24)) ^ (uint8_t)i;
}

void fixture_fingerprint(uint32_t device_seq, uint8_t out[32])
{
    uint8_t raw[40];
    unsigned int len = 0;
    raw_registers(device_seq, raw);
    EVP_Digest(raw, sizeof raw, out, &len, EVP_sha256(), NULL);
}

static Rsgw__V1__RuleHit rule(const char *id, const char *q, double measured, double limit,
                              const char *unit, const char *clause, const char *text)
{
    Rsgw__V1__RuleHit r = RSGW__V1__RULE_HIT__INIT;
    r.rule_id = (char *)id;
    r.quantity = (char *)q;
    r.has_measured = 1;
    r.measured = measured;
    r.has_limit = 1;
    r.limit = limit;
    r.unit = (char *)unit;
    r.clause = (char *)clause;
    r.text = (char *)text;
    return r;
}

static size_t pack_record(const Rsgw__V1__Record *rec, uint8_t *buf, size_t cap)
{
    size_t need = rsgw__v1__record__get_packed_size(rec);
    if (need > cap)
        return 0;
    return rsgw__v1__record__pack(rec, buf);
}

size_t fixture_pass(const struct fixture_pass *p, uint8_t *buf, size_t cap)
{
    uint8_t raw[40], fp[32];
    raw_registers(p->device_seq, raw);
    fixture_fingerprint(p->device_seq, fp);

    Rsgw__V1__Measurement m = RSGW__V1__MEASUREMENT__INIT;
    m.device_id = (char *)(p->device_id ? p->device_id : "rsu-north-1");
    m.lane = "north";
    m.has_device_seq = 1;
    m.device_seq = p->device_seq;
    m.has_read_time_ms = 1;
    m.read_time_ms = p->time_ms - 120;
    m.has_device_time_ms = 1;
    m.device_time_ms = p->time_ms - 900;
    m.plate = (char *)(p->plate ? p->plate : "");
    m.has_plate_colour_code = 1;
    m.plate_colour_code = 2;
    m.has_plate_colour = 1;
    m.plate_colour = RSGW__V1__PLATE_COLOUR__PLATE_COLOUR_YELLOW;
    m.has_opacity_pct = 1;
    m.opacity_pct = 12.5 + (p->seq % 40);
    m.has_ringelmann = 1;
    m.ringelmann = 1.0;
    m.has_no_ppm = 1;
    m.no_ppm = 830 + (double)(p->seq % 500);
    m.has_co_pct = 1;
    m.co_pct = 0.12;
    m.has_hc_ppm = 1;
    m.hc_ppm = 45;
    m.has_co2_pct = 1;
    m.co2_pct = 9.8;
    m.has_speed_kmh = 1;
    m.speed_kmh = 38.4;
    m.has_accel_ms2 = 1;
    m.accel_ms2 = 0.35;
    m.has_vsp_kw_t = 1;
    m.vsp_kw_t = 6.2;
    m.has_wind_speed_ms = 1;
    m.wind_speed_ms = 1.8;
    m.has_ambient_temp_c = 1;
    m.ambient_temp_c = 21.5;
    m.has_humidity_pct = 1;
    m.humidity_pct = 48;
    m.has_pressure_kpa = 1;
    m.pressure_kpa = 100.9;
    char *images[] = {"n/000123-p.jpg", "n/000123-r.jpg"};
    m.n_image_refs = 2;
    m.image_refs = images;
    m.has_raw_registers = 1;
    m.raw_registers.data = raw;
    m.raw_registers.len = sizeof raw;
    m.profile = "hj-845-2017 1.2";
    m.has_raw_fingerprint = 1;
    m.raw_fingerprint.data = fp;
    m.raw_fingerprint.len = sizeof fp;

    Rsgw__V1__Vehicle v = RSGW__V1__VEHICLE__INIT;
    v.plate = (char *)(p->plate ? p->plate : "");
    v.has_plate_kind = 1;
    v.plate_kind = RSGW__V1__PLATE_KIND__PLATE_KIND_ORDINARY;
    v.has_local = 1;
    v.local = 1;
    v.region = "豫A";
    v.has_fuel = 1;
    v.fuel = RSGW__V1__FUEL__FUEL_DIESEL;
    v.has_emission_stage = 1;
    v.emission_stage = 5;
    v.has_gross_weight_kg = 1;
    v.gross_weight_kg = 18000;
    v.has_vehicle_class = 1;
    v.vehicle_class = RSGW__V1__VEHICLE_CLASS__VEHICLE_CLASS_TRUCK;
    v.has_heavy = 1;
    v.heavy = 1;

    Rsgw__V1__RuleHit hits[2] = {
        rule("no.limit", "NO", m.no_ppm, 1500, "ppm", "GB 3847-2018 t2", "NO over the limit."),
        rule("finding.count", "finding_count", 2, 3, "", "local 7", "Second finding: warn."),
    };
    Rsgw__V1__RuleHit *hit_ptrs[2] = {&hits[0], &hits[1]};
    Rsgw__V1__Action actions[] = {RSGW__V1__ACTION__ACTION_WARN};
    char *exceeded[5];
    size_t n_exceeded = 0;
    for (uint32_t bit = 1; bit <= POLLUTANT_HC; bit <<= 1)
        if (p->exceeded & bit)
            exceeded[n_exceeded++] = (char *)history_pollutant_name(bit);

    Rsgw__V1__Verdict ver = RSGW__V1__VERDICT__INIT;
    if (p->result) {
        ver.has_result = 1;
        ver.result = (Rsgw__V1__Result)p->result;
    }
    ver.n_actions = 1;
    ver.actions = actions;
    ver.n_rules = 2;
    ver.rules = hit_ptrs;
    ver.limit_set = "a";
    ver.has_window_start_ms = 1;
    ver.window_start_ms = p->time_ms - 365LL * 86400000;
    ver.n_exceeded = n_exceeded;
    ver.exceeded = exceeded;
    ver.policy_digest = "5d41402abc4b2a76b9719d911017c592ae2d7e1c9f8a2b3c4d5e6f708192a3b4";

    Rsgw__V1__Pass pass = RSGW__V1__PASS__INIT;
    pass.measurement = &m;
    pass.vehicle = &v;
    pass.verdict = &ver;

    Rsgw__V1__Record rec = RSGW__V1__RECORD__INIT;
    rec.has_seq = 1;
    rec.seq = p->seq;
    rec.has_time_ms = 1;
    rec.time_ms = p->time_ms;
    rec.gateway_id = "gw-henan-0042";
    rec.checkpoint = (char *)(p->checkpoint ? p->checkpoint : "G107-K1423");
    rec.body_case = RSGW__V1__RECORD__BODY_PASS;
    rec.pass = &pass;
    return pack_record(&rec, buf, cap);
}

size_t fixture_event(uint64_t seq, int64_t time_ms, const char *kind, uint8_t *buf, size_t cap)
{
    Rsgw__V1__Event ev = RSGW__V1__EVENT__INIT;
    ev.kind = (char *)kind;
    ev.detail = "test event";
    Rsgw__V1__Record rec = RSGW__V1__RECORD__INIT;
    rec.has_seq = 1;
    rec.seq = seq;
    rec.has_time_ms = 1;
    rec.time_ms = time_ms;
    rec.gateway_id = "gw-henan-0042";
    rec.checkpoint = "G107-K1423";
    rec.body_case = RSGW__V1__RECORD__BODY_EVENT;
    rec.event = &ev;
    return pack_record(&rec, buf, cap);
}

void fixture_dir_make(char *dir, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, cap, "%s/rsgw-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= cap || !mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
}

void fixture_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
