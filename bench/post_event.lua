-- wrk script for bench/intake.sh: POSTs generic events (DESIGN.md §3) of about 1 KB, each body
-- new: its event ids carry a run nonce, the wrk thread id and a per-thread counter, so the inbox
-- (which dedupes on the SHA-256 of the body) stores every request as a new row.
--
--   wrk -t2 -c32 -d10s -s bench/post_event.lua http://127.0.0.1:PORT/hooks/generic/bench -- SECRET
--
-- done() prints one line that intake.sh parses:
--   RESULT requests=.. duration_s=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. non2xx=..
--          socket_errors=.. statuses=200:N,...

local threads = {}
local next_tid = 1

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

local stages = {"Новая", "Квалификация", "КП отправлено", "Счёт выставлен", "Оплачено"}
local managers = {"ivanov", "petrova", "sidorov", "kuznetsova", "smirnov", "popova"}
local companies = {"ООО «Ромашка»", "АО «Северсталь-Сервис»", "ИП Кузнецов А. В.",
                   "ООО «ТехноПром»", "ЗАО «Волга-Логистик»", "ООО «Уральские окна»"}
local base = 1793606400  -- 2026-11-02T09:00:00+03:00
local secret, nonce, counter, path

local function moscow(epoch)
   return os.date("!%Y-%m-%dT%H:%M:%S", epoch + 3 * 3600) .. "+03:00"
end

function init(args)
   secret = args[1] or "bench-secret"
   nonce = tostring(os.time())
   counter = 0
   non2xx = 0
   statuses = {}
   math.randomseed(os.time() * 100 + tid)
   path = wrk.path
end

function request()
   counter = counter + 1
   local id = string.format("bench-%s-%d-%d", nonce, tid, counter)
   local deal = tostring(math.random(1, 10000))
   local manager = managers[math.random(#managers)]
   local at = base + counter * 2 + tid
   local body = string.format(
      '{"events":[' ..
      '{"id":"%s-d","type":"deal.upserted","at":"%s","deal":{"id":"%s",' ..
      '"title":"%s — поставка оборудования, сделка %s","pipeline":"main","stage":"%s",' ..
      '"responsible":"%s","fields":{"Бюджет":"%d","Источник":"Сайт","Город":"Москва",' ..
      '"Телефон":"+7 495 123-45-67","Адрес доставки":"г. Москва, ул. Тверская, д. 7",' ..
      '"Комментарий":"Клиент просил перезвонить после обеда, ' ..
      'интересуется оптовыми условиями и сроками поставки"}}},' ..
      '{"id":"%s-t","type":"task.upserted","at":"%s","task":{"id":"t%s","deal":"%s",' ..
      '"due":"%s","done":%s,"responsible":"%s","text":"Позвонить клиенту и согласовать КП"}}' ..
      ']}',
      id, moscow(at), deal, companies[math.random(#companies)], deal,
      stages[math.random(#stages)], manager, math.random(10, 5000) * 1000,
      id, moscow(at), deal, deal, moscow(at + 86400), tostring(math.random(4) == 1), manager)
   return wrk.format("POST", path, {
      ["Authorization"] = "Bearer " .. secret,
      ["Content-Type"] = "application/json",
   }, body)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local non = 0
   local by_status = {}
   for _, thread in ipairs(threads) do
      non = non + thread:get("non2xx")
      for status, count in pairs(thread:get("statuses")) do
         by_status[status] = (by_status[status] or 0) + count
      end
   end
   local codes = {}
   for status, count in pairs(by_status) do
      table.insert(codes, string.format("%d:%d", status, count))
   end
   table.sort(codes)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d duration_s=%.2f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f " ..
      "max_ms=%.2f non2xx=%d socket_errors=connect:%d,read:%d,write:%d,timeout:%d statuses=%s\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, non,
      e.connect, e.read, e.write, e.timeout, table.concat(codes, ",")))
end
