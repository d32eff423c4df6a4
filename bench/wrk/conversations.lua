-- wrk script: walks real conversations of the demo flow over a pool of contacts.
--
-- Every request is the next message of one contact, decided from that contact's previous reply:
-- menu -> book -> service -> day -> slot -> confirm, then "my appointments", then cancel -> pick
-- -> yes, again and again. Choices are button/list payloads or numbered answers ("2"), half and
-- half, so the data plane matches payloads, prefixes and numbered options and calls the calendar.
--
-- wrk does not say which connection a response belongs to, so each request carries a
-- message_id "<run>-<contact>-<seq>" and the reply (which echoes message_id) is routed back to
-- its contact. A reply we do not recognise sends that contact "menu" (a global transition).
--
-- Arguments (after `--`): run tag (unique per wrk run: message ids are deduplicated),
-- number of contacts (default 500), random seed (default 1), wrk's thread count (default 1).
-- done() prints one line "WRK_JSON {...}" with throughput, latency percentiles and errors.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

-- per-thread state ------------------------------------------------------------------------

local run_tag = "run"
local contacts = {}
local ready = {}
local head, tail = 1, 0
local seq = 0
local first, last = 1, 1
local headers = { ["Content-Type"] = "application/json" }

-- counters read by done() through thread:get
replies = 0
unmatched = 0
unrouted = 0
non2xx = 0
booked = 0
cancelled = 0
error_texts = 0

local function push_ready(c)
  tail = tail + 1
  ready[tail] = c
end

local function pop_ready()
  if head > tail then
    return nil
  end
  local c = ready[head]
  ready[head] = nil
  head = head + 1
  return c
end

function init(args)
  run_tag = args[1] or "run"
  local total = tonumber(args[2] or "500")
  local seed = tonumber(args[3] or "1")
  local nthreads = tonumber(args[4] or "1")
  -- each thread walks its own slice of the contacts (wrk threads share no Lua state)
  local index = thread_index or 0
  local per = math.floor(total / nthreads)
  first = index * per + 1
  last = (index == nthreads - 1) and total or (index + 1) * per
  math.randomseed(seed + index * 7919)
  for c = first, last do
    contacts[c] = { next = { kind = "text", text = "hi" }, intent = math.random(0, 2) }
    push_ready(c)
  end
end

-- message bodies --------------------------------------------------------------------------

local function text(t)
  return { kind = "text", text = t }
end

local function choice(kind, payload, number)
  -- half the time the button/list payload, half the time the option's number as text
  if number ~= nil and math.random() < 0.5 then
    return text(tostring(number))
  end
  return { kind = kind, payload = payload }
end

local function body_for(c, msg, mid)
  local contact = string.format("bench-%d", c)
  if msg.kind == "text" then
    return string.format('{"contact_id":"%s","text":"%s","message_id":"%s"}',
      contact, msg.text, mid)
  end
  return string.format('{"contact_id":"%s","type":"%s","payload":"%s","message_id":"%s"}',
    contact, msg.kind, msg.payload, mid)
end

function request()
  local c = pop_ready()
  local msg
  if c == nil then
    -- every contact is waiting for its reply: talk to a random one (its order is kept server side)
    c = math.random(first, last)
    msg = text("menu")
  else
    msg = contacts[c].next
  end
  seq = seq + 1
  local mid = string.format("%s-%d-%d", run_tag, c, seq)
  return wrk.format("POST", "/inbound", headers, body_for(c, msg, mid))
end

-- reading replies -------------------------------------------------------------------------

local function ids_with_prefix(body, prefix)
  local found = {}
  for id in string.gmatch(body, '"id":"(' .. prefix .. '[^"]*)"') do
    table.insert(found, id)
  end
  return found
end

local function pick(body, prefix, kind)
  local ids = ids_with_prefix(body, prefix)
  if #ids == 0 then
    return nil
  end
  local i = math.random(1, #ids)
  return choice(kind, ids[i], i)
end

local MENU = { "menu_book", "menu_view", "menu_cancel" }

local function has(body, needle)
  return string.find(body, needle, 1, true) ~= nil
end

local function decide(contact, body)
  if has(body, '"confirm_yes"') then
    return choice("button_reply", "confirm_yes", 1)
  elseif has(body, '"cancel_yes"') then
    return choice("button_reply", "cancel_yes", 1)
  elseif has(body, '"cancel_appt_') then
    return pick(body, "cancel_appt_", "button_reply")
  elseif has(body, '"hour_') then
    return pick(body, "hour_", "list_reply")
  elseif has(body, '"day_') then
    return pick(body, "day_", "list_reply")
  elseif has(body, '"service_') then
    return pick(body, "service_", "list_reply")
  elseif has(body, '"menu_book"') then
    local i = contact.intent % 3 + 1
    contact.intent = contact.intent + 1
    return choice("button_reply", MENU[i], i)
  end
  return nil
end

function response(status, headers, body)
  replies = replies + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  local mid = string.match(body, '"message_id":"([^"]+)"')
  local c = mid and tonumber(string.match(mid, "%-(%d+)%-%d+$"))
  if c == nil or contacts[c] == nil then
    unrouted = unrouted + 1
    return
  end
  if has(body, "Booked:") then booked = booked + 1 end
  if has(body, "appointment is cancelled") then cancelled = cancelled + 1 end
  if has(body, "something went wrong") then error_texts = error_texts + 1 end
  local contact = contacts[c]
  local nxt = decide(contact, body)
  if nxt == nil then
    unmatched = unmatched + 1
    nxt = text("menu")
  end
  contact.next = nxt
  push_ready(c)
end

-- summary ---------------------------------------------------------------------------------

function done(summary, latency, requests)
  local totals = { replies = 0, unmatched = 0, unrouted = 0, non2xx = 0, booked = 0,
                   cancelled = 0, error_texts = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(totals) do
      totals[k] = totals[k] + (tonumber(t:get(k)) or 0)
    end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local parts = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_s":%.3f', seconds),
    string.format('"rps":%.1f', summary.requests / seconds),
    string.format('"bytes":%d', summary.bytes),
    string.format('"errors_connect":%d', e.connect),
    string.format('"errors_read":%d', e.read),
    string.format('"errors_write":%d', e.write),
    string.format('"errors_status":%d', e.status),
    string.format('"errors_timeout":%d', e.timeout),
    string.format('"latency_mean_ms":%.3f', latency.mean / 1000),
    string.format('"latency_max_ms":%.3f', latency.max / 1000),
  }
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    local key = string.gsub(tostring(p), "%.", "_")
    table.insert(parts, string.format('"p%s_ms":%.3f', key, latency:percentile(p) / 1000))
  end
  for k, v in pairs(totals) do
    table.insert(parts, string.format('"%s":%d', k, v))
  end
  io.write("WRK_JSON {" .. table.concat(parts, ",") .. "}\n")
end
