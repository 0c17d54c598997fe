#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into OUT/<target>/, from real-shaped inputs.

    python3 bench/fuzz/make_seeds.py OUT

form, amocrm: the webhook fixtures of tests/unit/adapters/amocrm/wire (the verbatim samples of
reference/amocrm.md section 1.7), also URL-decoded, plus hand-written bodies for the shapes the
fixtures lack (deletions, tasks of leads and of contacts, local times, a[] appends, other
entities). generic: the JSON bodies of tests/unit/adapters/generic/decoder_test.cpp (events spliced into
{"events": [...]} the way its Body() does). iso8601: times and durations in the forms the parsers
read and a few they must refuse. config: deploy/funnelguard.example.toml, src/demo/data/demo.toml
and the tenant of tests/unit/config/support.hpp with variations.

bench/fuzz.sh --update-corpus merges these with what the fuzzers found into bench/fuzz/corpus
(libFuzzer -merge=1 keeps only inputs that add coverage).
"""
import hashlib
import json
import os
import re
import sys
from urllib.parse import quote_plus, unquote_plus

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def form(pairs):
    """A body as amoCRM builds it (http_build_query: brackets and non-ASCII encoded)."""
    return "&".join(quote_plus(k) + "=" + quote_plus(v) for k, v in pairs)


def lead(action, extra=(), i=0):
    p = f"leads[{action}][{i}]"
    return [(f"{p}[id]", "31926520"), (f"{p}[name]", "Поставка оборудования"),
            (f"{p}[status_id]", "10216994"), (f"{p}[pipeline_id]", "2116"),
            (f"{p}[responsible_user_id]", "938348"), (f"{p}[last_modified]", "1793599200"),
            (f"{p}[created_at]", "1793500000"),
            (f"{p}[custom_fields][0][id]", "1119321"),
            (f"{p}[custom_fields][0][name]", "Some text field"),
            (f"{p}[custom_fields][0][values][0][value]", "some text"),
            (f"{p}[custom_fields][1][id]", "72333"),
            (f"{p}[custom_fields][1][values][0]", "1542067200"),
            (f"{p}[custom_fields][2][id]", "500001"),
            (f"{p}[custom_fields][2][values][0][enum]", "908107"),
            *extra, ("account[id]", "10216991"), ("account[subdomain]", "acme")]


def task(action, element_type="2", extra=()):
    p = f"task[{action}][0]"
    return [(f"{p}[id]", "1564671"), (f"{p}[element_id]", "31926520"),
            (f"{p}[element_type]", element_type), (f"{p}[text]", "Позвонить ЛПР"),
            (f"{p}[status]", "0"), (f"{p}[responsible_user_id]", "938348"),
            (f"{p}[date_create]", "2024-09-17 13:07:29"),
            (f"{p}[last_modified]", "2024-09-17 13:07:29"),
            (f"{p}[complete_till]", "2025-10-02 20:59:00"),
            (f"{p}[updated_at]", "1726578449"), (f"{p}[complete_before]", "1759438740"),
            *extra, ("account[id]", "32720107")]


def amocrm_seeds():
    folder = os.path.join(ROOT, "tests/unit/adapters/amocrm/wire/fixtures")
    seeds = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".form") or name.endswith(".decoded.txt"):
            body = read("tests/unit/adapters/amocrm/wire/fixtures", name).rstrip("\r\n")
            seeds.append(body)
            seeds.append(unquote_plus(body))
    seeds += [
        form(lead("status", [("leads[status][0][old_status_id]", "10216995")])),
        form(lead("status", [("leads[status][0][old_status_id]", "20067736"),
                             ("leads[status][0][old_pipeline_id]", "9217056")])),
        form(lead("add")), form(lead("restore")), form(lead("update", i=1)),
        form(lead("add") + lead("update") + lead("status")),
        form([("leads[status][0][id]", "1"), ("leads[status][0][status_id]", "142"),
              ("leads[status][0][last_modified]", "1793599200")]),
        form([("leads[add][0][id]", "7"), ("leads[add][0][status_id]", "43315792"),
              ("leads[add][0][date_create]", "2026-03-29 02:30:00"),
              ("leads[add][0][last_modified]", "2011-03-27 02:30:00")]),
        form([("leads[delete][0][id]", "12345678"), ("leads[delete][0][status_id]", "67548607"),
              ("leads[delete][0][pipeline_id]", "8572511"), ("leads[delete][1][id]", "5")]),
        form(task("add")), form(task("update", extra=[("task[update][0][is_completed]", "1")])),
        form(task("add", element_type="1")),
        form([("task[delete][0][id]", "1564845"), ("tasks[delete][0][id]", "9")]),
        form([("leads[note][0][id]", "4600471"), ("leads[note][0][note_type]", "4"),
              ("leads[note][0][element_type]", "2"), ("leads[note][0][element_id]", "15320411"),
              ("leads[note][0][text]", "Клиент просит КП"),
              ("leads[note][0][created_at]", "1726580291")]),
        form([("contacts[add][0][id]", "1"), ("contacts[add][0][name]", "Иван")]),
        form([("unsorted[add][0][uid]", "abc"), ("account[subdomain]", "acme")]),
        "leads[add][][id]=1&leads[add][][id]=2&leads[add][0][status_id]=10216994",
        "leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82&a=1&a[b]=2",
        "leads[status][0][name]=%D0%9&x",
        "leads=1", "account[id]=1", "", "&&=&",
    ]
    return seeds


def generic_seeds():
    text = read("tests/unit/adapters/generic/decoder_test.cpp")
    seeds = []
    for raw in re.findall(r'R"json\((.*?)\)json"', text, re.S) + re.findall(
            r'R"\((.*?)\)"', text, re.S):
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict) and "type" in value:
            seeds.append('{"events": [' + raw + "]}")
        elif isinstance(value, dict) and "events" in value:
            seeds.append(raw)
    seeds += ['{"events": []}', "{}", "[]", '{"events": {}}', "null", ""]
    return seeds


def iso_seeds():
    return [
        "2026-11-02T09:00:00+03:00", "2026-11-02T06:00:00Z", "2026-11-02T06:00:00z",
        "2026-11-02 06:00:00Z", "2026-11-02T09:00:00.250+03:00", "2026-11-02T09:00:00+0300",
        "2026-11-02T09:00:00-03:30", "2016-12-31T23:59:60Z", "0000-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00", "1880-01-01T00:00:00Z", "2024-02-29T12:00:00+05:45",
        "2026-11-02T09:00:00", "2026-13-02T09:00:00Z", "2026-11-02T09:00:00.Z",
        "30s", "15m", "4h", "14d", "0m", "90s", "3153600000d", "1w", "-5m", "",
    ]


def config_seeds():
    example = read("deploy/funnelguard.example.toml")
    demo = read("src/demo/data/demo.toml").replace("@BASE_URL@", "http://127.0.0.1:9100")
    demo = demo.replace("@TOKEN@", "${BETA_AMOCRM_TOKEN}")
    # Tenant() of tests/unit/config/support.hpp.
    tenant = ('[[tenant]]\nid = "acme"\nsecret = "s3cret"\n[[tenant.pipeline]]\nid = "main"\n'
              'stages = ["Новая", "Квалификация", "КП отправлено", "Счёт выставлен", "Оплачено", '
              '"Успешно"]\nwon = ["Успешно"]\nlost = ["Закрыто и не реализовано"]\n')
    return [
        example, demo, tenant,
        'tenants_dir = "tenants"\n' + tenant,
        'tenants_dir = "tenants"\n[server]\nlisten = "${FG_FUZZ_LISTEN}"\n',
        tenant.replace('"s3cret"', '"${FG_FUZZ_SECRET}"') +
        '[tenant.rules.deal_without_task]\ngrace = "15m"\nactions = ["task", "notify"]\n',
        tenant + "[tenant.rules.actual_stage]\n"
                 'max_age = { default = "14d", "Оплачено" = "5d" }\n'
                 'consistency = [ { when_at_least = { field = "Оплачено, %", value = 100 }, '
                 'stage_at_least = "Оплачено" } ]\n',
        tenant.replace("[[tenant.pipeline]]", '[tenant.generic]\nactions_url = "${FG_FUZZ_URL}"\n'
                                              "rps = 5\n[[tenant.pipeline]]"),
        '[server]\nthreads = 0\nmax_body_bytes = -1\nadmin_token = "short"\n'
        '[log]\nlevel = "verbose"\n[storage]\npath = ""\n',
        "[[tenant]]\nid = \"Bad Id\"\ncrm = \"bitrix24\"\nsecret = \"${FG_FUZZ_UNSET}\"\n"
        'timezone = "Mars/Olympus"\nreconcile_at = "25:00"\n',
        "[[tenant]]\nid = \"x\"\nsecret = \"${FG_FUZZ_EMPTY}\"\ncrm = \"amocrm\"\n"
        '[tenant.amocrm]\nclient_id = "c"\nclient_secret = "${BETA_CLIENT_SECRET}"\nrps = 8\n',
        "tenant = 1\n", "a = [1, 2\n", "",
    ]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    targets = {"form": amocrm_seeds(), "amocrm": amocrm_seeds(), "generic": generic_seeds(),
               "iso8601": iso_seeds(), "config": config_seeds()}
    for target, seeds in targets.items():
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for seed in seeds:
            data = seed.encode("utf-8")
            name = hashlib.sha1(data).hexdigest()  # libFuzzer names corpus files the same way
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(os.listdir(folder))} seeds in {folder}")


if __name__ == "__main__":
    main()
