/* The geo group against a real server: every bound command and variant
 * (GEOSEARCH and each GEORADIUS form with and without WITH* fields, and the
 * STORE / STOREDIST forms), results that carry exactly the fields asked
 * for, nils for missing members, option checks made before sending and
 * server errors. Positions go through a 52-bit geohash, so coordinates and
 * distances are compared with a tolerance; hashes and members exactly. */
#include <math.h>
#include <stdarg.h>

#include "testutil.h"

static reds_client *c;

/* The two cities of the Redis documentation. */
#define PALERMO_LON  13.361389
#define PALERMO_LAT  38.115556
#define CATANIA_LON  15.087269
#define CATANIA_LAT  37.502669
#define PALERMO_HASH INT64_C(3479099956230698)
#define CATANIA_HASH INT64_C(3479447370796909)

static void setup(void)
{
    test_flush();
    c = test_client(NULL);
    reds_geo_member m[] = {{PALERMO_LON, PALERMO_LAT, S("Palermo")},
                           {CATANIA_LON, CATANIA_LAT, S("Catania")}};
    int64_t n = -1;
    ASSERT_OK(reds_geoadd(c, S("Sicily"), m, 2, NULL, &n));
    ck_assert_int_eq(n, 2);
}

static void teardown(void)
{
    reds_client_free(c);
    c = NULL;
}

#define ASSERT_NEAR(got, expect, tol)                                                              \
    do {                                                                                           \
        double g_ = (got), e_ = (expect);                                                          \
        ck_assert_msg(fabs(g_ - e_) <= (tol), "%s = %.10f, expected %.10f (+-%g)", #got, g_, e_,   \
                      (double)(tol));                                                              \
    } while (0)

/* The centre the GEORADIUS and GEOSEARCH queries use, and what the server
 * answers for it (km). */
#define CENTER_LON 15.0
#define CENTER_LAT 37.0
#define PALERMO_KM 190.4424
#define CATANIA_KM 56.4413

static void assert_palermo_pos(const reds_geo_pos *p)
{
    ck_assert(p->set);
    ASSERT_NEAR(p->longitude, PALERMO_LON, 1e-5);
    ASSERT_NEAR(p->latitude, PALERMO_LAT, 1e-5);
}

static void assert_catania_pos(const reds_geo_pos *p)
{
    ck_assert(p->set);
    ASSERT_NEAR(p->longitude, CATANIA_LON, 1e-5);
    ASSERT_NEAR(p->latitude, CATANIA_LAT, 1e-5);
}

/* Which of the WITH* fields a result may carry. */
enum { DIST = 1, HASH = 2, COORD = 4 };

/* One result: the member, and exactly the fields of `with`. `km` is its
 * distance from CENTER (used when DIST is asked for). */
static void assert_result(const reds_geo_result *r, const char *member, unsigned with)
{
    ASSERT_STR(&r->member, member);
    bool palermo = strcmp(member, "Palermo") == 0;
    ck_assert_msg(r->dist.set == !!(with & DIST), "%s: dist.set is %d", member, r->dist.set);
    ck_assert_msg(r->hash.set == !!(with & HASH), "%s: hash.set is %d", member, r->hash.set);
    ck_assert_msg(r->coord.set == !!(with & COORD), "%s: coord.set is %d", member, r->coord.set);
    if (with & DIST)
        ASSERT_NEAR(r->dist.value, palermo ? PALERMO_KM : CATANIA_KM, 1e-3);
    if (with & HASH)
        ck_assert(r->hash.value == (palermo ? PALERMO_HASH : CATANIA_HASH));
    if (with & COORD) {
        if (palermo)
            assert_palermo_pos(&r->coord);
        else
            assert_catania_pos(&r->coord);
    }
}

/* A stored sorted set: its members and scores, ascending. */
static reds_scored_list *stored(const char *key)
{
    reds_scored_list *sl = NULL;
    ASSERT_OK(reds_zrange_withscores(c, reds_cstr(key), S("0"), S("-1"), NULL, &sl));
    return sl;
}

/* ------------------------------------------------ adding and reading */

START_TEST(geoadd_options)
{
    int64_t n = -1;
    reds_geo_member agrigento = {13.583333, 37.316667, S("Agrigento")};
    reds_geo_member palermo_moved = {13.5, 38.0, S("Palermo")};
    reds_geoadd_opts nx = {.condition = REDS_GEOADD_CONDITION_NX};
    ASSERT_OK(
        reds_geoadd(c, S("Sicily"), (reds_geo_member[]){palermo_moved, agrigento}, 2, &nx, &n));
    ck_assert_int_eq(n, 1); /* Palermo is not moved */
    reds_geoadd_opts xx_ch = {.condition = REDS_GEOADD_CONDITION_XX, .change = true};
    reds_geo_member nowhere = {10, 40, S("Nowhere")};
    ASSERT_OK(
        reds_geoadd(c, S("Sicily"), (reds_geo_member[]){palermo_moved, nowhere}, 2, &xx_ch, &n));
    ck_assert_int_eq(n, 1); /* Palermo moved, Nowhere not added */
    reds_geo_pos_list *pos = NULL;
    ASSERT_OK(reds_geopos(c, S("Sicily"), STRS(S("Palermo"), S("Nowhere")), 2, &pos));
    ck_assert_uint_eq(pos->count, 2);
    ck_assert(pos->items[0].set);
    ASSERT_NEAR(pos->items[0].longitude, 13.5, 1e-5);
    ASSERT_NEAR(pos->items[0].latitude, 38.0, 1e-5);
    ck_assert(!pos->items[1].set);
    reds_free(pos);
    /* Outside the valid latitudes: the server's error. */
    reds_geo_member pole = {0, 89.9, S("pole")};
    ASSERT_ERR(reds_geoadd(c, S("Sicily"), &pole, 1, NULL, &n), REDS_ERR_RESPONSE);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "invalid"));
}
END_TEST

START_TEST(geopos_geohash_geodist)
{
    reds_geo_pos_list *pos = NULL;
    ASSERT_OK(
        reds_geopos(c, S("Sicily"), STRS(S("Palermo"), S("nomember"), S("Catania")), 3, &pos));
    ck_assert_uint_eq(pos->count, 3);
    assert_palermo_pos(&pos->items[0]);
    ck_assert(!pos->items[1].set);
    assert_catania_pos(&pos->items[2]);
    reds_free(pos);
    ASSERT_OK(reds_geopos(c, S("nokey"), STRS(S("a")), 1, &pos));
    ck_assert_uint_eq(pos->count, 1);
    ck_assert(!pos->items[0].set);
    reds_free(pos);

    reds_strlist *h = NULL;
    ASSERT_OK(reds_geohash(c, S("Sicily"), STRS(S("Palermo"), S("nomember"), S("Catania")), 3, &h));
    ck_assert_uint_eq(h->count, 3);
    ASSERT_STR(&h->items[0], "sqc8b49rny0");
    ck_assert_ptr_null(h->items[1].ptr);
    ASSERT_STR(&h->items[2], "sqdtr74hyu0");
    reds_free(h);

    reds_opt_f64 d = {false, 0};
    ASSERT_OK(reds_geodist(c, S("Sicily"), S("Palermo"), S("Catania"), NULL, &d));
    ck_assert(d.set);
    ASSERT_NEAR(d.value, 166274.1516, 1e-3); /* meters by default */
    static const struct {
        reds_geo_unit unit;
        double value;
    } units[] = {{REDS_GEO_UNIT_M, 166274.1516},
                 {REDS_GEO_UNIT_KM, 166.2742},
                 {REDS_GEO_UNIT_MI, 103.3182},
                 {REDS_GEO_UNIT_FT, 545518.8700}};
    for (size_t i = 0; i < 4; i++) {
        reds_geodist_opts o = {.unit = units[i].unit};
        ASSERT_OK(reds_geodist(c, S("Sicily"), S("Palermo"), S("Catania"), &o, &d));
        ck_assert(d.set);
        ASSERT_NEAR(d.value, units[i].value, 1e-3);
    }
    d.set = true;
    ASSERT_OK(reds_geodist(c, S("Sicily"), S("Palermo"), S("nomember"), NULL, &d));
    ck_assert(!d.set);
    d.set = true;
    ASSERT_OK(reds_geodist(c, S("nokey"), S("a"), S("b"), NULL, &d));
    ck_assert(!d.set);
}
END_TEST

/* ---------------------------------------------------------- GEOSEARCH */

static const reds_geo_from from_center = {.lonlat = {.set = true, CENTER_LON, CENTER_LAT}};
static const reds_geo_by by_200km = {.circle = {.set = true, 200, REDS_GEO_UNIT_KM}};

START_TEST(geosearch_members)
{
    reds_strlist *l = NULL;
    reds_geosearch_opts asc = {.order = REDS_GEO_ORDER_ASC};
    ASSERT_OK(reds_geosearch(c, S("Sicily"), from_center, by_200km, &asc, &l));
    test_assert_strlist(l, "Catania", "Palermo", NULL);
    reds_free(l);
    reds_geosearch_opts desc1 = {.order = REDS_GEO_ORDER_DESC, .count = {.set = true, .count = 1}};
    ASSERT_OK(reds_geosearch(c, S("Sicily"), from_center, by_200km, &desc1, &l));
    test_assert_strlist(l, "Palermo", NULL);
    reds_free(l);
    /* From a member, in a box: 400 x 400 km around Palermo holds both. */
    reds_geo_from from_palermo = {.member = S("Palermo")};
    reds_geo_by box = {.box = {.set = true, 400, 400, REDS_GEO_UNIT_KM}};
    ASSERT_OK(reds_geosearch(c, S("Sicily"), from_palermo, box, &asc, &l));
    test_assert_strlist(l, "Palermo", "Catania", NULL);
    reds_free(l);
    reds_geo_by small = {.circle = {.set = true, 10, REDS_GEO_UNIT_KM}};
    ASSERT_OK(reds_geosearch(c, S("Sicily"), from_center, small, NULL, &l));
    test_assert_strlist(l, NULL);
    reds_free(l);
    reds_geosearch_opts any = {.count = {.set = true, .count = 1, .any = true}};
    ASSERT_OK(reds_geosearch(c, S("Sicily"), from_center, by_200km, &any, &l));
    ck_assert_uint_eq(l->count, 1);
    reds_free(l);
    ASSERT_ERR(reds_geosearch(c, S("Sicily"), (reds_geo_from){.member = S("nomember")}, by_200km,
                              NULL, &l),
               REDS_ERR_RESPONSE);
    ck_assert_ptr_null(l);
}
END_TEST

START_TEST(geosearch_with_exact_fields)
{
    /* Every combination of WITHDIST, WITHHASH and WITHCOORD, none included. */
    for (unsigned with = 0; with < 8; with++) {
        reds_geosearch_with_opts o = {.order = REDS_GEO_ORDER_ASC,
                                      .withdist = with & DIST,
                                      .withhash = with & HASH,
                                      .withcoord = with & COORD};
        reds_geo_result_list *r = NULL;
        ASSERT_OK(reds_geosearch_with(c, S("Sicily"), from_center, by_200km, &o, &r));
        ck_assert_msg(r->count == 2, "with=%u: %zu results", with, r->count);
        assert_result(&r->items[0], "Catania", with);
        assert_result(&r->items[1], "Palermo", with);
        reds_free(r);
    }
    reds_geosearch_with_opts d = {.withdist = true, .count = {.set = true, .count = 1}};
    reds_geo_result_list *r = NULL;
    reds_geo_by miles = {.circle = {.set = true, 200, REDS_GEO_UNIT_MI}};
    ASSERT_OK(reds_geosearch_with(c, S("Sicily"), from_center, miles, &d, &r));
    ck_assert_uint_eq(r->count, 1);
    ASSERT_STR(&r->items[0].member, "Catania");
    ASSERT_NEAR(r->items[0].dist.value, CATANIA_KM / 1.609344, 1e-3); /* in the query's unit */
    reds_free(r);
}
END_TEST

START_TEST(geosearchstore_plain_and_storedist)
{
    int64_t n = -1;
    ASSERT_OK(reds_geosearchstore(c, S("dst"), S("Sicily"), from_center, by_200km, NULL, &n));
    ck_assert_int_eq(n, 2);
    /* Stored with their geohash as score: GEOPOS reads them back. */
    reds_geo_pos_list *pos = NULL;
    ASSERT_OK(reds_geopos(c, S("dst"), STRS(S("Palermo")), 1, &pos));
    assert_palermo_pos(&pos->items[0]);
    reds_free(pos);
    reds_geosearchstore_opts o = {
        .storedist = true, .order = REDS_GEO_ORDER_ASC, .count = {.set = true, .count = 1}};
    ASSERT_OK(reds_geosearchstore(c, S("dists"), S("Sicily"), from_center, by_200km, &o, &n));
    ck_assert_int_eq(n, 1);
    reds_scored_list *sl = stored("dists");
    ck_assert_uint_eq(sl->count, 1);
    ASSERT_STR(&sl->items[0].member, "Catania");
    ASSERT_NEAR(sl->items[0].score, CATANIA_KM, 1e-3);
    reds_free(sl);
    reds_geo_by none = {.circle = {.set = true, 1, REDS_GEO_UNIT_M}};
    ASSERT_OK(reds_geosearchstore(c, S("dst"), S("Sicily"), from_center, none, NULL, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

/* --------------------------------------------- GEORADIUS (deprecated) */

START_TEST(georadius_forms)
{
    reds_strlist *l = NULL;
    reds_georadius_opts asc = {.order = REDS_GEO_ORDER_ASC};
    ASSERT_OK(
        reds_georadius(c, S("Sicily"), CENTER_LON, CENTER_LAT, 200, REDS_GEO_UNIT_KM, &asc, &l));
    test_assert_strlist(l, "Catania", "Palermo", NULL);
    reds_free(l);

    reds_geo_result_list *r = NULL;
    reds_georadius_with_opts all = {
        .withdist = true, .withhash = true, .withcoord = true, .order = REDS_GEO_ORDER_DESC};
    ASSERT_OK(reds_georadius_with(c, S("Sicily"), CENTER_LON, CENTER_LAT, 200, REDS_GEO_UNIT_KM,
                                  &all, &r));
    ck_assert_uint_eq(r->count, 2);
    assert_result(&r->items[0], "Palermo", DIST | HASH | COORD);
    assert_result(&r->items[1], "Catania", DIST | HASH | COORD);
    reds_free(r);

    int64_t n = -1;
    ASSERT_OK(reds_georadius_store(c, S("Sicily"), CENTER_LON, CENTER_LAT, 200, REDS_GEO_UNIT_KM,
                                   S("byhash"), NULL, &n));
    ck_assert_int_eq(n, 2);
    reds_scored_list *sl = stored("byhash");
    ck_assert_uint_eq(sl->count, 2);
    ASSERT_STR(&sl->items[0].member, "Palermo"); /* scores are the geohashes */
    ck_assert(sl->items[0].score == (double)PALERMO_HASH);
    reds_free(sl);
    reds_georadius_opts one = {.order = REDS_GEO_ORDER_ASC, .count = {.set = true, .count = 1}};
    ASSERT_OK(reds_georadius_storedist(c, S("Sicily"), CENTER_LON, CENTER_LAT, 200,
                                       REDS_GEO_UNIT_KM, S("bydist"), &one, &n));
    ck_assert_int_eq(n, 1);
    sl = stored("bydist");
    ck_assert_uint_eq(sl->count, 1);
    ASSERT_STR(&sl->items[0].member, "Catania");
    ASSERT_NEAR(sl->items[0].score, CATANIA_KM, 1e-3);
    reds_free(sl);

    ASSERT_OK(
        reds_georadius_ro(c, S("Sicily"), CENTER_LON, CENTER_LAT, 100, REDS_GEO_UNIT_KM, NULL, &l));
    test_assert_strlist(l, "Catania", NULL);
    reds_free(l);
    reds_georadius_ro_with_opts hash = {.withhash = true};
    ASSERT_OK(reds_georadius_ro_with(c, S("Sicily"), CENTER_LON, CENTER_LAT, 100, REDS_GEO_UNIT_KM,
                                     &hash, &r));
    ck_assert_uint_eq(r->count, 1);
    assert_result(&r->items[0], "Catania", HASH);
    reds_free(r);
}
END_TEST

START_TEST(georadiusbymember_forms)
{
    reds_strlist *l = NULL;
    reds_georadiusbymember_opts asc = {.order = REDS_GEO_ORDER_ASC};
    ASSERT_OK(
        reds_georadiusbymember(c, S("Sicily"), S("Palermo"), 200, REDS_GEO_UNIT_KM, &asc, &l));
    test_assert_strlist(l, "Palermo", "Catania", NULL);
    reds_free(l);

    reds_geo_result_list *r = NULL;
    reds_georadiusbymember_with_opts co = {.withcoord = true, .order = REDS_GEO_ORDER_ASC};
    ASSERT_OK(
        reds_georadiusbymember_with(c, S("Sicily"), S("Catania"), 1, REDS_GEO_UNIT_KM, &co, &r));
    ck_assert_uint_eq(r->count, 1);
    assert_result(&r->items[0], "Catania", COORD);
    reds_free(r);

    int64_t n = -1;
    ASSERT_OK(reds_georadiusbymember_store(c, S("Sicily"), S("Palermo"), 200, REDS_GEO_UNIT_KM,
                                           S("byhash"), NULL, &n));
    ck_assert_int_eq(n, 2);
    ASSERT_OK(reds_georadiusbymember_storedist(c, S("Sicily"), S("Palermo"), 200, REDS_GEO_UNIT_KM,
                                               S("bydist"), &asc, &n));
    ck_assert_int_eq(n, 2);
    reds_scored_list *sl = stored("bydist");
    ck_assert_uint_eq(sl->count, 2);
    ASSERT_STR(&sl->items[0].member, "Palermo");
    ck_assert(sl->items[0].score == 0);
    ASSERT_STR(&sl->items[1].member, "Catania");
    ASSERT_NEAR(sl->items[1].score, 166.2742, 1e-3);
    reds_free(sl);

    ASSERT_OK(reds_georadiusbymember_ro(
        c, S("Sicily"), S("Catania"), 500, REDS_GEO_UNIT_MI,
        &(reds_georadiusbymember_ro_opts){.order = REDS_GEO_ORDER_DESC}, &l));
    test_assert_strlist(l, "Palermo", "Catania", NULL);
    reds_free(l);
    reds_georadiusbymember_ro_with_opts dh = {
        .withdist = true, .withhash = true, .order = REDS_GEO_ORDER_ASC};
    ASSERT_OK(reds_georadiusbymember_ro_with(c, S("Sicily"), S("Catania"), 200, REDS_GEO_UNIT_KM,
                                             &dh, &r));
    ck_assert_uint_eq(r->count, 2);
    ASSERT_STR(&r->items[0].member, "Catania");
    ck_assert(r->items[0].dist.set && r->items[0].dist.value == 0);
    ck_assert(r->items[0].hash.set && r->items[0].hash.value == CATANIA_HASH);
    ck_assert(!r->items[0].coord.set);
    ASSERT_STR(&r->items[1].member, "Palermo");
    ASSERT_NEAR(r->items[1].dist.value, 166.2742, 1e-3);
    ck_assert(r->items[1].hash.value == PALERMO_HASH);
    reds_free(r);
    ASSERT_ERR(reds_georadiusbymember(c, S("Sicily"), S("nomember"), 1, REDS_GEO_UNIT_KM, NULL, &l),
               REDS_ERR_RESPONSE);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(option_checks)
{
    reds_strlist *l = (reds_strlist *)&l;
    /* FROMMEMBER and FROMLONLAT together, or neither. */
    reds_geo_from both = {.member = S("Palermo"), .lonlat = {.set = true, 1, 2}};
    ASSERT_ERR(reds_geosearch(c, S("Sicily"), both, by_200km, NULL, &l), REDS_ERR_DATA);
    ck_assert_ptr_null(l);
    ASSERT_ERR(reds_geosearch(c, S("Sicily"), (reds_geo_from){0}, by_200km, NULL, &l),
               REDS_ERR_DATA);
    /* BYRADIUS and BYBOX together, or neither. */
    reds_geo_by two = {.circle = {.set = true, 1, REDS_GEO_UNIT_KM},
                       .box = {.set = true, 1, 1, REDS_GEO_UNIT_KM}};
    ASSERT_ERR(reds_geosearch(c, S("Sicily"), from_center, two, NULL, &l), REDS_ERR_DATA);
    int64_t n = -1;
    ASSERT_ERR(reds_geosearchstore(c, S("d"), S("Sicily"), from_center, (reds_geo_by){0}, NULL, &n),
               REDS_ERR_DATA);
    /* A unit is required, and must be one of the enum's. */
    reds_geo_by nounit = {.circle = {.set = true, 1, 0}};
    ASSERT_ERR(reds_geosearch(c, S("Sicily"), from_center, nounit, NULL, &l), REDS_ERR_DATA);
    ASSERT_ERR(reds_georadius(c, S("Sicily"), 1, 2, 3, (reds_geo_unit)5, NULL, &l), REDS_ERR_DATA);
    reds_geodist_opts bad = {.unit = (reds_geo_unit)9};
    reds_opt_f64 d;
    ASSERT_ERR(reds_geodist(c, S("Sicily"), S("a"), S("b"), &bad, &d), REDS_ERR_DATA);
    /* NaN coordinates, an empty GEOADD, an invalid store key. */
    ASSERT_ERR(reds_geoadd(c, S("x"), (reds_geo_member[]){{NAN, 1, S("m")}}, 1, NULL, &n),
               REDS_ERR_DATA);
    ASSERT_ERR(reds_geoadd(c, S("x"), NULL, 0, NULL, &n), REDS_ERR_DATA);
    ASSERT_ERR(reds_georadius_store(c, S("Sicily"), 1, 2, 3, REDS_GEO_UNIT_M, reds_strn(NULL, 1),
                                    NULL, &n),
               REDS_ERR_DATA);
    reds_geo_pos_list *pos = (reds_geo_pos_list *)&pos;
    ASSERT_ERR(reds_geopos(c, S("Sicily"), NULL, 0, &pos), REDS_ERR_DATA);
    ck_assert_ptr_null(pos);
    ASSERT_OK(reds_exists(c, STRS(S("x"), S("d")), 2, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(wrong_type)
{
    char reply[64];
    test_raw("SET str v", reply, sizeof reply);
    reds_geo_pos_list *pos = (reds_geo_pos_list *)&pos;
    ASSERT_ERR(reds_geopos(c, S("str"), STRS(S("a")), 1, &pos), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(pos);
    ck_assert_ptr_nonnull(strstr(reds_errmsg(), "WRONGTYPE"));
    reds_geo_result_list *r = (reds_geo_result_list *)&r;
    reds_geosearch_with_opts o = {.withdist = true};
    ASSERT_ERR(reds_geosearch_with(c, S("str"), from_center, by_200km, &o, &r), REDS_ERR_RESPONSE);
    ck_assert_ptr_null(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("geo");
    struct {
        const char *name;
        const TTest *tests[8];
    } groups[] = {
        {"members", {geoadd_options, geopos_geohash_geodist}},
        {"geosearch",
         {geosearch_members, geosearch_with_exact_fields, geosearchstore_plain_and_storedist}},
        {"georadius", {georadius_forms, georadiusbymember_forms}},
        {"errors", {option_checks, wrong_type}},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        TCase *tc = tcase_create(groups[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        for (size_t j = 0; j < 8 && groups[i].tests[j]; j++)
            tcase_add_test(tc, groups[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return test_main(suite(), true);
}
