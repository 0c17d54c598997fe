#!/usr/bin/env python3
"""Generates the demo's bundled working day: src/demo/data/day.json.

    python3 src/demo/data/generate_day.py > src/demo/data/day.json
    python3 src/demo/data/generate_day.py --expect   # the violations the day must produce (JSON)

One Monday (2026-11-02, 09:00-19:00 Moscow time) of a small sales team, in the generic events
format of DESIGN.md section 3: {"tenant", "start", "end", "events": [...]}. Events that happened
before the day (deals created in the previous two weeks) come first, with their own earlier `at`.

The array is in *delivery* order, which is CRM-time (`at`) order except for three deliberate
exceptions that show how the mirror copes with real webhooks:
  * two duplicate deliveries: an event id delivered a second time a few minutes later, with its
    original `at` (must be ignored);
  * one late delivery: an older deal.upserted of deal 1027 delivered after a newer one (must not
    overwrite the newer card, but takes its place in the stage history).

The script is deterministic (fixed seed, standard library only). It also carries a small
reference evaluation of the five rules (DESIGN.md section 1, with the rules of demo.toml) and
refuses to print a day whose violations differ from the plan in PLANNED below (--force prints
anyway). The evaluation judges the events in CRM time and ignores funnelguard's own actions, as
in observe mode: in enforce mode a revert or a created task changes what follows (a reverted skip
resolves as corrected, a created task clears deal_without_task).
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta, timezone

MSK = timezone(timedelta(hours=3))
DAY_START = datetime(2026, 11, 2, 9, 0, tzinfo=MSK)
DAY_END = datetime(2026, 11, 2, 19, 0, tzinfo=MSK)

PIPELINE = "main"
S0, S1, S2, S3, S4, S5 = ("Новая заявка", "Квалификация", "Встреча назначена", "КП отправлено",
                          "Счёт выставлен", "Оплачено")
WON = "Успешно реализовано"
LOST = "Закрыто и не реализовано"
ORDER = [S0, S1, S2, S3, S4, S5, WON]  # open stages in order, then the won one

F_BUDGET, F_SOURCE, F_OFFER, F_PAID = "Бюджет", "Источник", "Сумма КП", "Дата оплаты"

IV, PE, SM, KU = "ivanova", "petrov", "smirnova", "kuznetsov"

# The rules of demo.toml, as the reference evaluation below applies them.
RULES = {
    "grace_without_task": timedelta(minutes=15),
    "overdue_grace": timedelta(0),
    "max_age": {"default": timedelta(days=14), S4: timedelta(days=5)},
    "consistency": [(F_PAID, S5)],
    "required": {S1: [F_BUDGET, F_SOURCE], S3: [F_OFFER]},
    "min_note_chars": 10,
}

rng = random.Random(20261102)


def T(hm: str) -> datetime:
    """A time of the demo day."""
    h, m = hm.split(":")
    return DAY_START.replace(hour=int(h), minute=int(m))


def P(day: int, hm: str, month: int = 10) -> datetime:
    """A time on an earlier working day (October unless told)."""
    h, m = hm.split(":")
    return datetime(2026, month, day, int(h), int(m), tzinfo=MSK)


def iso(t: datetime) -> str:
    return t.isoformat()


MIN = timedelta(minutes=1)

# ---------------------------------------------------------------------------------------------
# Phrases. Notes are what a manager writes; picked with the seeded generator for variety.

NOTES = {
    S0: [
        "Дозвонился, клиенту нужна поставка до конца месяца, бюджет обсуждаем.",
        "Заявка с сайта, интересуются оптовыми ценами и сроками доставки.",
        "Поговорили с закупщиком: нужен расчёт на первую партию, решение за директором.",
        "Клиент хочет сравнить наши условия с текущим поставщиком, просит прайс.",
        "Созвонились, уточнил потребность: 3 позиции, доставка в Подольск.",
        "Первичный звонок прошёл, клиенту интересна рассрочка на 3 месяца.",
    ],
    S1: [
        "Бюджет подтверждён, ЛПР — коммерческий директор, договорились о встрече.",
        "Клиент готов обсуждать детали лично, встреча в офисе клиента.",
        "Квалифицировал: потребность реальная, сроки сжатые, назначаем встречу.",
        "Уточнили объём и бюджет, директор хочет увидеть образцы на встрече.",
        "Выяснил, что решение принимает собственник, договорились о встрече с ним.",
    ],
    S2: [
        "Провели встречу, показали демо, клиент просит КП на три позиции.",
        "Встреча прошла хорошо, клиенту нужен расчёт с доставкой и монтажом.",
        "На встрече согласовали состав поставки, готовим коммерческое предложение.",
        "Клиент посмотрел образцы, просит КП с отсрочкой платежа 14 дней.",
    ],
    S3: [
        "Клиент согласовал КП, просит выставить счёт на юрлицо.",
        "КП принято без правок, запросили реквизиты для счёта.",
        "Обсудили скидку 5%, клиент согласен, выставляем счёт.",
        "Согласовали финальную цену и сроки, бухгалтерия клиента ждёт счёт.",
    ],
    S4: [
        "Бухгалтерия клиента подтвердила оплату, ждём поступления.",
        "Счёт отправлен, клиент обещал оплатить до конца недели.",
        "Клиент прислал платёжное поручение, проверяем поступление.",
    ],
    S5: [
        "Оплата поступила, передали заказ в отгрузку, документы отправлены.",
        "Деньги на счёте, отгрузка согласована на завтра, закрываем сделку.",
        "Оплата получена в полном объёме, закрывающие документы подписаны.",
    ],
}

TASKS = {  # the next step once a deal has entered a stage
    S0: "Позвонить клиенту",
    S1: "Назначить встречу",
    S2: "Провести встречу",
    S3: "Уточнить решение по КП",
    S4: "Проконтролировать оплату",
    S5: "Передать заказ в отгрузку",
}

SOURCES = ["Сайт", "Звонок", "Рекомендация", "Выставка", "Яндекс Директ", "Повторное обращение",
           "Email-рассылка"]


def note_for(stage: str) -> str:
    return rng.choice(NOTES[stage])


def budget() -> int:
    return rng.randrange(8, 120) * 10000


# ---------------------------------------------------------------------------------------------
# The builder: each call appends one event in CRM time; deliveries are arranged at the end.

class Day:
    def __init__(self) -> None:
        self.events: list[dict] = []  # {"seq", "at", "type", body...}
        self.task_seq = 0
        self.note_seq = 0
        self.deals: dict[str, "Deal"] = {}

    def emit(self, at: datetime, etype: str, key: str, body: dict) -> dict:
        ev = {"seq": len(self.events), "at": at, "type": etype, key: body}
        self.events.append(ev)
        return ev

    def deal(self, deal_id: str, title: str, responsible: str) -> "Deal":
        d = Deal(self, deal_id, title, responsible)
        self.deals[deal_id] = d
        return d


class Task:
    def __init__(self, task_id: str, deal: "Deal", text: str, due: datetime) -> None:
        self.id, self.deal, self.text, self.due, self.done = task_id, deal, text, due, False

    def body(self) -> dict:
        return {"id": self.id, "deal": self.deal.id, "due": iso(self.due), "done": self.done,
                "responsible": self.deal.responsible, "text": self.text}


class Deal:
    def __init__(self, day: Day, deal_id: str, title: str, responsible: str) -> None:
        self.day, self.id, self.title, self.responsible = day, deal_id, title, responsible
        self.stage: str | None = None
        self.fields: dict[str, str] = {}
        self.open_tasks: list[Task] = []
        self.last_at: datetime | None = None

    def _tick(self, at: datetime) -> None:
        assert self.last_at is None or at > self.last_at, (self.id, at, self.last_at)
        self.last_at = at

    def card(self) -> dict:
        return {"id": self.id, "title": self.title, "pipeline": PIPELINE, "stage": self.stage,
                "responsible": self.responsible, "fields": dict(self.fields)}

    def upsert(self, at: datetime, stage: str | None = None, **fields: str) -> dict:
        self._tick(at)
        if stage is not None:
            self.stage = stage
        for k, v in fields.items():
            self.fields[FIELD_NAMES[k]] = v
        return self.day.emit(at, "deal.upserted", "deal", self.card())

    create = upsert

    def note(self, at: datetime, text: str | None = None) -> dict:
        self._tick(at)
        self.day.note_seq += 1
        text = text if text is not None else note_for(self.stage)
        return self.day.emit(at, "note.added", "note",
                             {"id": f"n{self.day.note_seq:03d}", "deal": self.id, "text": text})

    def task(self, at: datetime, due: datetime, text: str | None = None) -> Task:
        self._tick(at)
        self.day.task_seq += 1
        t = Task(f"t{self.day.task_seq:03d}", self, text or TASKS[self.stage], due)
        self.open_tasks.append(t)
        self.day.emit(at, "task.upserted", "task", t.body())
        return t

    def done(self, at: datetime, task: Task | None = None) -> dict:
        self._tick(at)
        task = task or self.open_tasks[0]
        task.done = True
        self.open_tasks.remove(task)
        return self.day.emit(at, "task.upserted", "task", task.body())

    def reschedule(self, at: datetime, task: Task, due: datetime) -> dict:
        self._tick(at)
        task.due = due
        return self.day.emit(at, "task.upserted", "task", task.body())

    def delete_task(self, at: datetime, task: Task) -> dict:
        self._tick(at)
        self.open_tasks.remove(task)
        return self.day.emit(at, "task.deleted", "task", {"id": task.id})

    def delete(self, at: datetime) -> dict:
        self._tick(at)
        return self.day.emit(at, "deal.deleted", "deal", {"id": self.id})

    def step(self, at: datetime, stage: str, due: datetime | None, note: str | None = "auto",
             task_text: str | None = None, **fields: str) -> Task | None:
        """The well-behaved move: a note about the stage being left (10 min before), the open
        task completed (1 min before), the move with the card filled, the next task 2 min after."""
        if note is not None:
            self.note(at - 10 * MIN, None if note == "auto" else note)
        for t in list(self.open_tasks):
            self.done(at - MIN, t)
        self.upsert(at, stage, **fields)
        if due is None:
            return None
        return self.task(at + 2 * MIN, due, task_text)


FIELD_NAMES = {"budget": F_BUDGET, "source": F_SOURCE, "offer": F_OFFER, "paid": F_PAID}


def start(d: Deal, at: datetime, due: datetime, source: str | None = None, **fields: str) -> Task:
    """A new lead in "Новая заявка" with its first task two minutes later."""
    d.create(at, S0, source=source or rng.choice(SOURCES), **fields)
    return d.task(at + 2 * MIN, due)


def filled(b: int) -> dict:
    """Бюджет and Сумма КП for a deal of budget b (the offer a little under the budget)."""
    return {"budget": str(b), "offer": str(b - rng.randrange(0, 5) * 5000)}


# ---------------------------------------------------------------------------------------------
# The day. Deals 1001-1014 and 1035-1036 existed before it; 1015-1034 are created on it.

day = Day()
dup_ids: list[tuple[dict, int]] = []  # (event, how many events later it is delivered again)
late: list[dict] = []                 # the event delivered after the newer one


def d1001() -> None:  # ivanova, clean: a meeting last week, the offer goes out today
    d = day.deal("1001", "ООО «Ромашка»", IV)
    b = budget()
    start(d, P(22, "10:10"), P(22, "13:00"), "Сайт")
    d.step(P(22, "11:30"), S1, P(23, "16:00"), budget=str(b))
    d.step(P(23, "15:20"), S2, T("12:00"))
    d.step(T("11:40"), S3, P(5, "12:00", 11), offer=str(b - 20000))


def d1002() -> None:  # petrov, clean: qualified last week, a meeting set today
    d = day.deal("1002", "ИП Соколов", PE)
    start(d, P(23, "14:05"), P(26, "12:00"), "Звонок")
    d.step(P(26, "11:15"), S1, T("13:00"), budget=str(budget()))
    d.note(T("10:20"), "ок")
    d.step(T("12:40"), S2, P(5, "11:00", 11))


def d1003() -> None:  # ivanova: payment date filled at "Счёт выставлен", then won skipping "Оплачено"
    d = day.deal("1003", "ООО «Вектор»", IV)
    f = filled(budget())
    start(d, P(21, "09:40"), P(21, "12:00"), "Выставка")
    d.step(P(21, "11:05"), S1, P(22, "18:00"), budget=f["budget"])
    d.step(P(22, "16:30"), S2, P(26, "15:00"))
    d.step(P(26, "14:10"), S3, P(29, "18:00"), offer=f["offer"])
    d.step(P(29, "16:00"), S4, P(3, "12:00", 11))
    d.note(T("10:18"), "Клиент прислал платёжку, деньги должны прийти сегодня.")
    d.upsert(T("10:20"), paid="2026-11-02")               # consistency: paid, still invoiced
    d.note(T("14:58"), "Оплата поступила, закрываем сделку, документы отправлены.")
    d.done(T("15:04"))
    d.upsert(T("15:05"), WON)                             # skips "Оплачено"


def d1004() -> None:  # kuznetsov, clean
    d = day.deal("1004", "АО «СтройИнвест»", KU)
    start(d, P(27, "10:30"), P(29, "12:00"), "Рекомендация")
    d.step(P(29, "09:50"), S1, T("12:00"), budget=str(budget()))
    d.step(T("10:35"), S2, P(3, "15:00", 11))


def d1005() -> None:  # ivanova, clean: paid and won today
    d = day.deal("1005", "ООО «ТехноСервис»", IV)
    f = filled(budget())
    start(d, P(22, "12:20"), P(23, "12:00"), "Яндекс Директ")
    d.step(P(23, "10:10"), S1, P(26, "18:00"), budget=f["budget"])
    d.step(P(26, "12:30"), S2, P(28, "12:00"))
    d.step(P(28, "11:10"), S3, P(30, "18:00"), offer=f["offer"])
    d.step(P(30, "10:00"), S4, T("17:00"))
    d.step(T("12:30"), S5, T("14:00"), paid="2026-11-02")
    d.step(T("12:50"), WON, None)


def d1006() -> None:  # petrov: stale, invoiced since Oct 27
    d = day.deal("1006", "ООО «Альфа-Логистик»", PE)
    f = filled(budget())
    start(d, P(21, "15:00"), P(22, "12:00"), "Выставка")
    d.step(P(22, "10:40"), S1, P(23, "17:00"), budget=f["budget"])
    d.step(P(23, "12:15"), S2, P(26, "12:00"))
    d.step(P(26, "11:20"), S3, P(27, "17:00"), offer=f["offer"])
    d.step(P(27, "11:00"), S4, P(29, "12:00"), task_text="Напомнить об оплате")
    d.done(P(29, "11:30"))
    d.task(P(29, "11:32"), P(3, "11:00", 11), "Проконтролировать оплату")
    d.note(T("14:20"), "Клиент снова переносит оплату, ждёт согласования бюджета у собственника.")


def d1007() -> None:  # smirnova, clean: sent back to a meeting (a backward move is allowed)
    d = day.deal("1007", "ООО «Северный ветер»", SM)
    f = filled(budget())
    start(d, P(23, "09:45"), P(23, "13:00"), "Сайт")
    d.step(P(23, "12:10"), S1, P(26, "12:00"), budget=f["budget"])
    d.step(P(26, "11:00"), S2, P(28, "16:00"))
    d.step(P(28, "15:30"), S3, T("12:00"), offer=f["offer"])
    d.step(T("11:15"), S2, T("17:00"),
           note="Клиент просит повторную встречу с техническим директором до решения по КП.",
           task_text="Провести встречу с техническим директором")
    d.step(T("16:45"), S3, P(5, "12:00", 11), offer=str(int(f["offer"]) - 15000))


def d1008() -> None:  # kuznetsov: overdue call (done late), left "Новая заявка" with a 6-letter note
    d = day.deal("1008", "ЗАО «Промснаб»", KU)
    start(d, P(30, "17:10"), T("10:00"), "Сайт")
    d.note(T("11:40"), "Звонил")  # 6 characters (12 bytes in UTF-8)
    d.done(T("11:45"))             # due 10:00
    d.upsert(T("11:46"), S1, budget=str(budget()))
    d.task(T("11:48"), P(3, "12:00", 11))


def d1009() -> None:  # smirnova: stale (invoiced since Oct 26), payment check overdue, paid at last
    d = day.deal("1009", "ООО «Гранит»", SM)
    f = filled(budget())
    start(d, P(21, "10:20"), P(21, "15:00"), "Звонок")
    d.step(P(21, "14:00"), S1, P(22, "15:00"), budget=f["budget"])
    d.step(P(22, "14:30"), S2, P(23, "15:00"))
    d.step(P(23, "13:00"), S3, P(26, "16:00"), offer=f["offer"])
    d.step(P(26, "15:00"), S4, P(30, "12:00"), task_text="Напомнить об оплате")
    d.done(P(30, "11:00"))
    t = d.task(P(30, "11:02"), T("12:00"), "Проконтролировать оплату")
    d.done(T("14:30"), t)                                  # due 12:00
    d.task(T("14:32"), T("17:00"), "Сверить поступление с бухгалтерией")
    d.step(T("16:10"), S5, P(3, "15:00", 11),
           note="Оплата поступила на расчётный счёт, закрывающие документы отправлены.",
           paid="2026-11-02")


def d1010() -> None:  # smirnova: no task after the meeting for 95 min; "ок" only, then the offer
    d = day.deal("1010", "ИП Кузьмина А. В.", SM)
    b = budget()
    start(d, P(28, "10:00"), P(29, "12:00"), "Рекомендация")
    d.step(P(29, "10:30"), S1, P(30, "15:00"), budget=str(b))
    d.step(P(30, "12:00"), S2, T("11:00"))
    d.done(T("10:55"))                                     # meeting done, no next step
    d.task(T("12:30"), T("15:00"), "Подготовить КП")
    d.note(T("14:40"), "ок")
    d.done(T("14:55"))
    d.upsert(T("15:00"), S3, offer=str(b - 10000))
    d.task(T("15:02"), P(5, "12:00", 11))


def d1011() -> None:  # kuznetsov: meeting -> invoice (skips the offer), payment check overdue
    d = day.deal("1011", "ООО «Медиа Плюс»", KU)
    f = filled(budget())
    start(d, P(27, "11:40"), P(28, "12:00"), "Выставка")
    d.step(P(28, "10:15"), S1, P(29, "18:00"), budget=f["budget"])
    d.step(P(29, "14:45"), S2, T("11:00"))
    d.step(T("10:45"), S4, T("16:00"),
           note="Встреча прошла, клиент готов платить сразу по прайсу, КП не нужно.",
           offer=f["budget"])


def d1012() -> None:  # kuznetsov, clean (its move today is delivered twice)
    d = day.deal("1012", "ИП Морозов Д. С.", KU)
    f = filled(budget())
    start(d, P(26, "16:00"), P(27, "12:00"), "Звонок")
    d.step(P(27, "11:00"), S1, P(28, "17:00"), budget=f["budget"])
    d.step(P(28, "13:20"), S2, T("10:00"))
    d.note(T("09:45"), "Встреча прошла, клиенту нужен расчёт на две площадки.")
    d.done(T("09:55"))
    ev = d.upsert(T("09:56"), S3, offer=f["offer"])
    dup_ids.append((ev, 6))
    d.task(T("09:58"), P(3, "12:00", 11))


def d1013() -> None:  # ivanova, clean: paid last week, won today
    d = day.deal("1013", "ООО «Агроторг-Юг»", IV)
    f = filled(budget())
    start(d, P(21, "11:30"), P(21, "16:00"), "Повторное обращение")
    d.step(P(21, "15:10"), S1, P(22, "16:00"), budget=f["budget"])
    d.step(P(22, "10:20"), S2, P(23, "12:00"))
    d.step(P(23, "11:30"), S3, P(26, "17:00"), offer=f["offer"])
    d.step(P(26, "16:20"), S4, P(28, "17:00"))
    d.step(P(28, "15:40"), S5, T("12:00"), paid="2026-10-28")
    d.step(T("11:20"), WON, None)


def d1014() -> None:  # petrov, clean: lost from "КП отправлено" (lost from any stage is allowed)
    d = day.deal("1014", "ООО «Лесоторговая компания»", PE)
    f = filled(budget())
    start(d, P(26, "10:10"), P(26, "15:00"), "Email-рассылка")
    d.step(P(26, "14:20"), S1, P(27, "17:00"), budget=f["budget"])
    d.step(P(27, "12:00"), S2, P(29, "12:00"))
    d.step(P(29, "11:00"), S3, T("16:00"), offer=f["offer"])
    d.note(T("15:40"), "Клиент выбрал поставщика с отсрочкой платежа 60 дней, закрываем.")
    d.done(T("15:44"))
    d.upsert(T("15:45"), LOST)


def d1015() -> None:  # ivanova: qualification -> offer (skips the meeting); follow-up overdue, moved
    d = day.deal("1015", "ООО «Сибирские окна»", IV)
    b = budget()
    start(d, T("09:12"), T("10:00"), "Яндекс Директ")
    d.step(T("09:45"), S1, T("14:30"), task_text="Подготовить КП", budget=str(b))
    t = d.step(T("14:10"), S3, T("15:00"),
               note="Клиенту встреча не нужна, попросил сразу КП с ценами на 200 шт.",
               task_text="Созвониться по КП", offer=str(b - 15000))
    d.reschedule(T("16:20"), t, P(3, "12:00", 11))        # overdue since 15:00


def d1016() -> None:  # ivanova: qualified without a budget; no task after 12:50
    d = day.deal("1016", "ООО «Полимер-Пласт»", IV)
    start(d, T("09:20"), T("11:00"), "Выставка")
    d.step(T("10:35"), S1, T("13:00"),
           note="Поговорил с закупщиком, бюджет пока не называют, ждут тендер.",
           task_text="Уточнить бюджет")
    d.note(T("12:45"), "Бюджет обещали назвать после совещания в четверг.")
    d.done(T("12:50"))


def d1017() -> None:  # ivanova, clean
    d = day.deal("1017", "ООО «Карат»", IV)
    start(d, T("09:30"), T("11:00"), "Сайт")
    d.step(T("10:50"), S1, T("15:00"), budget=str(budget()))
    d.step(T("14:40"), S2, P(5, "11:00", 11))


def d1018() -> None:  # ivanova, clean: lost from "Новая заявка" (allowed)
    d = day.deal("1018", "ИП Белов", IV)
    start(d, T("10:05"), T("11:00"), "Сайт")
    d.note(T("10:40"), "Клиент искал розницу, мы работаем только оптом — не наш клиент.")
    d.done(T("10:44"))
    d.upsert(T("10:45"), LOST)


def d1019() -> None:  # ivanova, clean: an afternoon lead
    d = day.deal("1019", "ООО «Волга-Трейд»", IV)
    start(d, T("16:30"), P(3, "11:00", 11), "Email-рассылка")
    d.note(T("17:05"), "Оставили заявку через форму, перезвоню утром, сегодня ЛПР нет на месте.")


def d1020() -> None:  # petrov: new lead -> meeting (skips qualification); confirmation overdue
    d = day.deal("1020", "ООО «ЭнергоМонтаж»", PE)
    start(d, T("09:25"), T("10:30"), "Рекомендация", budget=str(budget()))
    d.step(T("10:10"), S2, T("11:00"),
           note="Клиент от партнёров, сразу договорились о встрече в четверг в офисе.",
           task_text="Подтвердить встречу и отправить презентацию")


def d1021() -> None:  # petrov: created directly at "Счёт выставлен", and never given a task
    d = day.deal("1021", "ООО «Ромашка-Сервис»", PE)
    f = filled(budget())
    d.create(T("17:20"), S4, source="Повторное обращение", budget=f["budget"], offer=f["offer"])
    d.note(T("17:25"), "Постоянный клиент, повторная поставка по прошлому договору, счёт выставлен сразу.")


def d1022() -> None:  # petrov: left qualification without a note
    d = day.deal("1022", "ООО «Уралмет»", PE)
    start(d, T("09:05"), T("10:00"), "Звонок")
    d.step(T("09:55"), S1, T("12:00"), budget=str(budget()))
    d.step(T("11:30"), S2, P(3, "11:00", 11), note=None)


def d1023() -> None:  # petrov, clean
    d = day.deal("1023", "ООО «Техностиль»", PE)
    start(d, T("11:10"), T("12:30"), "Сайт")
    d.step(T("12:05"), S1, T("16:00"), budget=str(budget()))
    d.note(T("15:10"), "ок")
    d.note(T("15:20"), "Директор подтвердил интерес, встреча в среду в 11:00.")
    d.done(T("15:29"))
    d.upsert(T("15:30"), S2)
    d.task(T("15:32"), P(5, "11:00", 11))


def d1024() -> None:  # petrov: a duplicate of 1023 created by mistake and deleted within minutes
    d = day.deal("1024", "ООО «Техностиль»", PE)
    d.create(T("11:12"), S0, source="Сайт")
    d.delete(T("11:15"))


def d1025() -> None:  # petrov, clean: an afternoon lead
    d = day.deal("1025", "ИП Григорьев", PE)
    start(d, T("14:00"), P(3, "10:00", 11), "Звонок")
    d.note(T("14:35"), "Клиент просит перезвонить завтра утром, сейчас на объекте.")


def d1026() -> None:  # smirnova: new lead -> offer (skips two stages), offer sum left empty
    d = day.deal("1026", "ООО «Инвест-Групп»", SM)
    start(d, T("09:50"), T("11:00"), "Сайт", budget=str(budget()))
    d.step(T("10:30"), S3, P(3, "15:00", 11),
           note="Клиенту срочно нужен расчёт, попросил прислать КП сегодня.", offer="")


def d1027() -> None:  # smirnova, clean; its 11:00 move arrives after its 11:30 edit
    d = day.deal("1027", "ООО «Балтийская верфь»", SM)
    start(d, T("09:15"), T("10:00"), "Выставка")
    d.step(T("09:50"), S1, T("12:00"), budget="400000")
    d.note(T("10:40"), "Договорились о встрече сегодня в 15:00 у клиента, будет директор.")
    d.done(T("10:58"))
    older = d.upsert(T("11:00"), S2)
    d.task(T("11:02"), T("15:30"))
    newer = d.upsert(T("11:30"), budget="450000")
    late.append(older)
    late.append(newer)
    d.step(T("15:25"), S3, P(3, "11:00", 11), offer="445000")


def d1028() -> None:  # smirnova, clean
    d = day.deal("1028", "ООО «Фортуна»", SM)
    start(d, T("09:35"), T("11:00"), "Яндекс Директ")
    d.step(T("10:15"), S1, T("12:00"), budget=str(budget()))
    d.step(T("11:50"), S2, P(5, "15:00", 11))


def d1029() -> None:  # smirnova, clean
    d = day.deal("1029", "ИП Лебедева", SM)
    start(d, T("13:30"), T("15:00"), "Рекомендация")
    d.step(T("14:50"), S1, T("18:00"), budget=str(budget()))
    d.note(T("17:00"), "Созвонились ещё раз, встреча возможна только на следующей неделе.")
    d.done(T("17:05"))
    d.task(T("17:06"), P(9, "11:00", 11), "Назначить встречу")


def d1030() -> None:  # smirnova, clean: its only note is exactly 10 characters
    d = day.deal("1030", "ООО «Меридиан»", SM)
    start(d, T("10:50"), T("12:30"), "Звонок")
    d.step(T("12:15"), S1, T("17:30"), note="Дозвонился", budget=str(budget()))
    d.done(T("17:20"))
    d.task(T("17:22"), P(3, "12:00", 11), "Назначить встречу")


def d1031() -> None:  # kuznetsov: 40 min without a task; qualified before the source was filled
    d = day.deal("1031", "ООО «Кабель-Профи»", KU)
    d.create(T("09:40"), S0)
    d.task(T("10:20"), T("11:30"))
    d.step(T("11:30"), S1, P(3, "12:00", 11),
           note="Дозвонился до закупщика, интересует поставка 500 м кабеля.",
           budget=str(budget()))
    d.upsert(T("12:10"), source="Звонок")


def d1032() -> None:  # kuznetsov, clean (its first task is delivered twice)
    d = day.deal("1032", "ООО «Стройресурс»", KU)
    d.create(T("10:10"), S0, source="Выставка")
    d.task(T("10:12"), T("11:30"))
    dup_ids.append((day.events[-1], 4))
    d.step(T("11:10"), S1, T("14:00"), budget=str(budget()))
    d.step(T("13:40"), S2, P(3, "14:00", 11))


def d1033() -> None:  # kuznetsov, clean: a task replaced by another (task.deleted)
    d = day.deal("1033", "ООО «Гермес»", KU)
    t1 = start(d, T("13:00"), T("14:00"), "Сайт")
    d.task(T("13:38"), T("17:00"), "Отправить презентацию")
    d.delete_task(T("13:40"), t1)
    d.note(T("16:40"), "Презентацию отправил, клиент изучит до среды.")
    d.done(T("16:50"))
    d.task(T("16:52"), P(5, "11:00", 11), "Позвонить клиенту")


def d1034() -> None:  # kuznetsov, clean: an afternoon lead
    d = day.deal("1034", "ИП Степанов", KU)
    start(d, T("15:10"), P(3, "10:30", 11), "Яндекс Директ")
    d.note(T("15:40"), "Клиент сравнивает три предложения, перезвонить завтра после обеда.")


def d1035() -> None:  # kuznetsov, clean: the offer accepted, invoiced today
    d = day.deal("1035", "ООО «Восток-Авто»", KU)
    f = filled(budget())
    start(d, P(22, "11:00"), P(22, "16:00"), "Рекомендация")
    d.step(P(22, "15:30"), S1, P(26, "12:00"), budget=f["budget"])
    d.step(P(23, "16:10"), S2, P(28, "12:00"))
    d.step(P(28, "10:40"), S3, T("12:30"), offer=f["offer"])
    d.step(T("12:00"), S4, P(5, "12:00", 11))


def d1036() -> None:  # smirnova, clean: Friday's lead qualified today
    d = day.deal("1036", "ООО «Ника»", SM)
    start(d, P(30, "16:20"), T("11:00"), "Сайт")
    d.step(T("10:25"), S1, P(3, "16:00", 11), budget=str(budget()))


for fn in sorted((v for k, v in dict(globals()).items() if k.startswith("d10")),
                 key=lambda f: f.__name__):
    fn()


# ---------------------------------------------------------------------------------------------
# Delivery order and event ids.

def delivery_order() -> list[dict]:
    ordered = sorted(day.events, key=lambda e: (e["at"], e["seq"]))
    renumber: dict[tuple[str, str], str] = {}  # task and note ids in the order the CRM made them
    for ev in ordered:
        for key, prefix in (("task", "t"), ("note", "n")):
            if key in ev:
                old = (prefix, ev[key]["id"])
                if old not in renumber:
                    n = sum(1 for k in renumber if k[0] == prefix) + 1
                    renumber[old] = f"{prefix}{n:03d}"
                ev[key]["id"] = renumber[old]
    older, newer = late
    ordered.remove(older)  # the 11:00 move of 1027 arrives right after its 11:30 edit
    ordered.insert(ordered.index(newer) + 1, older)
    for n, ev in enumerate(ordered, 1):
        ev["id"] = f"e{n:04d}"
    out = list(ordered)
    for ev, later in dup_ids:  # the sender retries: the same event again, a little later
        pos = out.index(ev) + later
        out.insert(pos + 1, ev)
    return out


def render(ev: dict) -> dict:
    out = {"id": ev["id"], "type": ev["type"], "at": iso(ev["at"])}
    for key in ("deal", "task", "note"):
        if key in ev:
            out[key] = ev[key]
    return out


# ---------------------------------------------------------------------------------------------
# Reference evaluation of the rules (DESIGN.md section 1, demo.toml), from the delivered events.

def is_open(stage: str | None) -> bool:
    return stage in ORDER[:-1]


def idx(stage: str | None) -> int | None:
    return ORDER.index(stage) if stage in ORDER else None


def evaluate(delivered: list[dict]) -> list[dict]:
    seen: set[str] = set()
    events = []
    for ev in delivered:
        if ev["id"] in seen:
            continue
        seen.add(ev["id"])
        events.append(ev)
    events.sort(key=lambda e: (e["at"], e["id"]))  # CRM time; the mirror keeps event time

    task_deal: dict[str, str] = {}
    per_deal: dict[str, list[dict]] = {}
    for ev in events:
        if "deal" in ev:
            did = ev["deal"]["id"]
        elif ev["type"] == "task.upserted":
            did = ev["task"]["deal"]
            task_deal[ev["task"]["id"]] = did
        elif ev["type"] == "task.deleted":
            did = task_deal[ev["task"]["id"]]
        else:
            did = ev["note"]["deal"]
        per_deal.setdefault(did, []).append(ev)

    found: list[dict] = []
    for did, evs in sorted(per_deal.items()):
        found += evaluate_deal(did, evs)
    found.sort(key=lambda v: (v["opened_at"], v["deal"], v["rule"]))
    return found


def evaluate_deal(did: str, evs: list[dict]) -> list[dict]:
    card: dict | None = None
    stage_in: datetime | None = None   # when the current stage was entered
    anchor: datetime | None = None     # deal_without_task: since when no task is required to exist
    tasks: dict[str, dict] = {}        # open tasks: id -> {"due", "reschedules"}
    notes: list[tuple[datetime, str]] = []
    deleted = False
    result: list[dict] = []
    active: dict[tuple, dict] = {}

    def open_v(key: tuple, at: datetime, details: dict) -> None:
        if key not in active:
            v = {"deal": did, "rule": key[0], "responsible": card["responsible"],
                 "opened_at": at, "resolved_at": None, "resolution": None, "details": details}
            active[key] = v
            result.append(v)

    def close_v(key: tuple, at: datetime, why: str) -> None:
        v = active.pop(key, None)
        if v is not None:
            v["resolved_at"], v["resolution"] = at, why

    def conditions(now: datetime, until: datetime) -> dict[tuple, tuple[datetime, dict]]:
        """Continuous conditions holding at some point of [now, until): key -> (onset, details)."""
        held: dict[tuple, tuple[datetime, dict]] = {}
        if card is None or deleted or not is_open(card["stage"]):
            return held
        stage, fields = card["stage"], card["fields"]
        if not tasks:
            onset = max(now, anchor + RULES["grace_without_task"])
            if onset < until:
                held[("deal_without_task",)] = (onset, {"since": iso(anchor)})
        for tid, t in tasks.items():
            onset = max(now, t["due"] + RULES["overdue_grace"])
            if onset < until:
                held[("overdue_task", tid)] = (onset, {"task": tid, "due": iso(t["due"])})
        for field, least in RULES["consistency"]:
            if fields.get(field) and idx(stage) < idx(least):
                held[("actual_stage", "consistency")] = (now, {"field": field, "stage_at_least": least})
        age = RULES["max_age"].get(stage, RULES["max_age"]["default"])
        onset = max(now, stage_in + age)
        if onset < until:
            held[("actual_stage", "stale")] = (onset, {"stage": stage, "since": iso(stage_in)})
        return held

    def required_missing() -> list[str]:
        if card is None or deleted or idx(card["stage"]) is None:
            return []
        missing = []
        for st, fs in RULES["required"].items():
            if idx(st) <= idx(card["stage"]):
                missing += [f for f in fs if not card["fields"].get(f)]
        return missing

    times = [e["at"] for e in evs] + [DAY_END]
    for i, ev in enumerate(evs):
        at, nxt = ev["at"], times[i + 1]
        if ev["type"] == "deal.upserted":
            new = ev["deal"]
            prev_stage = card["stage"] if card else None
            if card is None:
                anchor = at
            card = new
            if new["stage"] != prev_stage:
                a, b = idx(prev_stage), idx(new["stage"])
                if b is not None and new["stage"] != LOST:
                    if (a if a is not None else -1) + 1 < b:
                        skipped = ORDER[(a if a is not None else -1) + 1:b]
                        open_v(("stage_order", at), at,
                               {"from": prev_stage, "to": new["stage"], "skipped": skipped})
                if a is not None and b is not None and b > a:
                    long_notes = [n for (t, n) in notes if stage_in <= t < at
                                  and len(n) >= RULES["min_note_chars"]]
                    if not long_notes:
                        open_v(("card_filled", "note", prev_stage), at, {"stage": prev_stage})
                if prev_stage is not None and not is_open(prev_stage) and is_open(new["stage"]):
                    anchor = at
                stage_in = at
        elif ev["type"] == "deal.deleted":
            deleted = True
        elif ev["type"] == "task.upserted":
            t = ev["task"]
            due = datetime.fromisoformat(t["due"])
            if t["done"]:
                if tasks.pop(t["id"], None) is not None and not tasks:
                    anchor = at
            else:
                old = tasks.get(t["id"], {"due": due, "reschedules": 0})
                tasks[t["id"]] = {"due": due,
                                  "reschedules": old["reschedules"] + (due > old["due"])}
        elif ev["type"] == "task.deleted":
            if tasks.pop(ev["task"]["id"], None) is not None and not tasks:
                anchor = at
        elif ev["type"] == "note.added":
            notes.append((at, ev["note"]["text"]))

        # card_filled (a): required fields
        missing = required_missing()
        key = ("card_filled", "fields")
        if missing:
            open_v(key, at, {"missing": missing})
        else:
            close_v(key, at, "cleared")

        closed = card is not None and (deleted or not is_open(card["stage"]))
        held = conditions(at, nxt)
        for key in [k for k in active if k[0] in ("deal_without_task", "overdue_task", "actual_stage")]:
            if key not in held or held[key][0] > at:
                close_v(key, at, "deal_deleted" if deleted else "deal_closed" if closed else "cleared")
        for key, (onset, details) in held.items():
            open_v(key, onset, details)
    return result


PLANNED = {  # rule -> deals (the dataset must produce exactly these)
    "stage_order": ["1003", "1011", "1015", "1020", "1021", "1026"],
    "deal_without_task": ["1010", "1016", "1021", "1031"],
    "overdue_task": ["1008", "1009", "1011", "1015", "1020"],
    "card_filled": ["1008", "1010", "1016", "1022", "1026", "1031"],
    "actual_stage": ["1003", "1006", "1009"],
}


def check_rules_match_config() -> None:
    """RULES must say what demo.toml says (checked where tomllib exists, Python 3.11+)."""
    try:
        import tomllib
    except ImportError:
        return
    import os
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.toml"), "rb") as f:
        tenant = tomllib.load(f)["tenant"][0]
    rules = tenant["rules"]

    def dur(text: str) -> timedelta:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[text[-1]]
        return timedelta(**{unit: int(text[:-1])})

    pipe = tenant["pipeline"][0]
    ok = (pipe["stages"] == ORDER and pipe["won"] == [WON] and pipe["lost"] == [LOST]
          and dur(rules["deal_without_task"]["grace"]) == RULES["grace_without_task"]
          and dur(rules["overdue_task"]["grace"]) == RULES["overdue_grace"]
          and {k: dur(v) for k, v in rules["actual_stage"]["max_age"].items()} == RULES["max_age"]
          and [(c["when_filled"], c["stage_at_least"]) for c in rules["actual_stage"]["consistency"]]
          == RULES["consistency"]
          and rules["card_filled"]["required"] == RULES["required"]
          and rules["card_filled"]["note_per_stage"] is True
          and rules["card_filled"].get("min_note_chars", 10) == RULES["min_note_chars"])
    if not ok:
        sys.exit("generate_day.py: RULES differ from demo.toml")


def main() -> None:
    check_rules_match_config()
    delivered = delivery_order()
    found = evaluate(delivered)
    got: dict[str, list[str]] = {}
    for v in found:
        got.setdefault(v["rule"], []).append(v["deal"])
    got = {k: sorted(v) for k, v in got.items()}
    if got != PLANNED and "--force" not in sys.argv[1:]:
        sys.exit(f"generate_day.py: the day does not produce the planned violations:\n{got}")

    if "--expect" in sys.argv[1:]:
        out = []
        for v in found:
            out.append({**v, "opened_at": iso(v["opened_at"]),
                        "resolved_at": iso(v["resolved_at"]) if v["resolved_at"] else None})
        print(json.dumps({"violations": out}, ensure_ascii=False, indent=1))
        return

    lines = [json.dumps(render(ev), ensure_ascii=False) for ev in delivered]
    sys.stdout.write("{\"tenant\": \"demo\",\n \"start\": \"%s\",\n \"end\": \"%s\",\n \"events\": [\n"
                     % (iso(DAY_START), iso(DAY_END)))
    sys.stdout.write(",\n".join("  " + line for line in lines))
    sys.stdout.write("\n]}\n")


if __name__ == "__main__":
    main()
