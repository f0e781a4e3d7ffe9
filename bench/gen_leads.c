/*
 * gen_leads — a deterministic generator of synthetic Chinese automotive leads.
 *
 *   gen_leads --count N [--seed S] [--format ndjson|csv] [--out FILE]
 *             [--truth FILE] [--dup-rate 0.2]
 *
 * Every record uses only the field names of crmcore's ingest schema. A share
 * of the records (--dup-rate) are re-submissions of a person seen earlier in
 * the file, with the phone written another way, name typos, missing fields,
 * another channel; a few are "hard" duplicates whose phone differs in one
 * digit while the name and city are the same. --truth writes which records
 * are the same person. See bench/README.md.
 *
 * Only libc. Same seed and count give byte-identical output: the generator
 * has its own PRNG (xoshiro256** for the record stream, splitmix64 for the
 * per-person streams), and never reads the clock or the locale.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* PRNG                                                                       */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* One generator type for both streams, so the helpers below serve both. */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void rng_seed(rng *r, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&sm);
}

/* Uniform in [0, n), n < 2^32 (multiply-shift; bias is below 2^-32). */
static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* True with probability p. */
static int rng_chance(rng *r, double p)
{
    return rng_unit(r) < p;
}

/* ------------------------------------------------------------------------ */
/* Weighted tables                                                            */

#define WT_MAX 256

typedef struct wtab {
    int n;
    uint32_t total;
    uint32_t cum[WT_MAX]; /* cum[i] = sum of weights[0..i] */
} wtab;

static void wt_init(wtab *t, const unsigned *w, int n)
{
    uint32_t acc = 0;
    if (n > WT_MAX) {
        fprintf(stderr, "gen_leads: internal table too large\n");
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        acc += w[i];
        t->cum[i] = acc;
    }
    t->n = n;
    t->total = acc;
}

static int wt_pick(const wtab *t, rng *r)
{
    uint32_t x = rng_below(r, t->total);
    int lo = 0, hi = t->n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (t->cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ------------------------------------------------------------------------ */
/* Data tables                                                                */

/* Surnames with approximate frequency per 10,000 people (census-like order). */
typedef struct surname_row {
    const char *hz;
    const char *py;
    unsigned w;
} surname_row;

static const surname_row SURNAMES[] = {
    {"王", "wang", 725}, {"李", "li", 719}, {"张", "zhang", 686}, {"刘", "liu", 538},
    {"陈", "chen", 453}, {"杨", "yang", 308}, {"黄", "huang", 223}, {"赵", "zhao", 217},
    {"吴", "wu", 208}, {"周", "zhou", 193}, {"徐", "xu", 145}, {"孙", "sun", 138},
    {"马", "ma", 129}, {"朱", "zhu", 128}, {"胡", "hu", 116}, {"郭", "guo", 113},
    {"何", "he", 107}, {"高", "gao", 100}, {"林", "lin", 100}, {"罗", "luo", 87},
    {"郑", "zheng", 82}, {"梁", "liang", 78}, {"谢", "xie", 70}, {"宋", "song", 67},
    {"唐", "tang", 66}, {"许", "xu", 62}, {"韩", "han", 60}, {"冯", "feng", 60},
    {"邓", "deng", 57}, {"曹", "cao", 56}, {"彭", "peng", 54}, {"曾", "zeng", 50},
    {"肖", "xiao", 49}, {"田", "tian", 47}, {"董", "dong", 46}, {"袁", "yuan", 45},
    {"潘", "pan", 44}, {"于", "yu", 43}, {"蒋", "jiang", 42}, {"蔡", "cai", 42},
    {"余", "yu", 41}, {"杜", "du", 40}, {"叶", "ye", 39}, {"程", "cheng", 39},
    {"苏", "su", 36}, {"魏", "wei", 36}, {"吕", "lv", 35}, {"丁", "ding", 35},
    {"任", "ren", 34}, {"沈", "shen", 32}, {"姚", "yao", 31}, {"卢", "lu", 31},
    {"姜", "jiang", 30}, {"崔", "cui", 29}, {"钟", "zhong", 28}, {"谭", "tan", 27},
    {"陆", "lu", 27}, {"汪", "wang", 26}, {"范", "fan", 26}, {"金", "jin", 25},
    {"石", "shi", 24}, {"廖", "liao", 23}, {"贾", "jia", 23}, {"夏", "xia", 22},
    {"韦", "wei", 22}, {"付", "fu", 21}, {"方", "fang", 21}, {"白", "bai", 20},
    {"邹", "zou", 20}, {"孟", "meng", 19}, {"熊", "xiong", 19}, {"秦", "qin", 18},
    {"邱", "qiu", 18}, {"江", "jiang", 18}, {"尹", "yin", 17}, {"薛", "xue", 17},
    {"闫", "yan", 16}, {"段", "duan", 16}, {"雷", "lei", 16}, {"侯", "hou", 15},
    {"龙", "long", 15}, {"史", "shi", 15}, {"陶", "tao", 14}, {"黎", "li", 14},
    {"贺", "he", 14}, {"顾", "gu", 13}, {"毛", "mao", 13}, {"郝", "hao", 13},
    {"龚", "gong", 12}, {"邵", "shao", 12}, {"万", "wan", 12}, {"钱", "qian", 11},
    {"严", "yan", 11}, {"覃", "qin", 10}, {"武", "wu", 10}, {"戴", "dai", 10},
    {"莫", "mo", 10}, {"孔", "kong", 10}, {"向", "xiang", 10}, {"汤", "tang", 10},
    {"欧阳", "ouyang", 3}, {"司马", "sima", 1}, {"上官", "shangguan", 1}, {"诸葛", "zhuge", 1},
};
#define N_SURNAMES ((int)(sizeof SURNAMES / sizeof SURNAMES[0]))

/* Characters common in given names. Characters that share a pinyin are the
 * homophones a typist (or an input method) swaps. */
typedef struct given_row {
    const char *hz;
    const char *py;
    unsigned w;
} given_row;

static const given_row GIVEN[] = {
    {"伟", "wei", 30}, {"玮", "wei", 3}, {"炜", "wei", 3}, {"薇", "wei", 4}, {"维", "wei", 3},
    {"芳", "fang", 15}, {"方", "fang", 3}, {"娜", "na", 12},
    {"敏", "min", 14}, {"民", "min", 6},
    {"静", "jing", 16}, {"晶", "jing", 5}, {"婧", "jing", 4}, {"菁", "jing", 2}, {"京", "jing", 2},
    {"丽", "li", 14}, {"莉", "li", 6}, {"立", "li", 5}, {"力", "li", 5}, {"利", "li", 4},
    {"强", "qiang", 12}, {"磊", "lei", 12}, {"蕾", "lei", 4},
    {"军", "jun", 12}, {"俊", "jun", 8}, {"君", "jun", 4}, {"峻", "jun", 2},
    {"洋", "yang", 10}, {"阳", "yang", 7}, {"扬", "yang", 4},
    {"勇", "yong", 10}, {"永", "yong", 6}, {"涌", "yong", 1},
    {"艳", "yan", 10}, {"燕", "yan", 8}, {"彦", "yan", 3}, {"岩", "yan", 3}, {"妍", "yan", 4},
    {"杰", "jie", 10}, {"洁", "jie", 6}, {"婕", "jie", 3}, {"捷", "jie", 2},
    {"娟", "juan", 8}, {"鹃", "juan", 2}, {"涛", "tao", 9}, {"韬", "tao", 2},
    {"明", "ming", 10}, {"鸣", "ming", 2}, {"铭", "ming", 4},
    {"超", "chao", 9}, {"朝", "chao", 2}, {"秀", "xiu", 6}, {"霞", "xia", 7}, {"夏", "xia", 1},
    {"平", "ping", 6}, {"萍", "ping", 5}, {"刚", "gang", 7}, {"钢", "gang", 1}, {"桂", "gui", 4},
    {"华", "hua", 10}, {"桦", "hua", 1},
    {"辉", "hui", 8}, {"慧", "hui", 8}, {"惠", "hui", 4}, {"晖", "hui", 2},
    {"红", "hong", 7}, {"宏", "hong", 5}, {"鸿", "hong", 3}, {"虹", "hong", 3},
    {"建", "jian", 8}, {"健", "jian", 6}, {"剑", "jian", 3}, {"文", "wen", 8}, {"雯", "wen", 4},
    {"玉", "yu", 6}, {"宇", "yu", 8}, {"雨", "yu", 6}, {"瑜", "yu", 2}, {"羽", "yu", 2},
    {"梅", "mei", 5}, {"美", "mei", 4}, {"琳", "lin", 5}, {"林", "lin", 3}, {"霖", "lin", 2},
    {"玲", "ling", 6}, {"凌", "ling", 2}, {"灵", "ling", 1},
    {"婷", "ting", 8}, {"庭", "ting", 2}, {"亭", "ting", 1},
    {"浩", "hao", 8}, {"昊", "hao", 4}, {"皓", "hao", 3},
    {"子", "zi", 8}, {"梓", "zi", 6}, {"紫", "zi", 2},
    {"轩", "xuan", 6}, {"萱", "xuan", 5}, {"宣", "xuan", 1},
    {"晨", "chen", 6}, {"辰", "chen", 5}, {"琛", "chen", 2},
    {"欣", "xin", 7}, {"鑫", "xin", 4}, {"心", "xin", 3}, {"新", "xin", 2}, {"馨", "xin", 3},
    {"怡", "yi", 6}, {"一", "yi", 4}, {"依", "yi", 3}, {"宜", "yi", 2}, {"亦", "yi", 2},
    {"博", "bo", 5}, {"波", "bo", 4}, {"思", "si", 6},
    {"佳", "jia", 7}, {"嘉", "jia", 5}, {"家", "jia", 3},
    {"涵", "han", 5}, {"晗", "han", 3}, {"翰", "han", 2}, {"寒", "han", 1},
    {"鹏", "peng", 6}, {"朋", "peng", 1}, {"飞", "fei", 6}, {"菲", "fei", 3}, {"非", "fei", 1},
    {"斌", "bin", 5}, {"彬", "bin", 3}, {"滨", "bin", 1}, {"凯", "kai", 5}, {"楷", "kai", 1},
    {"帅", "shuai", 3}, {"亮", "liang", 5}, {"良", "liang", 2},
    {"峰", "feng", 6}, {"锋", "feng", 3}, {"枫", "feng", 2}, {"丰", "feng", 2}, {"凤", "feng", 3},
    {"国", "guo", 6}, {"志", "zhi", 7}, {"智", "zhi", 4}, {"芝", "zhi", 1}, {"海", "hai", 6},
    {"成", "cheng", 5}, {"诚", "cheng", 3}, {"承", "cheng", 2},
    {"晓", "xiao", 9}, {"小", "xiao", 5}, {"筱", "xiao", 2}, {"雪", "xue", 5}, {"学", "xue", 3},
    {"春", "chun", 4}, {"云", "yun", 5}, {"芸", "yun", 3}, {"韵", "yun", 2}, {"天", "tian", 5},
    {"雅", "ya", 5}, {"亚", "ya", 3}, {"倩", "qian", 5}, {"茜", "qian", 3}, {"婉", "wan", 2},
    {"瑶", "yao", 4}, {"遥", "yao", 1}, {"欢", "huan", 3},
    {"兰", "lan", 4}, {"岚", "lan", 2}, {"蓝", "lan", 1},
    {"荣", "rong", 3}, {"蓉", "rong", 3}, {"融", "rong", 1}, {"东", "dong", 5}, {"冬", "dong", 2},
    {"泽", "ze", 5}, {"睿", "rui", 4}, {"瑞", "rui", 3}, {"航", "hang", 3}, {"诗", "shi", 4},
    {"琪", "qi", 4}, {"琦", "qi", 3}, {"奇", "qi", 1}, {"淇", "qi", 1},
    {"安", "an", 4}, {"宁", "ning", 4}, {"凝", "ning", 1},
};
#define N_GIVEN ((int)(sizeof GIVEN / sizeof GIVEN[0]))

/* Provinces: full name and the short form people also type. */
typedef struct province_row {
    const char *full;
    const char *shortname;
} province_row;

static const province_row PROVINCES[] = {
    {"北京市", "北京"}, {"天津市", "天津"}, {"河北省", "河北"}, {"山西省", "山西"},
    {"内蒙古自治区", "内蒙古"}, {"辽宁省", "辽宁"}, {"吉林省", "吉林"}, {"黑龙江省", "黑龙江"},
    {"上海市", "上海"}, {"江苏省", "江苏"}, {"浙江省", "浙江"}, {"安徽省", "安徽"},
    {"福建省", "福建"}, {"江西省", "江西"}, {"山东省", "山东"}, {"河南省", "河南"},
    {"湖北省", "湖北"}, {"湖南省", "湖南"}, {"广东省", "广东"}, {"广西壮族自治区", "广西"},
    {"海南省", "海南"}, {"重庆市", "重庆"}, {"四川省", "四川"}, {"贵州省", "贵州"},
    {"云南省", "云南"}, {"西藏自治区", "西藏"}, {"陕西省", "陕西"}, {"甘肃省", "甘肃"},
    {"青海省", "青海"}, {"宁夏回族自治区", "宁夏"}, {"新疆维吾尔自治区", "新疆"},
};
#define N_PROVINCES ((int)(sizeof PROVINCES / sizeof PROVINCES[0]))

/* Cities: the short name (the full name adds 市), province index, the
 * four-digit GB/T 2260 prefix used in dealer ids, and a weight that mixes
 * population and the size of the car market. */
typedef struct city_row {
    const char *name;
    int province;
    int code;
    unsigned w;
} city_row;

static const city_row CITIES[] = {
    {"北京", 0, 1101, 60}, {"天津", 1, 1201, 25},
    {"石家庄", 2, 1301, 14}, {"唐山", 2, 1302, 9}, {"邯郸", 2, 1304, 7}, {"保定", 2, 1306, 9},
    {"太原", 3, 1401, 10}, {"大同", 3, 1402, 4},
    {"呼和浩特", 4, 1501, 6}, {"包头", 4, 1502, 4}, {"鄂尔多斯", 4, 1506, 4},
    {"沈阳", 5, 2101, 14}, {"大连", 5, 2102, 12},
    {"长春", 6, 2201, 12}, {"吉林", 6, 2202, 4},
    {"哈尔滨", 7, 2301, 13}, {"大庆", 7, 2306, 4},
    {"上海", 8, 3101, 60},
    {"南京", 9, 3201, 22}, {"无锡", 9, 3202, 15}, {"徐州", 9, 3203, 10}, {"常州", 9, 3204, 10},
    {"苏州", 9, 3205, 28}, {"南通", 9, 3206, 10},
    {"杭州", 10, 3301, 30}, {"宁波", 10, 3302, 18}, {"温州", 10, 3303, 14}, {"嘉兴", 10, 3304, 8},
    {"绍兴", 10, 3306, 9}, {"金华", 10, 3307, 9}, {"台州", 10, 3310, 9},
    {"合肥", 11, 3401, 18}, {"芜湖", 11, 3402, 5},
    {"福州", 12, 3501, 13}, {"厦门", 12, 3502, 10}, {"泉州", 12, 3505, 12},
    {"南昌", 13, 3601, 11}, {"赣州", 13, 3607, 6},
    {"济南", 14, 3701, 16}, {"青岛", 14, 3702, 18}, {"烟台", 14, 3706, 9}, {"潍坊", 14, 3707, 10},
    {"临沂", 14, 3713, 10},
    {"郑州", 15, 4101, 26}, {"洛阳", 15, 4103, 8}, {"南阳", 15, 4113, 7},
    {"武汉", 16, 4201, 26}, {"宜昌", 16, 4205, 5}, {"襄阳", 16, 4206, 6},
    {"长沙", 17, 4301, 22}, {"株洲", 17, 4302, 5}, {"衡阳", 17, 4304, 5},
    {"广州", 18, 4401, 42}, {"深圳", 18, 4403, 45}, {"珠海", 18, 4404, 6}, {"佛山", 18, 4406, 18},
    {"惠州", 18, 4413, 9}, {"东莞", 18, 4419, 20}, {"中山", 18, 4420, 7},
    {"南宁", 19, 4501, 12}, {"柳州", 19, 4502, 6}, {"桂林", 19, 4503, 5},
    {"海口", 20, 4601, 6}, {"三亚", 20, 4602, 3},
    {"重庆", 21, 5001, 40},
    {"成都", 22, 5101, 45}, {"绵阳", 22, 5107, 5},
    {"贵阳", 23, 5201, 10}, {"遵义", 23, 5203, 6},
    {"昆明", 24, 5301, 14}, {"曲靖", 24, 5303, 4},
    {"拉萨", 25, 5401, 2},
    {"西安", 26, 6101, 28}, {"咸阳", 26, 6104, 5},
    {"兰州", 27, 6201, 8}, {"西宁", 28, 6301, 4}, {"银川", 29, 6401, 5}, {"乌鲁木齐", 30, 6501, 8},
};
#define N_CITIES ((int)(sizeof CITIES / sizeof CITIES[0]))
#define TARGET_DEALERS 500

/* The fictitious OEM 澜星 (Lanxing): its lineup, with the price band in
 * 10,000 yuan (万元) that a lead's budget is drawn from. */
typedef struct model_row {
    const char *name;
    unsigned w;
    int budget_lo, budget_hi;
} model_row;

static const model_row MODELS[] = {
    {"云雀 EV3", 10, 9, 14},     {"青鸾 S5", 12, 11, 17},    {"青鸾 S5 PHEV", 8, 14, 19},
    {"朱雀 S7", 7, 19, 27},      {"鲲鹏 X3", 14, 9, 14},     {"鲲鹏 X5", 13, 14, 21},
    {"鲲鹏 X5 PHEV", 8, 17, 24}, {"玄武 X7", 9, 21, 31},     {"麒麟 X9", 4, 29, 45},
    {"白泽 EV5", 7, 17, 25},     {"凤鸣 M8", 4, 24, 37},     {"赤兔 GT", 2, 28, 40},
};
#define N_MODELS ((int)(sizeof MODELS / sizeof MODELS[0]))

enum {
    CH_WEBSITE, CH_WECHAT_MP, CH_DOUYIN, CH_AUTOHOME, CH_DONGCHEDI,
    CH_AUTO_SHOW, CH_WALK_IN, CH_DCC, CH_APP, CH_THIRD_PARTY, N_CHANNELS
};

static const char *const CHANNEL_NAMES[N_CHANNELS] = {
    "website", "wechat_mp", "douyin", "autohome", "dongchedi",
    "auto_show", "walk_in", "dcc", "app", "third_party",
};
static const unsigned CHANNEL_W[N_CHANNELS] = {10, 18, 16, 15, 12, 4, 8, 7, 6, 4};

/* The campaign a channel runs all year round (NULL: none). */
static const char *const CHANNEL_ALWAYS_ON[N_CHANNELS] = {
    "官网预约试驾", "小程序留资有礼", "抖音直播间留资", "汽车之家询底价", "懂车帝询价",
    "区域车展现场登记", NULL, "400热线回访", "APP积分试驾", "易车团购",
};

/* utm_source values an online channel's leads carry. */
static const char *const UTM_WEBSITE[] = {"baidu", "baidu", "360", "sogou", "bing", "shenma", "direct"};
static const char *const UTM_WECHAT[] = {"wechat", "wechat_moments", "wechat_search"};
static const char *const UTM_DOUYIN[] = {"douyin", "ocean_engine", "douyin_live"};
static const char *const UTM_APP[] = {"app_push", "app_banner", "app_feed"};
static const char *const UTM_THIRD[] = {"yiche", "pcauto", "xcar", "bitauto"};
static const char *const UTM_MEDIUM[] = {"cpc", "feed", "live", "organic", "kol"};

/* Campaigns with their Beijing-time windows (month*100+day, inclusive). */
typedef struct campaign_row {
    const char *name;
    int year;
    int from, to;
} campaign_row;

static const campaign_row CAMPAIGNS[] = {
    {"2025新春购车季", 2025, 106, 212},   {"2025春季试驾节", 2025, 301, 415},
    {"2025上海车展", 2025, 420, 505},     {"2025五一钜惠", 2025, 425, 507},
    {"2025年中618", 2025, 601, 620},      {"2025暑期自驾游", 2025, 710, 820},
    {"2025金九银十", 2025, 901, 1031},    {"2025双11试驾季", 2025, 1020, 1115},
    {"2025年终冲量", 2025, 1201, 1231},   {"2026开年焕新", 2026, 101, 228},
    {"2026春季试驾节", 2026, 301, 415},   {"2026北京车展", 2026, 420, 505},
    {"2026年中618", 2026, 601, 620},      {"2026暑期自驾游", 2026, 710, 820},
    {"2026金九银十", 2026, 901, 1031},    {"2026双11试驾季", 2026, 1015, 1115},
};
#define N_CAMPAIGNS ((int)(sizeof CAMPAIGNS / sizeof CAMPAIGNS[0]))

/* Mobile prefixes (三位号段) with rough weights: the old 13x/15x/18x ranges
 * hold most subscribers. */
static const int PREFIXES[] = {
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139,
    145, 146, 147, 148, 149,
    150, 151, 152, 153, 155, 156, 157, 158, 159,
    166, 170, 171, 172, 173, 174, 175, 176, 177, 178,
    180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
    191, 193, 195, 196, 197, 198, 199,
};
static const unsigned PREFIX_W[] = {
    30, 30, 25, 25, 30, 40, 40, 40, 45, 50,
    3, 1, 5, 1, 2,
    30, 25, 25, 15, 15, 20, 20, 30, 30,
    10, 3, 2, 1, 6, 1, 6, 8, 8, 6,
    25, 15, 15, 12, 5, 15, 20, 25, 25, 20,
    5, 4, 3, 2, 2, 8, 10,
};
#define N_PREFIXES ((int)(sizeof PREFIXES / sizeof PREFIXES[0]))

/* Ways to write a phone. */
enum {
    PF_PLAIN, PF_SPACED, PF_DASHED, PF_PLUS86_SP, PF_PLUS86, PF_0086_DASHED,
    PF_86_SP, PF_PAREN86, PF_FULLWIDTH, PF_PLUS86_DASHED, PF_86, PF_PLUS86_SPACED,
    PF_DOTTED, N_PHONE_FORMATS
};
static const unsigned PF_W_FIRST[N_PHONE_FORMATS] = {800, 40, 30, 40, 30, 10, 10, 10, 10, 10, 10, 10, 2};
static const unsigned PF_W_DUP[N_PHONE_FORMATS] = {300, 120, 100, 100, 60, 50, 50, 50, 50, 40, 40, 40, 10};

static const char *const TIMELINES[] = {"unknown", "within_1m", "1_3m", "3_6m", "over_6m"};
static const unsigned TIMELINE_W[] = {15, 20, 30, 20, 15};

typedef struct domain_row {
    const char *name;
    unsigned w;
} domain_row;
static const domain_row EMAIL_DOMAINS[] = {
    {"163.com", 30}, {"126.com", 8}, {"gmail.com", 5}, {"sina.com", 5}, {"outlook.com", 5},
    {"hotmail.com", 3}, {"foxmail.com", 4}, {"yeah.net", 2}, {"139.com", 3}, {"sohu.com", 2},
};
#define N_DOMAINS ((int)(sizeof EMAIL_DOMAINS / sizeof EMAIL_DOMAINS[0]))

/* Local (Beijing) hour of day: when people leave their details. */
static const double HOUR_W[24] = {
    0.30, 0.15, 0.10, 0.05, 0.05, 0.10, 0.30, 0.60, 1.00, 1.40, 1.60, 1.60,
    1.50, 1.40, 1.50, 1.50, 1.40, 1.30, 1.40, 1.80, 2.00, 1.90, 1.30, 0.70,
};
static const double MONTH_W[12] = {0.95, 0.80, 1.05, 1.10, 1.00, 1.00, 0.90, 0.95, 1.15, 1.20, 1.15, 1.10};

/* ------------------------------------------------------------------------ */
/* Tables built at start-up                                                   */

/* The period: 2025-01-01T00:00Z .. 2026-11-01T00:00Z (exclusive). */
#define DAYS_FROM_EPOCH 20089 /* 2025-01-01 */
#define N_DAYS 669
#define N_SLOTS (N_DAYS * 24)
#define START_MS ((int64_t)DAYS_FROM_EPOCH * 86400000)

static wtab wt_surname, wt_given, wt_city, wt_model, wt_channel, wt_prefix;
static wtab wt_pf_first, wt_pf_dup, wt_timeline, wt_domain;
static double slot_cum[N_SLOTS];
static int city_dealer_first[N_CITIES];
static int city_dealer_count[N_CITIES];
static int n_dealers;

/* Howard Hinnant's civil_from_days. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (mm <= 2));
    *m = mm;
    *d = dd;
}

static int in_window(int y, int md, int year, int from, int to)
{
    return y == year && md >= from && md <= to;
}

/* How busy a local (Beijing) day is. */
static double day_weight(int dl)
{
    int y, m, d;
    civil_from_days(DAYS_FROM_EPOCH + dl, &y, &m, &d);
    int md = m * 100 + d;
    double w = MONTH_W[m - 1];
    w *= 1.0 + 0.35 * dl / N_DAYS; /* the brand grows */
    if ((dl + 2) % 7 >= 5)         /* 2025-01-01 was a Wednesday */
        w *= 1.3;
    if (in_window(y, md, 2025, 128, 204) || in_window(y, md, 2026, 216, 223))
        w *= 0.45; /* Spring Festival */
    if (in_window(y, md, 2025, 423, 502) || in_window(y, md, 2026, 424, 503))
        w *= 1.4; /* Shanghai / Beijing auto show */
    if (md >= 1101 && md <= 1111)
        w *= 1.3;
    if (md >= 601 && md <= 618)
        w *= 1.15;
    if (md >= 1001 && md <= 1007)
        w *= 1.1;
    return w;
}

static void tables_init(void)
{
    unsigned w[WT_MAX];
    int i;

    for (i = 0; i < N_SURNAMES; i++)
        w[i] = SURNAMES[i].w;
    wt_init(&wt_surname, w, N_SURNAMES);
    for (i = 0; i < N_GIVEN; i++)
        w[i] = GIVEN[i].w;
    wt_init(&wt_given, w, N_GIVEN);
    for (i = 0; i < N_CITIES; i++)
        w[i] = CITIES[i].w;
    wt_init(&wt_city, w, N_CITIES);
    for (i = 0; i < N_MODELS; i++)
        w[i] = MODELS[i].w;
    wt_init(&wt_model, w, N_MODELS);
    for (i = 0; i < N_DOMAINS; i++)
        w[i] = EMAIL_DOMAINS[i].w;
    wt_init(&wt_domain, w, N_DOMAINS);
    wt_init(&wt_channel, CHANNEL_W, N_CHANNELS);
    wt_init(&wt_prefix, PREFIX_W, N_PREFIXES);
    wt_init(&wt_pf_first, PF_W_FIRST, N_PHONE_FORMATS);
    wt_init(&wt_pf_dup, PF_W_DUP, N_PHONE_FORMATS);
    wt_init(&wt_timeline, TIMELINE_W, 5);

    /* Dealers: about TARGET_DEALERS, shared out by city weight, at least one
     * per city. Integer arithmetic keeps this identical everywhere. */
    n_dealers = 0;
    for (i = 0; i < N_CITIES; i++) {
        unsigned k = (CITIES[i].w * TARGET_DEALERS + wt_city.total / 2) / wt_city.total;
        if (k < 1)
            k = 1;
        city_dealer_first[i] = n_dealers;
        city_dealer_count[i] = (int)k;
        n_dealers += (int)k;
    }

    /* Hour slots in UTC with weights from the local day and hour. The
     * weights are truncated to integers and summed as integers, so no fused
     * multiply-add or rounding mode can make two machines disagree. */
    uint64_t acc = 0;
    for (int s = 0; s < N_SLOTS; s++) {
        int local = s + 8;
        double wd = day_weight(local / 24 < N_DAYS ? local / 24 : N_DAYS - 1) * HOUR_W[local % 24];
        acc += (uint64_t)(wd * 1e6);
        slot_cum[s] = (double)acc; /* exact: far below 2^53 */
    }
}

/* ------------------------------------------------------------------------ */
/* A string builder over a fixed buffer (records are far below its size)      */

typedef struct sb {
    char *p;
    char *end;
} sb;

static void sb_mem(sb *b, const char *s, size_t n)
{
    if ((size_t)(b->end - b->p) < n + 1) {
        fprintf(stderr, "gen_leads: internal buffer overflow\n");
        exit(2);
    }
    memcpy(b->p, s, n);
    b->p += n;
    *b->p = '\0';
}

static void sb_str(sb *b, const char *s)
{
    sb_mem(b, s, strlen(s));
}

static void sb_chr(sb *b, char c)
{
    sb_mem(b, &c, 1);
}

static void sb_uint(sb *b, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[sizeof tmp - 1 - (size_t)n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sb_mem(b, tmp + sizeof tmp - n, (size_t)n);
}

static void sb_uint_w(sb *b, unsigned v, int width)
{
    char tmp[16];
    for (int i = width - 1; i >= 0; i--) {
        tmp[i] = (char)('0' + v % 10);
        v /= 10;
    }
    sb_mem(b, tmp, (size_t)width);
}

/* ------------------------------------------------------------------------ */
/* People                                                                     */

#define SUFFIX_MOD UINT64_C(100000000)
#define SUFFIX_MUL UINT64_C(73939133) /* odd, not a multiple of 5: a bijection mod 10^8 */
#define QQ_MUL UINT64_C(61803399)
#define MAIL_MOD UINT64_C(10000000)
#define MAIL_MUL UINT64_C(3141593)
#define MAX_COUNT 100000000L /* entity ids must stay below 10^8 for unique phones */

typedef struct person {
    int surname;
    int given[2];      /* given[1] < 0: a one-character given name */
    int female;
    int pinyin_name;   /* the person writes the name in pinyin */
    int prefix;        /* index into PREFIXES */
    char phone[12];    /* 11 digits */
    int city;
    int home_dealer;
    int model;
    int budget;
    int has_email;
    char email[64];
    char openid[29];
    int has_unionid;
    char unionid[29];
} person;

static uint64_t g_seed;
static uint64_t g_suffix_add;
static uint64_t g_suffix_inv;

static uint64_t mod_inverse(uint64_t a, uint64_t m)
{
    int64_t t = 0, newt = 1;
    int64_t r = (int64_t)m, newr = (int64_t)a;
    while (newr != 0) {
        int64_t q = r / newr, tmp;
        tmp = t - q * newt;
        t = newt;
        newt = tmp;
        tmp = r - q * newr;
        r = newr;
        newr = tmp;
    }
    if (t < 0)
        t += (int64_t)m;
    return (uint64_t)t;
}

static uint64_t phone_suffix(uint64_t eid)
{
    return (eid * SUFFIX_MUL + g_suffix_add) % SUFFIX_MOD;
}

static void random_id(rng *r, char *out)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    out[0] = 'o';
    for (int i = 1; i < 28; i++)
        out[i] = alpha[rng_below(r, 64)];
    out[28] = '\0';
}

/* Append the pinyin of a given name, capitalised once ("Xiaoming"). */
static void sb_given_py(sb *b, const person *p, int upper)
{
    for (int k = 0; k < 2 && p->given[k] >= 0; k++) {
        const char *py = GIVEN[p->given[k]].py;
        for (const char *c = py; *c; c++) {
            char ch = *c;
            if (upper || (k == 0 && c == py))
                ch = (char)(ch - 'a' + 'A');
            sb_chr(b, ch);
        }
    }
}

static void sb_surname_py(sb *b, const person *p, int upper)
{
    const char *py = SURNAMES[p->surname].py;
    for (const char *c = py; *c; c++)
        sb_chr(b, (upper || c == py) ? (char)(*c - 'a' + 'A') : *c);
}

static void sb_lower(sb *b, const char *s)
{
    for (; *s; s++)
        sb_chr(b, (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s);
}

/* Everything about a person comes from a stream seeded by (seed, entity), so
 * a re-submission can rebuild the person without storing it. */
static void person_make(person *p, uint64_t eid)
{
    rng r;
    rng_seed(&r, g_seed ^ (eid * UINT64_C(0xD1B54A32D192ED03)) ^ UINT64_C(0x5EED5EED5EED5EED));

    p->surname = wt_pick(&wt_surname, &r);
    p->given[0] = wt_pick(&wt_given, &r);
    p->given[1] = -1;
    if (rng_chance(&r, 0.75)) {
        p->given[1] = rng_chance(&r, 0.03) ? p->given[0] : wt_pick(&wt_given, &r);
    }
    p->female = rng_chance(&r, 0.42);
    p->pinyin_name = rng_chance(&r, 0.05);

    p->prefix = wt_pick(&wt_prefix, &r);
    {
        sb b = {p->phone, p->phone + sizeof p->phone};
        sb_uint_w(&b, (unsigned)PREFIXES[p->prefix], 3);
        sb_uint_w(&b, (unsigned)phone_suffix(eid), 8);
    }

    p->city = wt_pick(&wt_city, &r);
    p->home_dealer = city_dealer_first[p->city] + (int)rng_below(&r, (uint32_t)city_dealer_count[p->city]);
    p->model = wt_pick(&wt_model, &r);
    {
        const model_row *m = &MODELS[p->model];
        p->budget = m->budget_lo + (int)rng_below(&r, (uint32_t)(m->budget_hi - m->budget_lo + 1));
    }

    /* E-mail: unique by construction (a number derived from the entity id),
     * so two people never share one. */
    p->has_email = rng_chance(&r, 0.35);
    {
        sb b = {p->email, p->email + sizeof p->email};
        uint32_t kind = rng_below(&r, 100);
        uint64_t n = ((eid + 1) * MAIL_MUL + 12345) % MAIL_MOD;
        if (kind < 40) {
            sb_uint(&b, 1 + rng_below(&r, 9));
            sb_uint_w(&b, (unsigned)(((eid + 1) * QQ_MUL + 777) % SUFFIX_MOD), 8);
            sb_str(&b, "@qq.com");
        } else {
            const char *dom = EMAIL_DOMAINS[wt_pick(&wt_domain, &r)].name;
            if (kind < 75) {
                sb_lower(&b, SURNAMES[p->surname].py);
                for (int k = 0; k < 2 && p->given[k] >= 0; k++)
                    sb_str(&b, GIVEN[p->given[k]].py);
            } else if (kind < 90) {
                for (int k = 0; k < 2 && p->given[k] >= 0; k++)
                    sb_str(&b, GIVEN[p->given[k]].py);
                sb_chr(&b, '.');
                sb_lower(&b, SURNAMES[p->surname].py);
            } else {
                sb_chr(&b, SURNAMES[p->surname].py[0]);
                for (int k = 0; k < 2 && p->given[k] >= 0; k++)
                    sb_chr(&b, GIVEN[p->given[k]].py[0]);
            }
            sb_uint(&b, n);
            sb_chr(&b, '@');
            sb_str(&b, dom);
        }
    }
    random_id(&r, p->openid);
    p->has_unionid = rng_chance(&r, 0.5);
    random_id(&r, p->unionid);
}

/* ------------------------------------------------------------------------ */
/* Rendering a person's fields                                                */

static void sb_hanzi_name(sb *b, const person *p, int given_override_pos, int given_override)
{
    sb_str(b, SURNAMES[p->surname].hz);
    for (int k = 0; k < 2 && p->given[k] >= 0; k++)
        sb_str(b, GIVEN[k == given_override_pos ? given_override : p->given[k]].hz);
}

/* The name as the person writes it on a first contact. */
static void sb_canonical_name(sb *b, const person *p)
{
    if (p->pinyin_name) {
        sb_surname_py(b, p, 0);
        sb_chr(b, ' ');
        sb_given_py(b, p, 0);
    } else {
        sb_hanzi_name(b, p, -1, 0);
    }
}

static void sb_honorific(sb *b, const person *p)
{
    sb_str(b, SURNAMES[p->surname].hz);
    sb_str(b, p->female ? "女士" : "先生");
}

/* Another given-name character with the same pinyin, or -1. */
static int homophone_of(rng *r, int g)
{
    int cand[16], n = 0;
    for (int i = 0; i < N_GIVEN && n < 16; i++)
        if (i != g && strcmp(GIVEN[i].py, GIVEN[g].py) == 0)
            cand[n++] = i;
    return n ? cand[rng_below(r, (uint32_t)n)] : -1;
}

static int surname_homophone_of(int s)
{
    for (int i = 0; i < N_SURNAMES; i++)
        if (i != s && strcmp(SURNAMES[i].py, SURNAMES[s].py) == 0)
            return i;
    return -1;
}

/* The name on a re-submission: typos, pinyin, order, honorifics, or none.
 * Returns 0 when the name is left out. */
static int sb_dup_name(sb *b, rng *r, const person *p)
{
    uint32_t x = rng_below(r, 100);
    int ngiven = p->given[1] >= 0 ? 2 : 1;

    if (x < 40) {
        sb_canonical_name(b, p);
    } else if (x < 54) { /* homophone typo in the given name (同音字) */
        int pos = (int)rng_below(r, (uint32_t)ngiven);
        int h = homophone_of(r, p->given[pos]);
        if (h < 0)
            h = wt_pick(&wt_given, r);
        sb_hanzi_name(b, p, pos, h);
    } else if (x < 58) { /* homophone typo in the surname */
        int s = surname_homophone_of(p->surname);
        if (s < 0) {
            sb_hanzi_name(b, p, -1, 0);
        } else {
            sb_str(b, SURNAMES[s].hz);
            for (int k = 0; k < ngiven; k++)
                sb_str(b, GIVEN[p->given[k]].hz);
        }
    } else if (x < 64) { /* a character replaced by another */
        int pos = (int)rng_below(r, (uint32_t)ngiven);
        int g = wt_pick(&wt_given, r);
        if (g == p->given[pos])
            g = (g + 1) % N_GIVEN;
        sb_hanzi_name(b, p, pos, g);
    } else if (x < 70) { /* pinyin, family name first */
        sb_surname_py(b, p, 0);
        sb_chr(b, ' ');
        sb_given_py(b, p, 0);
    } else if (x < 74) { /* pinyin, given name first */
        sb_given_py(b, p, 0);
        sb_chr(b, ' ');
        sb_surname_py(b, p, 0);
    } else if (x < 76) { /* pinyin, passport style */
        sb_surname_py(b, p, 1);
        sb_chr(b, ' ');
        sb_given_py(b, p, 1);
    } else if (x < 78) { /* pinyin, lower case, given name first */
        sb_lower(b, GIVEN[p->given[0]].py);
        if (ngiven == 2)
            sb_str(b, GIVEN[p->given[1]].py);
        sb_chr(b, ' ');
        sb_str(b, SURNAMES[p->surname].py);
    } else if (x < 83) {
        sb_honorific(b, p);
    } else if (x < 86) { /* spaced "张 伟" */
        sb_str(b, SURNAMES[p->surname].hz);
        sb_chr(b, ' ');
        for (int k = 0; k < ngiven; k++)
            sb_str(b, GIVEN[p->given[k]].hz);
    } else if (x < 88 && !p->pinyin_name) { /* the hanzi of a pinyin writer */
        sb_hanzi_name(b, p, -1, 0);
    } else {
        return 0;
    }
    return 1;
}

static void sb_fullwidth_digits(sb *b, const char *digits, int from, int to)
{
    for (int i = from; i < to; i++) {
        char fw[3] = {(char)0xEF, (char)0xBC, (char)(0x90 + (digits[i] - '0'))};
        sb_mem(b, fw, 3);
    }
}

static void sb_phone(sb *b, const char *d, int fmt)
{
    switch (fmt) {
    case PF_SPACED:
    case PF_DASHED:
    case PF_DOTTED: {
        char sep = fmt == PF_SPACED ? ' ' : fmt == PF_DASHED ? '-' : '.';
        sb_mem(b, d, 3);
        sb_chr(b, sep);
        sb_mem(b, d + 3, 4);
        sb_chr(b, sep);
        sb_mem(b, d + 7, 4);
        break;
    }
    case PF_PLUS86_SP:
        sb_str(b, "+86 ");
        sb_mem(b, d, 11);
        break;
    case PF_PLUS86:
        sb_str(b, "+86");
        sb_mem(b, d, 11);
        break;
    case PF_0086_DASHED:
        sb_str(b, "0086-");
        sb_phone(b, d, PF_DASHED);
        break;
    case PF_86_SP:
        sb_str(b, "86 ");
        sb_mem(b, d, 11);
        break;
    case PF_PAREN86:
        sb_str(b, "(+86)");
        sb_phone(b, d, PF_SPACED);
        break;
    case PF_FULLWIDTH:
        sb_fullwidth_digits(b, d, 0, 11);
        break;
    case PF_PLUS86_DASHED:
        sb_str(b, "+86-");
        sb_phone(b, d, PF_DASHED);
        break;
    case PF_86:
        sb_str(b, "86");
        sb_mem(b, d, 11);
        break;
    case PF_PLUS86_SPACED:
        sb_str(b, "+86 ");
        sb_phone(b, d, PF_SPACED);
        break;
    case PF_PLAIN:
    default:
        sb_mem(b, d, 11);
        break;
    }
}

static void sb_iso_time(sb *b, int64_t ms)
{
    int64_t days = ms / 86400000;
    int64_t rem = ms % 86400000;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    sb_uint_w(b, (unsigned)y, 4);
    sb_chr(b, '-');
    sb_uint_w(b, (unsigned)m, 2);
    sb_chr(b, '-');
    sb_uint_w(b, (unsigned)d, 2);
    sb_chr(b, 'T');
    sb_uint_w(b, (unsigned)(rem / 3600000), 2);
    sb_chr(b, ':');
    sb_uint_w(b, (unsigned)(rem / 60000 % 60), 2);
    sb_chr(b, ':');
    sb_uint_w(b, (unsigned)(rem / 1000 % 60), 2);
    sb_chr(b, '.');
    sb_uint_w(b, (unsigned)(rem % 1000), 3);
    sb_chr(b, 'Z');
}

/* ------------------------------------------------------------------------ */
/* Records                                                                    */

enum {
    F_CHANNEL, F_CAMPAIGN, F_NAME, F_PHONE, F_EMAIL, F_OPENID, F_UNIONID,
    F_PROVINCE, F_CITY, F_DEALER, F_MODEL, F_TIMELINE, F_TEST_DRIVE,
    F_CREATED_AT, F_ATTRIBUTES, N_FIELDS
};
static const char *const FIELD_NAMES[N_FIELDS] = {
    "channel", "campaign", "name", "phone", "email", "wechat_openid", "wechat_unionid",
    "province", "city", "dealer_id", "model", "purchase_timeline", "test_drive",
    "created_at", "attributes",
};

/* One record: each field points into the scratch buffer or a table, NULL
 * when absent. test_drive and attributes are raw JSON (true/false, object). */
typedef struct record {
    const char *f[N_FIELDS];
    char scratch[2048];
    /* The person behind the record: some fields point into it (email,
     * openid, unionid), so it must live as long as the record, not on
     * make_record's stack (ASan found that). */
    person who;
} record;

/* Entity flags kept per entity: the channel of its first lead (low 4 bits),
 * and whether that lead carried the canonical name and the city. */
#define EF_CHANNEL_MASK 0x0F
#define EF_NAME_CITY 0x10
#define MAX_LEADS_PER_ENTITY 6

typedef struct gen {
    rng r;
    long count;
    double dup_rate;
    uint32_t *rec_entity;   /* entity of each record so far */
    uint8_t *entity_flags;  /* per entity */
    uint8_t *entity_leads;  /* per entity: how many records so far */
    uint32_t n_entities;
    double per_day;          /* records per day, for picking recent ones */
} gen;

/* The record's time: stratified over the period by the slot weights, so the
 * output is in time order and every seed covers the whole period. */
static int64_t record_time(gen *g, long i)
{
    double u = ((double)i + rng_unit(&g->r)) / (double)g->count * slot_cum[N_SLOTS - 1];
    int lo = 0, hi = N_SLOTS - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (slot_cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    double before = lo ? slot_cum[lo - 1] : 0.0;
    double frac = (u - before) / (slot_cum[lo] - before);
    int64_t off = (int64_t)(frac * 3600000.0);
    if (off < 0)
        off = 0;
    if (off > 3599999)
        off = 3599999;
    return START_MS + (int64_t)lo * 3600000 + off;
}

static int channel_open(int ch, int local_hour)
{
    if (ch == CH_WALK_IN || ch == CH_AUTO_SHOW)
        return local_hour >= 9 && local_hour <= 20;
    if (ch == CH_DCC)
        return local_hour >= 8 && local_hour <= 21;
    return 1;
}

static int pick_channel(gen *g, int local_hour, int avoid)
{
    for (int tries = 0; tries < 64; tries++) {
        int ch = wt_pick(&wt_channel, &g->r);
        if (ch != avoid && channel_open(ch, local_hour))
            return ch;
    }
    return avoid == CH_WECHAT_MP ? CH_DOUYIN : CH_WECHAT_MP;
}

static const char *pick_utm(rng *r, int ch)
{
#define PICK(a) a[rng_below(r, (uint32_t)(sizeof a / sizeof a[0]))]
    switch (ch) {
    case CH_WEBSITE: return PICK(UTM_WEBSITE);
    case CH_WECHAT_MP: return PICK(UTM_WECHAT);
    case CH_DOUYIN: return PICK(UTM_DOUYIN);
    case CH_AUTOHOME: return "autohome";
    case CH_DONGCHEDI: return "dongchedi";
    case CH_APP: return PICK(UTM_APP);
    case CH_THIRD_PARTY: return PICK(UTM_THIRD);
    default: return NULL;
    }
#undef PICK
}

/* Which earlier record a re-submission repeats: mostly recent ones (people
 * fill in a second form within days), some from any time before. */
static uint32_t pick_earlier_entity(gen *g, long i)
{
    uint32_t x = rng_below(&g->r, 100);
    long window;
    if (x < 50)
        window = (long)(g->per_day * 1.0) + 1;
    else if (x < 80)
        window = (long)(g->per_day * 30.0) + 1;
    else
        window = i;
    if (window > i)
        window = i;
    long back = 1 + (long)rng_below(&g->r, (uint32_t)window);
    return g->rec_entity[i - back];
}

/* Change one digit of the last eight so that the number stays a valid mobile
 * and belongs to no other person of this run. */
static void phone_one_digit_off(gen *g, const person *p, char *out)
{
    for (int tries = 0; tries < 32; tries++) {
        memcpy(out, p->phone, 12);
        int pos = 3 + (int)rng_below(&g->r, 8);
        int old = out[pos] - '0';
        int nd = (old + 1 + (int)rng_below(&g->r, 9)) % 10;
        out[pos] = (char)('0' + nd);
        uint64_t suffix = (uint64_t)strtoull(out + 3, NULL, 10);
        uint64_t other = ((suffix + SUFFIX_MOD - g_suffix_add) % SUFFIX_MOD) * g_suffix_inv % SUFFIX_MOD;
        if (other >= (uint64_t)g->count)
            return;
        person q;
        person_make(&q, other);
        if (q.prefix != p->prefix)
            return;
    }
    /* Give up changing (vanishingly rare): the duplicate is an exact one. */
    memcpy(out, p->phone, 12);
}

static void campaign_for(gen *g, record *rec, int ch, int y, int md)
{
    double p_window = ch == CH_WALK_IN ? 0.2 : 0.55;
    int active[N_CAMPAIGNS], n = 0;
    for (int k = 0; k < N_CAMPAIGNS; k++)
        if (in_window(y, md, CAMPAIGNS[k].year, CAMPAIGNS[k].from, CAMPAIGNS[k].to))
            active[n++] = k;
    if (n && rng_chance(&g->r, p_window)) {
        rec->f[F_CAMPAIGN] = CAMPAIGNS[active[rng_below(&g->r, (uint32_t)n)]].name;
    } else if (CHANNEL_ALWAYS_ON[ch] && rng_chance(&g->r, 0.3)) {
        rec->f[F_CAMPAIGN] = CHANNEL_ALWAYS_ON[ch];
    }
}

/* Build record i. */
static uint32_t make_record(gen *g, long i, record *rec)
{
    sb b = {rec->scratch, rec->scratch + sizeof rec->scratch};
    rng *r = &g->r;
    person *const p = &rec->who;
    uint32_t eid;
    int dup = 0, kind = 0; /* kind: 0 same phone, 1 one digit off, 2 WeChat only */
    int prev_channel = -1;

    memset(rec->f, 0, sizeof rec->f);
    int64_t t = record_time(g, i);
    int64_t local = t + 8 * 3600000;
    int local_hour = (int)(local / 3600000 % 24);
    int y, m, d;
    civil_from_days(local / 86400000, &y, &m, &d);

    eid = UINT32_MAX;
    if (i > 0 && rng_chance(r, g->dup_rate)) {
        /* People rarely leave their details more than a handful of times;
         * the cap keeps recent-biased picks from growing long chains. */
        for (int tries = 0; tries < 4 && eid == UINT32_MAX; tries++) {
            uint32_t e = pick_earlier_entity(g, i);
            if (g->entity_leads[e] < MAX_LEADS_PER_ENTITY)
                eid = e;
        }
    }
    if (eid != UINT32_MAX) {
        dup = 1;
        prev_channel = g->entity_flags[eid] & EF_CHANNEL_MASK;
        uint32_t x = rng_below(r, 100);
        if (x < 8 && (g->entity_flags[eid] & EF_NAME_CITY))
            kind = 1;
        else if (x < 12 && prev_channel == CH_WECHAT_MP)
            kind = 2;
    } else {
        eid = g->n_entities++;
    }
    g->entity_leads[eid]++;
    person_make(p, eid);

    /* channel */
    int ch;
    if (kind == 2)
        ch = CH_WECHAT_MP;
    else if (dup)
        ch = pick_channel(g, local_hour, rng_chance(r, 0.85) ? prev_channel : -1);
    else
        ch = pick_channel(g, local_hour, -1);
    rec->f[F_CHANNEL] = CHANNEL_NAMES[ch];
    campaign_for(g, rec, ch, y, m * 100 + d);

    /* name */
    int name_city = 0;
    {
        char *start = b.p;
        int have = 1;
        if (kind == 1) {
            sb_canonical_name(&b, p);
        } else if (dup) {
            have = sb_dup_name(&b, r, p);
        } else if ((ch == CH_DCC || ch == CH_WALK_IN) && rng_chance(r, 0.15)) {
            sb_honorific(&b, p);
        } else if (rng_chance(r, 0.02)) {
            have = 0;
        } else {
            sb_canonical_name(&b, p);
            name_city = 1;
        }
        if (have) {
            rec->f[F_NAME] = start;
            sb_chr(&b, '\0');
        }
    }

    /* phone */
    if (kind != 2) {
        char digits[12];
        char *start = b.p;
        if (kind == 1)
            phone_one_digit_off(g, p, digits);
        else
            memcpy(digits, p->phone, 12);
        sb_phone(&b, digits, wt_pick(dup ? &wt_pf_dup : &wt_pf_first, r));
        rec->f[F_PHONE] = start;
        sb_chr(&b, '\0');
    }

    if (p->has_email && rng_chance(r, dup ? 0.4 : 0.7)) {
        if (dup && rng_chance(r, 0.1)) { /* Capitalised by a phone keyboard */
            char *start = b.p;
            sb_str(&b, p->email);
            if (*start >= 'a' && *start <= 'z')
                *start = (char)(*start - 'a' + 'A');
            rec->f[F_EMAIL] = start;
            sb_chr(&b, '\0');
        } else {
            rec->f[F_EMAIL] = p->email;
        }
    }

    if (ch == CH_WECHAT_MP) {
        rec->f[F_OPENID] = p->openid;
        if (p->has_unionid && (kind == 2 || rng_chance(r, 0.6)))
            rec->f[F_UNIONID] = p->unionid;
    }

    /* region */
    {
        uint32_t x = rng_below(r, 100);
        int with_city = kind == 1 || x < (dup ? 70u : 90u);
        int with_prov = with_city || x < (dup ? 75u : 95u);
        int shortform = rng_chance(r, dup ? 0.3 : 0.15);
        const city_row *c = &CITIES[p->city];
        if (with_prov)
            rec->f[F_PROVINCE] = shortform ? PROVINCES[c->province].shortname : PROVINCES[c->province].full;
        if (with_city) {
            char *start = b.p;
            sb_str(&b, c->name);
            if (!shortform)
                sb_str(&b, "市");
            rec->f[F_CITY] = start;
            sb_chr(&b, '\0');
        } else {
            name_city = 0;
        }
    }

    /* dealer */
    {
        double pd;
        switch (ch) {
        case CH_WALK_IN: case CH_AUTO_SHOW: case CH_DCC: pd = 1.0; break;
        case CH_AUTOHOME: case CH_DONGCHEDI: pd = 0.7; break;
        default: pd = 0.35; break;
        }
        if (rng_chance(r, pd)) {
            int dl = p->home_dealer;
            if (rng_chance(r, 0.2))
                dl = city_dealer_first[p->city] + (int)rng_below(r, (uint32_t)city_dealer_count[p->city]);
            char *start = b.p;
            /* dealer number within its city */
            int seq = dl - city_dealer_first[p->city] + 1;
            sb_chr(&b, 'D');
            sb_uint_w(&b, (unsigned)CITIES[p->city].code, 4);
            sb_uint_w(&b, (unsigned)seq, 3);
            rec->f[F_DEALER] = start;
            sb_chr(&b, '\0');
        }
    }

    if (rng_chance(r, dup ? 0.85 : 0.9)) {
        int mdl = p->model;
        if (dup && rng_chance(r, 0.25))
            mdl = wt_pick(&wt_model, r);
        rec->f[F_MODEL] = MODELS[mdl].name;
    }
    if (rng_chance(r, 0.65))
        rec->f[F_TIMELINE] = TIMELINES[wt_pick(&wt_timeline, r)];
    if (rng_chance(r, 0.55)) {
        double pt = (ch == CH_WALK_IN || ch == CH_AUTO_SHOW) ? 0.6 : 0.35;
        rec->f[F_TEST_DRIVE] = rng_chance(r, pt) ? "true" : "false";
    }
    {
        char *start = b.p;
        sb_iso_time(&b, t);
        rec->f[F_CREATED_AT] = start;
        sb_chr(&b, '\0');
    }

    /* attributes: a small object */
    if (rng_chance(r, 0.5)) {
        char *start = b.p;
        int n = 0;
        const char *utm = pick_utm(r, ch);
        sb_chr(&b, '{');
        if (rng_chance(r, 0.6)) {
            int budget = p->budget;
            if (dup && rng_chance(r, 0.3))
                budget += (int)rng_below(r, 5) - 2;
            sb_str(&b, "\"budget_wan\":");
            sb_uint(&b, (uint64_t)(budget > 5 ? budget : 5));
            n++;
        }
        if (utm && rng_chance(r, 0.8)) {
            if (n++)
                sb_chr(&b, ',');
            sb_str(&b, "\"utm_source\":\"");
            sb_str(&b, utm);
            sb_chr(&b, '"');
            if (rng_chance(r, 0.5)) {
                sb_str(&b, ",\"utm_medium\":\"");
                sb_str(&b, UTM_MEDIUM[rng_below(r, 5)]);
                sb_chr(&b, '"');
            }
        }
        if (ch == CH_AUTO_SHOW && rng_chance(r, 0.5)) {
            if (n++)
                sb_chr(&b, ',');
            sb_str(&b, "\"booth\":\"");
            sb_chr(&b, (char)('A' + rng_below(r, 6)));
            sb_uint(&b, 1 + rng_below(r, 12));
            sb_chr(&b, '"');
        }
        sb_chr(&b, '}');
        if (n) {
            rec->f[F_ATTRIBUTES] = start;
            sb_chr(&b, '\0');
        } else {
            b.p = start;
        }
    }

    if (!dup)
        g->entity_flags[eid] = (uint8_t)(ch | (name_city ? EF_NAME_CITY : 0));
    g->rec_entity[i] = eid;
    return eid;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                     */

static void sb_json_string(sb *b, const char *s)
{
    sb_chr(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            sb_chr(b, '\\');
            sb_chr(b, (char)c);
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_mem(b, esc, 6);
        } else {
            sb_chr(b, (char)c);
        }
    }
    sb_chr(b, '"');
}

static void sb_csv_field(sb *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        sb_str(b, s);
        return;
    }
    sb_chr(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            sb_chr(b, '"');
        sb_chr(b, *s);
    }
    sb_chr(b, '"');
}

static void render_ndjson(sb *b, const record *rec)
{
    int n = 0;
    sb_chr(b, '{');
    for (int k = 0; k < N_FIELDS; k++) {
        if (!rec->f[k])
            continue;
        if (n++)
            sb_chr(b, ',');
        sb_chr(b, '"');
        sb_str(b, FIELD_NAMES[k]);
        sb_str(b, "\":");
        if (k == F_TEST_DRIVE || k == F_ATTRIBUTES)
            sb_str(b, rec->f[k]);
        else
            sb_json_string(b, rec->f[k]);
    }
    sb_str(b, "}\n");
}

static void render_csv(sb *b, const record *rec)
{
    for (int k = 0; k < N_FIELDS; k++) {
        if (k)
            sb_chr(b, ',');
        if (rec->f[k])
            sb_csv_field(b, rec->f[k]);
    }
    sb_chr(b, '\n');
}

/* ------------------------------------------------------------------------ */
/* Command line                                                               */

static void usage(FILE *to)
{
    fputs("usage: gen_leads --count N [--seed S] [--format ndjson|csv] [--out FILE]\n"
          "                 [--truth FILE] [--dup-rate R]\n"
          "  --count N      number of leads (1 .. 100000000)\n"
          "  --seed S       64-bit seed (default 1); same seed and count, same bytes\n"
          "  --format F     ndjson (default) or csv (header row, RFC 4180 quoting)\n"
          "  --out FILE     output file (default standard output)\n"
          "  --truth FILE   write record_index,entity_id (CSV) for every record\n"
          "  --dup-rate R   share of records that re-submit an earlier person (default 0.2)\n",
          to);
}

/* Accept "--name value" and "--name=value". */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "gen_leads: %s needs a value\n", name);
        exit(2);
    }
    return argv[++*i];
}

static void die_bad(const char *name, const char *v)
{
    fprintf(stderr, "gen_leads: bad value for %s: '%s'\n", name, v);
    usage(stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    long count = -1;
    uint64_t seed = 1;
    int csv = 0;
    const char *out_path = NULL, *truth_path = NULL;
    double dup_rate = 0.2;

    for (int i = 1; i < argc; i++) {
        const char *v;
        char *end;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if ((v = opt_value(argc, argv, &i, "--count"))) {
            errno = 0;
            count = strtol(v, &end, 10);
            if (errno || *end || end == v || count < 1 || count > MAX_COUNT)
                die_bad("--count", v);
        } else if ((v = opt_value(argc, argv, &i, "--seed"))) {
            errno = 0;
            seed = (uint64_t)strtoull(v, &end, 0);
            if (errno || *end || end == v || *v == '-')
                die_bad("--seed", v);
        } else if ((v = opt_value(argc, argv, &i, "--format"))) {
            if (strcmp(v, "ndjson") == 0)
                csv = 0;
            else if (strcmp(v, "csv") == 0)
                csv = 1;
            else
                die_bad("--format", v);
        } else if ((v = opt_value(argc, argv, &i, "--out"))) {
            out_path = v;
        } else if ((v = opt_value(argc, argv, &i, "--truth"))) {
            truth_path = v;
        } else if ((v = opt_value(argc, argv, &i, "--dup-rate"))) {
            errno = 0;
            dup_rate = strtod(v, &end);
            if (errno || *end || end == v || !(dup_rate >= 0.0 && dup_rate <= 0.95))
                die_bad("--dup-rate", v);
        } else {
            fprintf(stderr, "gen_leads: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (count < 0) {
        fprintf(stderr, "gen_leads: --count is required\n");
        usage(stderr);
        return 2;
    }

    tables_init();
    g_seed = seed;
    {
        uint64_t sm = seed ^ UINT64_C(0xA5A5A5A5A5A5A5A5);
        g_suffix_add = splitmix64(&sm) % SUFFIX_MOD;
        g_suffix_inv = mod_inverse(SUFFIX_MUL, SUFFIX_MOD);
    }

    gen g;
    memset(&g, 0, sizeof g);
    rng_seed(&g.r, seed);
    g.count = count;
    g.dup_rate = dup_rate;
    g.per_day = (double)count / N_DAYS;
    g.rec_entity = malloc((size_t)count * sizeof *g.rec_entity);
    g.entity_flags = calloc((size_t)count, 1);
    g.entity_leads = calloc((size_t)count, 1);
    if (!g.rec_entity || !g.entity_flags || !g.entity_leads) {
        fprintf(stderr, "gen_leads: out of memory\n");
        return 1;
    }

    FILE *out = stdout;
    if (out_path && !(out = fopen(out_path, "wb"))) {
        fprintf(stderr, "gen_leads: %s: %s\n", out_path, strerror(errno));
        return 1;
    }
    FILE *truth = NULL;
    if (truth_path && !(truth = fopen(truth_path, "wb"))) {
        fprintf(stderr, "gen_leads: %s: %s\n", truth_path, strerror(errno));
        return 1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 20);
    if (truth) {
        setvbuf(truth, NULL, _IOFBF, 1 << 18);
        fputs("record_index,entity_id\n", truth);
    }

    if (csv) {
        for (int k = 0; k < N_FIELDS; k++) {
            if (k)
                fputc(',', out);
            fputs(FIELD_NAMES[k], out);
        }
        fputc('\n', out);
    }

    static record rec;
    static char line[8192];
    for (long i = 0; i < count; i++) {
        uint32_t eid = make_record(&g, i, &rec);
        sb b = {line, line + sizeof line};
        if (csv)
            render_csv(&b, &rec);
        else
            render_ndjson(&b, &rec);
        fwrite(line, 1, (size_t)(b.p - line), out);
        if (truth) {
            sb tb = {line, line + sizeof line};
            sb_uint(&tb, (uint64_t)i);
            sb_chr(&tb, ',');
            sb_uint(&tb, eid);
            sb_chr(&tb, '\n');
            fwrite(line, 1, (size_t)(tb.p - line), truth);
        }
    }

    int rc = 0;
    if (fflush(out) != 0 || ferror(out) || (out != stdout && fclose(out) != 0)) {
        fprintf(stderr, "gen_leads: write failed: %s\n", strerror(errno));
        rc = 1;
    }
    if (truth && (fflush(truth) != 0 || ferror(truth) || fclose(truth) != 0)) {
        fprintf(stderr, "gen_leads: writing the truth file failed: %s\n", strerror(errno));
        rc = 1;
    }
    free(g.rec_entity);
    free(g.entity_flags);
    free(g.entity_leads);
    return rc;
}
