"""Word pools and name builders of the sample: firms, people, places, centers, projects.

What belongs here: every Chinese string the generator composes (as data), and the injective
mapping from (firm index, name version) to a firm name, scalar and vectorised. Firm names must be
unique across the whole registry (resolution by name would otherwise be ambiguous), including
the names a firm had before a rename.
"""
from __future__ import annotations

import numpy as np

# Region word, administrative-division code of its registering office, registration authority,
# address prefix. The first six are local (Guizhou).
REGIONS = [
    ("贵州", "520900", "贵安新区市场监督管理局", "贵州省贵安新区"),
    ("贵阳", "520115", "贵阳市观山湖区市场监督管理局", "贵州省贵阳市观山湖区"),
    ("贵安", "520900", "贵安新区市场监督管理局", "贵州省贵安新区"),
    ("安顺", "520402", "安顺市西秀区市场监督管理局", "贵州省安顺市西秀区"),
    ("遵义", "520302", "遵义市红花岗区市场监督管理局", "贵州省遵义市红花岗区"),
    ("黔南", "522701", "都匀市市场监督管理局", "贵州省黔南布依族苗族自治州都匀市"),
    ("北京", "110108", "北京市海淀区市场监督管理局", "北京市海淀区"),
    ("上海", "310115", "上海市浦东新区市场监督管理局", "上海市浦东新区"),
    ("深圳", "440300", "深圳市市场监督管理局", "广东省深圳市南山区"),
    ("杭州", "330106", "杭州市西湖区市场监督管理局", "浙江省杭州市西湖区"),
    ("广州", "440106", "广州市天河区市场监督管理局", "广东省广州市天河区"),
    ("成都", "510107", "成都市武侯区市场监督管理局", "四川省成都市武侯区"),
    ("重庆", "500112", "重庆市渝北区市场监督管理局", "重庆市渝北区"),
    ("南京", "320114", "南京市雨花台区市场监督管理局", "江苏省南京市雨花台区"),
    ("武汉", "420111", "武汉市洪山区市场监督管理局", "湖北省武汉市洪山区"),
    ("西安", "610113", "西安市雁塔区市场监督管理局", "陕西省西安市雁塔区"),
]
N_LOCAL_REGIONS = 6
BRAND_A = list("云数智黔华中泰联创恒宏鑫瑞博通达海天星辰远信安佳盛锦鼎汇源腾飞越"
               "卓凯嘉德弘科润和新金银东西南北长众合益永兴富康丰明光晟昊")
BRAND_B = list("擎网芯算融讯谷链图维度思捷朗帆峰澜禾川岭曜途灵启睿麒骏驰拓域桥能硕恺翔毅弈璟珑悦舟航宸屹钧琪祥铭瀚泽琨")
TRADES = [
    "科技", "信息技术", "数据科技", "网络科技", "电子", "智能科技", "数字科技", "软件", "通信技术", "云计算",
    "大数据", "计算机", "电子科技", "能源科技", "投资", "实业", "建设", "置业", "算力科技", "光电",
    "半导体", "集成电路", "精密制造", "智能装备", "信息服务", "数据服务", "技术服务", "电力", "新能源", "供应链",
    "传媒", "咨询", "物联网", "互联网", "人工智能", "数据中心",
]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
NAME_VERSIONS = 4  # a firm may have up to 4 names (3 renames)
# Mixed radix, most significant first: (form, trade, region, brand B, brand A).
_RADIX = (len(FORMS), len(TRADES), len(REGIONS), len(BRAND_B), len(BRAND_A))
NAME_SPACE = int(np.prod(_RADIX))
_NAME_MUL, _NAME_ADD = 1_000_003, 4_242_421  # multiplier coprime with NAME_SPACE (2,3,5 only)
MAX_FIRMS = NAME_SPACE // NAME_VERSIONS

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁"
                "潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国玉兰"
             "志红文斌鹏辉宇浩凯俊帆鑫琳雪晨欣怡嘉豪博昊天宏毅晓峰")
ROADS = ["百马大道", "贵安大道", "栋青南路", "兴安大道", "黔中大道", "思雅路", "云漫湖路", "数博大道", "湖潮路",
         "马场大道", "党武路", "高峰大道", "车田路", "星湖大道", "天河潭大道", "金马大道", "碧海路", "大学城东路"]
FIRM_TYPES = ["有限责任公司（自然人投资或控股）", "有限责任公司（非自然人投资或控股的法人独资）", "其他有限责任公司",
              "股份有限公司（非上市、自然人投资或控股）", "有限责任公司（外商投资企业法人独资）",
              "股份有限公司（上市）",
              "有限责任公司（国有独资）"]
# GB/T 4754-2017 codes with their section letter; division 39 = hard, 65 = soft.
INDUSTRY_CODES = ["I6550", "I6510", "I6513", "I6520", "I6531", "I6540", "I6560", "I6450", "I6410", "I6319",
                  "C3911", "C3912", "C3913", "C3921", "C3973", "C3981", "C3976", "D4420", "E4710", "K7010",
                  "L7212", "M7590", "F5179", "C3831", "I6579"]
INACTIVE_STATUSES = ["注销", "吊销", "迁出", "停业"]

PARKS = ["贵安数据中心集聚区", "电子信息产业园", "大学城创新园", "马场科技新城", "湖潮数字经济产业园",
         "党武高新技术产业园",
         "高峰智能制造园", "车田现代服务业园"]
CENTER_SUFFIXES = ["数据中心", "云计算中心", "智算中心", "超算中心", "信息园", "数据中心二期", "算力中心",
                   "灾备数据中心"]
OPERATING_MODELS = ["自建自用", "批发租赁", "零售托管", "云服务", "政企合作"]
STATUSES = ["运营", "在建", "规划", "招引"]
STATUS_SYNONYMS = {"运营": ["已投运", "投运"], "在建": ["建设中"], "规划": ["拟建"], "招引": ["洽谈"]}
INDUSTRIES = ["电子信息制造业", "软件和信息技术服务业", "数据中心", "其他"]
PROMOTION_SUBJECTS = ["园区", "部门", "国企", "驻外联络处", "商协会"]
SUBJECT_SYNONYMS = {"驻外联络处": ["办事处"], "商协会": ["商会", "协会"]}
PROMOTION_METHODS = ["以商招商", "产业链招商", "标准化厂房招商", "基金招商", "其他"]
STAGES = ["在谈", "签约", "开工", "投产"]
STAGE_SYNONYMS = {"在谈": ["洽谈"], "签约": ["已签约"], "开工": ["已开工"], "投产": ["已投产", "达产"]}
PROJECT_KINDS = {
    "电子信息制造业": ["智能终端生产基地项目", "服务器整机制造项目", "电子元器件产业园项目", "光模块生产线项目"],
    "软件和信息技术服务业": ["软件研发中心项目", "呼叫中心项目", "数据标注基地项目", "信息技术服务外包项目"],
    "数据中心": ["数据中心项目", "智算中心项目", "算力调度平台项目", "灾备中心项目"],
    "其他": ["新能源配套项目", "人才公寓项目", "供应链物流中心项目", "冷链仓储项目"],
}
RESPONSIBLE_UNITS = ["贵安新区投资促进局", "贵安新区大数据发展管理局", "贵安新区经济发展局", "电子信息产业园管委会",
                     "贵安发展集团有限公司", "新区驻深圳招商联络处", "新区驻北京招商联络处", "贵安新区科技创新局"]
MEASURES = ["加快机架上架，推动存量客户扩容", "协调电力接入，保障双路供电", "推进二期土建，确保按期封顶",
            "优化制冷系统，降低PUE", "加大招商力度，引入智算客户", "落实算力券政策，提升上架率",
            "推进设备采购与安装调试", "完善配套市政道路与管网"]
EXTRA_COLUMNS = ["联系人", "联系电话", "备注", "数据来源", "更新日期说明"]


def _name_digits(key: int) -> tuple[int, int, int, int, int]:
    """(region, brand A, brand B, trade, form) digits of a name key."""
    n = (key * _NAME_MUL + _NAME_ADD) % NAME_SPACE
    out = []
    for r in reversed(_RADIX):
        n, d = divmod(n, r)
        out.append(d)
    f, t, r, b, a = reversed(out)
    return r, a, b, t, f


def _bracketed(key: int, region: int) -> bool:
    return region >= N_LOCAL_REGIONS and key % 5 == 0


def firm_name(index: int, version: int = 0) -> str:
    """The registered name of firm ``index`` after ``version`` renames (full-width brackets)."""
    if index >= MAX_FIRMS or version >= NAME_VERSIONS:
        raise ValueError("firm index or name version out of range")
    key = index * NAME_VERSIONS + version
    r, a, b, t, f = _name_digits(key)
    if _bracketed(key, r):
        return f"{BRAND_A[a]}{BRAND_B[b]}{TRADES[t]}（{REGIONS[r][0]}）{FORMS[f]}"
    return f"{REGIONS[r][0]}{BRAND_A[a]}{BRAND_B[b]}{TRADES[t]}{FORMS[f]}"


def firm_brand(index: int, version: int = 0) -> str:
    _, a, b, _, _ = _name_digits(index * NAME_VERSIONS + version)
    return BRAND_A[a] + BRAND_B[b]


def firm_name_parts_array(keys: np.ndarray):
    """Vectorised digits of :func:`firm_name` for name keys (index * 4 + version)."""
    n = (keys.astype(np.int64) * _NAME_MUL + _NAME_ADD) % NAME_SPACE
    digits = []
    for r in reversed(_RADIX):
        digits.append(n % r)
        n = n // r
    f, t, r, b, a = reversed(digits)
    bracketed = (r >= N_LOCAL_REGIONS) & (keys % 5 == 0)
    return r, a, b, t, f, bracketed


def person_name(code: int) -> str:
    """A personal name from an integer code (surname + one or two given characters)."""
    s = code % len(SURNAMES)
    g1 = (code // len(SURNAMES)) % len(GIVEN)
    g2 = (code // (len(SURNAMES) * len(GIVEN))) % (len(GIVEN) + 1)
    return SURNAMES[s] + GIVEN[g1] + (GIVEN[g2 - 1] if g2 else "")


PERSON_SPACE = len(SURNAMES) * len(GIVEN) * (len(GIVEN) + 1)
