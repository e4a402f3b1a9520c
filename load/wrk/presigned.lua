-- wrk sends requests signed beforehand by `holdfast-load --write FILE`, and
-- prints one JSON line at the end, the shape load/run.sh records.
--
--   WRK_REQUESTS=FILE WRK_THREADS=2 WRK_MODE=once \
--       wrk -t 2 -c 64 -d 20s --latency -s load/wrk/presigned.lua http://127.0.0.1:18190
--
-- FILE holds one request a line: method, path, each header as `name: value`,
-- then the body (empty for a GET), separated by tabs. wrk's thread k of n
-- sends lines k+1, k+1+n, k+1+2n, … in file order. Settings, read from the
-- environment since wrk's `setup` and `done` never see the script's
-- arguments:
--
--   WRK_REQUESTS  the file (required)
--   WRK_THREADS   wrk's -t, which the script cannot ask wrk for (default 1)
--   WRK_MODE      `once`: every line is sent once; a thread that runs out
--                 stops and the run is reported as exhausted, never counted
--                 as throughput. `cycle`: the lines repeat (the holds check
--                 over a fixed set of accounts). Default `once`.
--   WRK_ANSWERS   `1`: read each answer and count it by status and, for
--                 intake, by the incident's priority (`P1` … `P4`, and
--                 `duplicate` for a `200`). Costs the generator a little, so
--                 it is off where answers are counted by wrk alone (the
--                 holds check: wrk counts every status from 400 up).
--   WRK_TARGETS   `host:port,host:port,…`: threads take the instances in
--                 turn (thread k connects to target k mod n); default the
--                 URL's.
--
-- The lines are turned into requests before any thread sends: wrk starts
-- each thread as soon as that thread's `init` has run, and starts its clock
-- only after the last, so a thread that began early would be counted for
-- time the clock never saw. Each thread's first `request` therefore waits
-- for a mark the last thread's `init` leaves beside the file.

local ffi = require("ffi")
ffi.cdef [[int usleep(unsigned int usec);]]

local file = os.getenv("WRK_REQUESTS")
local thread_count = tonumber(os.getenv("WRK_THREADS") or "1")
local mode = os.getenv("WRK_MODE") or "once"
local counting_answers = os.getenv("WRK_ANSWERS") == "1"
local ready_mark = file and (file .. ".ready")

-- The main state: which thread is which, and their tallies at the end.

local threads = {}

function setup(thread)
   local id = #threads
   thread:set("id", id)
   local targets = os.getenv("WRK_TARGETS")
   if targets and targets ~= "" then
      local list = {}
      for target in string.gmatch(targets, "[^,]+") do
         local host, port = string.match(target, "^(.+):(%d+)$")
         list[#list + 1] = wrk.lookup(host, port)[1]
      end
      thread.addr = list[id % #list + 1]
   end
   threads[#threads + 1] = thread
end

-- Each thread's state: its share of the requests, and its tallies (globals,
-- which is what `thread:get` reads).

local requests = {}
local next_request = 1
local released = false
local verified = false
sent = 0
exhausted = false
answers = {}
statuses = {}

local find, sub = string.find, string.sub

-- The requests of the lines `first`, `first + every`, … of `data`, as the
-- bytes wrk sends. Plain `find` and `sub` only: LuaJIT compiles them, and
-- reads a million lines in well under a second that way, where patterns
-- take seconds. Consecutive lines often share their headers (a holds
-- check's signature covers only the timestamp and the empty body), so the
-- last header block is reused when it repeats.
local function parse(data, first, every)
   local host = wrk.headers["Host"]
   local requests, count = {}, 0
   local last_headers, block
   local line, start = 0, 1
   while start <= #data do
      local stop = find(data, "\n", start, true) or (#data + 1)
      if line % every == first and stop > start then
         local after_method = find(data, "\t", start, true)
         local after_path = after_method and find(data, "\t", after_method + 1, true)
         if not after_path or after_path > stop then
            error(file .. ": line " .. (line + 1) .. " is not method, path, headers and body")
         end
         local before_body = after_path
         while true do
            local tab = find(data, "\t", before_body + 1, true)
            if not tab or tab > stop then
               break
            end
            before_body = tab
         end
         local headers = sub(data, after_path + 1, before_body - 1)
         if headers ~= last_headers then
            last_headers = headers
            block = headers == "" and "" or (string.gsub(headers, "\t", "\r\n") .. "\r\n")
         end
         local head = sub(data, start, after_method - 1) .. " " .. sub(data, after_method + 1, after_path - 1)
            .. " HTTP/1.1\r\nHost: " .. host .. "\r\n" .. block
         local body = sub(data, before_body + 1, stop - 1)
         count = count + 1
         if body == "" then
            requests[count] = head .. "\r\n"
         else
            requests[count] = head .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
         end
      end
      line, start = line + 1, stop + 1
   end
   return requests
end

function init(args)
   if not file then
      error("WRK_REQUESTS names no file of requests")
   end
   if id == 0 then
      os.remove(ready_mark)
   end
   local input = assert(io.open(file, "r"))
   requests = parse(input:read("*a"), id, thread_count)
   input:close()
   collectgarbage()
   if #requests == 0 then
      error(file .. ": no requests for thread " .. id)
   end
   if id == thread_count - 1 then
      assert(io.open(ready_mark, "w")):close()
   end
end

local function wait_for_the_last_thread()
   for _ = 1, 120000 do
      local mark = io.open(ready_mark, "r")
      if mark then
         mark:close()
         return
      end
      ffi.C.usleep(1000)
   end
   error("the last thread never finished loading its requests")
end

function request()
   -- wrk asks thread 0 for one request before any thread starts, only to
   -- check that it parses: it is never sent, and waiting there would wait
   -- for an `init` that cannot run until it returns.
   if id == 0 and not verified then
      verified = true
      return requests[1]
   end
   if not released then
      wait_for_the_last_thread()
      released = true
   end
   local chosen = requests[next_request]
   if chosen == nil then
      if mode == "cycle" then
         next_request, chosen = 1, requests[1]
      else
         if not exhausted then
            -- A mark beside the file, for a caller that sends a fixed
            -- number of requests and then stops wrk (load/instructions.sh).
            local mark = io.open(file .. ".done", "w")
            if mark then
               mark:close()
            end
         end
         exhausted = true
         wrk.thread:stop()
         return requests[#requests]
      end
   end
   next_request = next_request + 1
   sent = sent + 1
   return chosen
end

if counting_answers then
   function response(status, headers, body)
      statuses[status] = (statuses[status] or 0) + 1
      local answer
      if status == 200 then
         answer = "duplicate"
      elseif status == 201 then
         answer = string.match(body, '"priority":"(P%d)"') or "unknown"
      end
      if answer then
         answers[answer] = (answers[answer] or 0) + 1
      end
   end
end

-- The main state again, once the run is over: one JSON line.

local function json_object(entries)
   local keys = {}
   for key in pairs(entries) do
      keys[#keys + 1] = tostring(key)
   end
   table.sort(keys)
   local parts = {}
   for _, key in ipairs(keys) do
      local value = entries[key] or entries[tonumber(key)]
      parts[#parts + 1] = string.format('"%s": %s', key, tostring(value))
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

local function milliseconds(microseconds)
   return string.format("%.2f", microseconds / 1000)
end

function done(summary, latency, _)
   os.remove(ready_mark)
   local seconds = summary.duration / 1e6
   local errors = summary.errors
   local all_statuses, all_answers = {}, {}
   local sent_total, exhausted_threads = 0, 0
   for _, thread in ipairs(threads) do
      sent_total = sent_total + (thread:get("sent") or 0)
      if thread:get("exhausted") then
         exhausted_threads = exhausted_threads + 1
      end
      for status, count in pairs(thread:get("statuses") or {}) do
         all_statuses[status] = (all_statuses[status] or 0) + count
      end
      for answer, count in pairs(thread:get("answers") or {}) do
         all_answers[answer] = (all_answers[answer] or 0) + count
      end
   end
   -- wrk counts answers from 400 up; when the answers are read, anything
   -- outside 2xx counts.
   local not_2xx = errors.status
   if counting_answers then
      not_2xx = 0
      for status, count in pairs(all_statuses) do
         if status < 200 or status > 299 then
            not_2xx = not_2xx + count
         end
      end
   end
   local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
   local problems = {}
   if not_2xx > 0 then
      problems[#problems + 1] = string.format('"%d answers not 2xx"', not_2xx)
   end
   if socket_errors > 0 then
      problems[#problems + 1] = string.format('"%d socket errors"', socket_errors)
   end
   if exhausted_threads > 0 then
      problems[#problems + 1] = string.format(
         '"%d of %d threads ran out of requests after sending %d: write more"',
         exhausted_threads, #threads, sent_total)
   end
   local ok = summary.requests - not_2xx
   local fields = {
      string.format('"generator": "wrk", "threads": %d', #threads),
      string.format('"seconds": %.1f, "requests": %d, "ok": %d', seconds, summary.requests, ok),
      string.format('"per_second": %d', math.floor(ok / seconds + 0.5)),
      string.format('"latency_ms": {"p50": %s, "p90": %s, "p99": %s, "max": %s}',
         milliseconds(latency:percentile(50)), milliseconds(latency:percentile(90)),
         milliseconds(latency:percentile(99)), milliseconds(latency.max)),
      string.format('"not_2xx": %d', not_2xx),
      string.format('"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}',
         errors.connect, errors.read, errors.write, errors.timeout),
   }
   if counting_answers then
      fields[#fields + 1] = '"statuses": ' .. json_object(all_statuses)
      fields[#fields + 1] = '"answers": ' .. json_object(all_answers)
   end
   fields[#fields + 1] = '"problems": [' .. table.concat(problems, ", ") .. "]"
   io.write("{" .. table.concat(fields, ", ") .. "}\n")
end
